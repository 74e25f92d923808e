"""Render the benchmark results as the Markdown page docs/benchmarks.md."""

from __future__ import annotations

RPC_GOAL = 0.80
GATEWAY_GOAL = 0.25
DATABASE_GOAL = 8.0
# Connections opened per second under load that still count as "about zero".
CONNECTION_CHURN_LIMIT = 0.1
# Must match rpc_bench.DATABASE_WAIT_MS, which report.py does not import to stay free of nameko.
DATABASE_WAIT_MS = 10


def render(results: dict) -> str:
    machine = results["machine"]
    benchmarks = results["benchmarks"]
    rounds = results["rounds"]
    state = "" if results.get("finished") else " (partial: the run has not finished)"
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m samen_devtools.bench`); do not edit by hand. Every figure",
        "is a ratio against a baseline measured in the same run, on the same machine, with the same",
        "client. Rates are medians of the timed rounds; the spread is half the range of the rounds",
        "relative to the median.",
        "",
        f"- run: {results['mode']} mode, started {results['started_at']}, took {results.get('seconds', 0)} s"
        f"{state}; {rounds['warmup']} warm-up and {rounds['repeats']} timed rounds of {rounds['seconds']} s each",
        f"- machine: {machine['cpu_model']}, {machine['cores']} cores, {machine['memory_gib']} GiB memory, "
        f"{machine['os']}, Python {machine['python']}",
        "- versions: " + ", ".join(f"{name} {value}" for name, value in machine["versions"].items() if value),
        "- RabbitMQ, PostgreSQL, the services and the load generators share this machine.",
        "",
        "## Summary",
        "",
        "| benchmark | subject | baseline | ratio | goal | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += _summary_rows(benchmarks)
    lines += _guarded(benchmarks, ("rpc_stock", "rpc_samen"), "RPC layer", _rpc_section)
    lines += _guarded(benchmarks, ("gateway",), "Gateway", lambda b: _gateway_section(b["gateway"]))
    lines += _guarded(benchmarks, ("database",), "Database under green threads",
                      lambda b: _database_section(b["database"]))
    lines += _guarded(benchmarks, ("scale_out",), "Scale-out", lambda b: _scale_out_section(b["scale_out"]))
    lines += _external_section(benchmarks)
    return "\n".join(lines) + "\n"


def _missing(benchmarks: dict, keys) -> list[str]:
    """Return a line per benchmark of `keys` that has no result: not run yet, or failed and why."""
    lines = []
    for key in keys:
        entry = benchmarks.get(key)
        if entry is None:
            lines.append(f"`{key}`: not run yet.")
        elif entry.get("status") == "failed":
            lines += [f"`{key}` failed:", "", "```", entry["reason"].strip(), "```"]
    return lines


def _guarded(benchmarks: dict, keys, title: str, section) -> list[str]:
    problems = _missing(benchmarks, keys)
    if problems:
        return ["", f"## {title}", "", *problems]
    return section(benchmarks)


def _rate(sample: dict) -> str:
    return f"{sample['median']:,.0f}/s ±{sample['spread'] * 100:.0f}%"


def _met(value, goal) -> str:
    if value is None:
        return "not measured"
    return "yes" if value >= goal else "**no**"


def _not_measured_row(title: str, entry: dict | None) -> str:
    status = "not run yet" if entry is None else entry.get("status", "failed")
    return f"| {title} | {status} | | | | |"


def _measured(entry: dict | None) -> bool:
    return entry is not None and entry.get("status") != "failed"


def _summary_rows(benchmarks: dict) -> list[str]:
    rows = []
    for key, title in (("rpc_stock", "RPC, nameko out of the box"), ("rpc_samen", "RPC, Samen tuned")):
        result = benchmarks.get(key)
        if not _measured(result):
            rows.append(_not_measured_row(title, result))
            continue
        for mode, callers in (("sequential", "1 caller"), ("concurrent", "20 callers")):
            comparison = result[mode]
            goal = f"≥ {RPC_GOAL:.0%}" if mode == "concurrent" else "none"
            met = _met(comparison["ratio"], RPC_GOAL) if mode == "concurrent" else "n/a"
            rows.append(f"| {title}, {callers} | {_rate(comparison['subject'])} | raw kombu "
                        f"{_rate(comparison['baseline'])} | {comparison['ratio']:.0%} | {goal} | {met} |")
    rows += _gateway_rows(benchmarks.get("gateway"))
    rows += _database_rows(benchmarks.get("database"))
    rows += _scale_out_rows(benchmarks.get("scale_out"))
    rows += _external_rows(benchmarks)
    return rows


def _gateway_rows(gateway: dict | None) -> list[str]:
    if not _measured(gateway):
        return [_not_measured_row("`GET /api/v1/me` via gateway", gateway)]
    rows = []
    rows.append(f"| `GET /api/v1/me` via gateway | {_rate(gateway['subject'])} | bare Flask "
                f"{_rate(gateway['baseline'])} | {gateway['ratio']:.0%} | ≥ {GATEWAY_GOAL:.0%} | "
                f"{_met(gateway['ratio'], GATEWAY_GOAL)} |")
    churn = gateway["broker_connections"]["opened_per_second"]
    rows.append(f"| broker connections opened under load | {churn}/s | | | about 0 | "
                f"{'yes' if churn <= CONNECTION_CHURN_LIMIT else '**no**'} |")
    return rows


def _database_rows(database: dict | None) -> list[str]:
    title = f"RPC waiting {DATABASE_WAIT_MS} ms in PostgreSQL, 10 callers"
    if not _measured(database):
        return [_not_measured_row(title, database)]
    return [f"| {title} | {_rate(database['subject'])} | "
            f"1 caller {_rate(database['baseline'])} | {database['ratio']:.1f}× | ≥ {DATABASE_GOAL:.0f}× | "
            f"{_met(database['ratio'], DATABASE_GOAL)} |"]


def _scale_out_rows(scale: dict | None) -> list[str]:
    title = "RPC, 2 service processes, 20 callers"
    if not _measured(scale):
        return [_not_measured_row(title, scale)]
    return [f"| {title} | {_rate(scale['subject'])} | 1 process "
            f"{_rate(scale['baseline'])} | {scale['ratio']:.2f}× | none set | n/a |"]


def _external_rows(benchmarks: dict) -> list[str]:
    rows = []
    for name in ("photos", "timeline", "fanout"):
        entry = benchmarks.get(name)
        if entry is None:
            rows.append(_not_measured_row(name, entry))
        elif entry["status"] == "measured" and name == "photos":
            result = entry["result"]
            rows.append(f"| photos: `imaging.process` | {result['imaging_process']['photos_per_second_median']}/s | "
                        f"bare Pillow {result['bare_pillow']['photos_per_second_median']}/s | "
                        f"{result['ratio_process_to_bare']:.0%} | see bench/photos.py | n/a |")
        elif entry["status"] == "measured":
            rows.append(f"| {name} | see below | | | | |")
        else:
            reason = " ".join(entry["reason"].split())[-120:].replace("|", "/")
            rows.append(f"| {name} | {entry['status']} | | | | {reason} |")
    return rows


def _profile_lines(profile: dict | None, what: str) -> list[str]:
    if not profile:
        return []
    if "error" in profile:
        return ["", f"py-spy could not record {what}: {profile['error']}"]
    lines = ["", f"py-spy, {what} under load ({profile['samples']} samples), functions by own time:", ""]
    lines += [f"- {entry['share']:.0%} `{entry['function']}`" for entry in profile["self_time"][:6]]
    return lines


def _rpc_section(benchmarks: dict) -> list[str]:
    lines = [
        "",
        "## RPC layer",
        "",
        "An echo method (`samen_devtools.bench.services`) run with `nameko run --config deploy/nameko.yaml`,",
        "called from OS threads of the benchmark process, each with its own connection and reply queue.",
        "The baseline is `samen_devtools.bench.raw_rpc`: one kombu process that answers on the same",
        "exchange and queue layout with the same prefetch, and kombu callers with the same publisher",
        "confirms and persistence per direction as the nameko path it is compared with.",
        "",
        "| path | max_workers (prefetch) | request: confirms, persistent | reply: confirms, persistent |",
        "| --- | --- | --- | --- |",
    ]
    for key in ("rpc_stock", "rpc_samen"):
        result = benchmarks[key]
        guarantees = result["guarantees"]
        lines.append(
            f"| {result['label']} | {result['max_workers']} | {guarantees['request_confirms']}, "
            f"{guarantees['request_persistent']} | {guarantees['reply_confirms']}, {guarantees['reply_persistent']} |"
        )
    samen = benchmarks["rpc_samen"]["concurrent"]["ratio"]
    if samen < RPC_GOAL:
        lines += ["", f"**Missed:** the tuned path reaches {samen:.0%} of raw kombu with 20 callers; the goal is "
                  f"{RPC_GOAL:.0%}."]
    lines += _profile_lines(benchmarks["rpc_stock"].get("profile"), "the stock nameko service")
    lines += _profile_lines(benchmarks["rpc_samen"].get("profile"), "the tuned Samen service")
    return lines


def _gateway_section(gateway: dict) -> list[str]:
    connections = gateway["broker_connections"]
    data_set = gateway["data_set"]
    lines = [
        "",
        "## Gateway",
        "",
        "`GET /api/v1/me` for a guardian, through gunicorn (`deploy/gunicorn.conf.py`), the gateway and",
        "the accounts service, against `GET /bare` of `samen_devtools.bench.bare_app` under the same",
        f"gunicorn configuration, both loaded by {gateway['subject']['generator']} with "
        f"{gateway_connections()} connections.",
        f"Data set: {data_set['counts']} (imported in {data_set['seconds']} s).",
        "",
        "| endpoint | requests/s | p50 | p99 | errors |",
        "| --- | --- | --- | --- | --- |",
        f"| bare Flask | {_rate(gateway['baseline'])} | {gateway['baseline']['p50_ms']} ms | "
        f"{gateway['baseline']['p99_ms']} ms | {gateway['baseline']['errors']} |",
        f"| `me` via gateway | {_rate(gateway['subject'])} | {gateway['subject']['p50_ms']} ms | "
        f"{gateway['subject']['p99_ms']} ms | {gateway['subject']['errors']} |",
        "",
        f"Broker connections on the vhost (management API): {connections['before']} before and "
        f"{connections['after']} after the timed rounds; {connections['opened_during_load']} opened during them "
        f"({connections['opened_per_second']}/s).",
    ]
    if gateway["ratio"] < GATEWAY_GOAL:
        lines += ["", f"**Missed:** {gateway['ratio']:.0%} of the bare endpoint; the goal is {GATEWAY_GOAL:.0%}."]
    lines += _profile_lines(gateway.get("profile"), "one gateway worker")
    return lines


def gateway_connections() -> int:
    from samen_devtools.bench.gateway_bench import CONNECTIONS

    return CONNECTIONS


def _database_section(database: dict) -> list[str]:
    lines = [
        "",
        "## Database under green threads",
        "",
        f"`wait_in_database` runs `SELECT pg_sleep({database['wait_ms'] / 1000})` on the service's pooled",
        "connection. Ten callers against one show whether a waiting query lets other green threads run.",
    ]
    if database["ratio"] < DATABASE_GOAL:
        lines += ["", f"**Missed:** {database['ratio']:.1f}×; the goal is {DATABASE_GOAL:.0f}×."]
    return lines


def _scale_out_section(scale: dict) -> list[str]:
    return [
        "",
        "## Scale-out",
        "",
        "The tuned echo RPC with 20 callers against two `nameko run` processes of the service, against one.",
        "On a machine where the callers, the broker and the services share few cores, a second process",
        "adds little; the ratio shows how much.",
    ]


def _external_section(benchmarks: dict) -> list[str]:
    lines = ["", "## Scripts under bench/", ""]
    for name in ("photos", "timeline", "fanout"):
        entry = benchmarks.get(name)
        if entry is None:
            lines += [f"### {name}", "", "not run yet", ""]
        elif entry["status"] == "measured":
            lines += [f"### {name}", "", f"`python {entry['command']}`", "", "```json",
                      _compact(entry["result"]), "```", ""]
        else:
            lines += [f"### {name}", "", f"{entry['status']}:", "", "```", entry["reason"].strip(), "```", ""]
    return lines


def _compact(value) -> str:
    import json

    return json.dumps(value, indent=1)
