"""Render the benchmark results as the Markdown page docs/benchmarks.md."""

from __future__ import annotations

RPC_GOAL = 0.80
GATEWAY_GOAL = 0.25
DATABASE_GOAL = 8.0
# Connections opened per second under load that still count as "about zero".
# "About zero" broker connections opened under load: none closed (no connection replaced), and
# fewer opened than one per 1,000 requests, which is a pool still growing to its bound. A
# connection per request would be 1,000 per 1,000.
OPENED_PER_REQUEST_LIMIT = 0.001
# Fewer py-spy samples than this name no hot spots: one sample would be more than 1% of them.
MIN_PROFILE_SAMPLES = 100
# Must match rpc_bench.DATABASE_WAIT_MS, which report.py does not import to stay free of nameko.
DATABASE_WAIT_MS = 10


# The label of a benchmark without a result; `render` sets it from the run's state.
_NOT_RUN = "not run yet"


def render(results: dict) -> str:
    machine = results["machine"]
    benchmarks = results["benchmarks"]
    rounds = results["rounds"]
    if results.get("interrupted"):
        state = " (partial: the run was interrupted)"
    else:
        state = "" if results.get("finished") else " (partial: the run has not finished)"
    if results.get("only"):
        state += f" (partial: only {', '.join(results['only'])} ran)"
    global _NOT_RUN
    if results.get("only"):
        _NOT_RUN = "not run: left out with `--only`"
    elif results.get("interrupted"):
        _NOT_RUN = "not run: the run was interrupted before it"
    else:
        _NOT_RUN = "not run yet"
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
        f"- logs of the processes: `{results.get('logs', 'not recorded')}`",
        "",
        "## Summary",
        "",
        "| benchmark | subject | baseline | ratio | goal | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += _summary_rows(benchmarks)
    lines += _rpc_guarded(benchmarks)
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
            lines.append(f"`{key}`: {_NOT_RUN}.")
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


def _percent(value: float, goal: float) -> str:
    """Format a ratio as a percentage, with a decimal where rounding would hide which side of `goal` it is."""
    text = f"{value:.0%}"
    if text == f"{goal:.0%}" and value != goal:
        text = f"{value:.1%}"
    return text


def _ratio_spread(comparison: dict) -> str:
    """Return " ±N%" for the spread of the ratios of alternating rounds, where they were paired."""
    spread = comparison.get("ratio_spread")
    return "" if spread is None else f" ±{spread * 100:.0f}%"


def _met(value, goal) -> str:
    if value is None:
        return "not measured"
    return "yes" if value >= goal else "**no**"


def _not_measured_row(title: str, entry: dict | None) -> str:
    status = _NOT_RUN if entry is None else entry.get("status", "failed")
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
            tuned = key == "rpc_samen" and mode == "concurrent"
            if tuned:
                goal = f"≥ {RPC_GOAL:.0%}"
            elif mode == "concurrent":
                goal = "reference"
            else:
                goal = "none"
            met = _met(comparison["ratio"], RPC_GOAL) if tuned else "n/a"
            rows.append(f"| {title}, {callers} | {_rate(comparison['subject'])} | raw kombu "
                        f"{_rate(comparison['baseline'])} | {_percent(comparison['ratio'], RPC_GOAL)}"
                        f"{_ratio_spread(comparison)} | "
                        f"{goal} | {met} |")
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
    connections = gateway["broker_connections"]
    opened = connections["opened_per_second"]
    if "method" in connections:
        requests_during = gateway["subject"]["median"] * connections["load_seconds"]
        about_zero = connections["closed_during_load"] == 0 and \
            connections["opened_during_load"] <= OPENED_PER_REQUEST_LIMIT * requests_during
        rows.append(f"| broker connections opened by the gateway under load | {opened}/s "
                    f"({connections['opened_during_load']} opened, {connections['closed_during_load']} closed in "
                    f"{connections['load_seconds']} s, about {requests_during:,.0f} requests) | | | about 0: none "
                    f"closed, under 1 per 1,000 requests | {'yes' if about_zero else '**no**'} |")
    else:
        # Results written before the sockets were read from /proc: the management API's late view.
        rows.append(f"| broker connections opened under load (management API, late view) | {opened}/s | | | "
                    "about 0 | n/a |")
    return rows


def _database_rows(database: dict | None) -> list[str]:
    title = f"RPC waiting {DATABASE_WAIT_MS} ms in PostgreSQL, 10 callers"
    if not _measured(database):
        return [_not_measured_row(title, database)]
    return [f"| {title} | {_rate(database['subject'])} | "
            f"1 caller {_rate(database['baseline'])} | {database['ratio']:.1f}×{_ratio_spread(database)} | "
            f"≥ {DATABASE_GOAL:.0f}× | "
            f"{_met(database['ratio'], DATABASE_GOAL)} |"]


def _scale_out_rows(scale: dict | None) -> list[str]:
    title = "RPC, 2 service processes, 20 callers"
    if not _measured(scale):
        return [_not_measured_row(title, scale)]
    return [f"| {title} | {_rate(scale['subject'])} | 1 process "
            f"{_rate(scale['baseline'])} | {scale['ratio']:.2f}×{_ratio_spread(scale)} | none set | n/a |"]


def _external_rows(benchmarks: dict) -> list[str]:
    rows = []
    for name in ("photos", "timeline", "fanout"):
        entry = benchmarks.get(name)
        if entry is None:
            rows.append(_not_measured_row(name, entry))
        elif entry["status"] == "measured" and name == "photos":
            result = entry["result"]
            rows.append(f"| photos: `imaging.process` | {result['imaging_process']['photos_per_second_median']}/s | "
                        f"bare Pillow, same outputs {result['bare_pillow']['photos_per_second_median']}/s | "
                        f"{result['ratio_process_to_bare']:.0%} | none set; peak memory "
                        f"{result.get('worker_rss_peak_mb', '?')} MB | n/a |")
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
    load = ""
    if "calls" in profile:
        load = (f" over {profile['seconds']:.0f} s, while the callers completed {profile['calls']:,} calls"
                f" and the process used {profile['cpu_seconds']} s of CPU time")
    if profile["samples"] < MIN_PROFILE_SAMPLES:
        return ["", f"py-spy recorded only {profile['samples']} samples of {what}, too few to name where its time "
                f"goes (at least {MIN_PROFILE_SAMPLES} needed)."]
    lines = ["", f"py-spy, {what} under load ({profile['samples']} samples{load}), functions by own time:", ""]
    # A sample without a Python frame (native code or the interpreter itself) has an empty name.
    named = [entry for entry in profile["self_time"] if entry["function"].strip()]
    lines += [f"- {entry['share']:.0%} `{entry['function']}`" for entry in named[:6]]
    lines += _sampled_time_note(profile)
    if profile.get("stages"):
        lines += ["", "Share of the samples whose stack contains each stage (a sample counts once, for the first "
                  "stage listed that it contains):", ""]
        lines += [f"- {share:.0%} {stage}" for stage, share in profile["stages"].items()]
    return lines


def _sampled_time_note(profile: dict) -> list[str]:
    """Return a note on CPU time per call, and on samples that add up to more than the CPU time."""
    if not profile.get("calls") or not profile.get("rate"):
        return []
    cpu_ms_per_call = profile["cpu_seconds"] * 1000 / profile["calls"]
    lines = ["", f"CPU time of the process per call while py-spy recorded it: {cpu_ms_per_call:.2f} ms."]
    sampled_seconds = profile["samples"] / profile["rate"]
    if sampled_seconds > profile["cpu_seconds"] * 1.1:
        lines[-1] += (f" The samples stand for {sampled_seconds:.1f} s but the process used "
                      f"{profile['cpu_seconds']} s of CPU time, so py-spy also counted time in which the thread "
                      "was not idle yet did not run either, such as waiting for a core that RabbitMQ or the "
                      "callers held. A share below is a share of that time, not of CPU time.")
    return lines


def _rpc_guarded(benchmarks: dict) -> list[str]:
    """Render the RPC section for each path that has a result, and list why the other has none."""
    keys = ("rpc_stock", "rpc_samen")
    measured = tuple(key for key in keys if _measured(benchmarks.get(key)))
    if not measured:
        return ["", "## RPC layer", "", *_missing(benchmarks, keys)]
    return _rpc_section(benchmarks, measured) + _missing(benchmarks, tuple(k for k in keys if k not in measured))


def _rpc_section(benchmarks: dict, keys: tuple[str, ...]) -> list[str]:
    lines = [
        "",
        "## RPC layer",
        "",
        "An echo method (`samen_devtools.bench.services`) run with `nameko run --config deploy/nameko.yaml`,",
        "called from OS threads of the benchmark process, each with its own connection and reply queue.",
        "The baseline is `samen_devtools.bench.raw_rpc`: one kombu process that answers on the same",
        "exchange and queue layout with the same prefetch, and kombu callers with the same publisher",
        "confirms and persistence per direction, and the same reply acknowledgements, as the nameko path",
        "it is compared with. The stock path calls through nameko's `ClusterRpcProxy`, the Samen path",
        "through the gateway's RPC pool (`samen_gateway.rpc_pool`).",
        "",
        "| path | max_workers (prefetch) | request: confirms, persistent | reply: confirms, persistent | replies acknowledged |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key in keys:
        result = benchmarks[key]
        guarantees = result["guarantees"]
        lines.append(
            f"| {result['label']} | {result['max_workers']} | {guarantees['request_confirms']}, "
            f"{guarantees['request_persistent']} | {guarantees['reply_confirms']}, {guarantees['reply_persistent']} | "
            f"{guarantees.get('reply_acks', True)} |"
        )
    lines += [
        "",
        "Each nameko path and its raw baseline run side by side and their timed rounds alternate, so drift",
        "in the load of other processes hits both. A ratio is the median of the ratios per pair of rounds,",
        "and its ± is half their range relative to that median.",
    ]
    for key in keys:
        cpu = benchmarks[key]["concurrent"].get("server_cpu_ms_per_call")
        if cpu:
            lines += ["", f"Server CPU time per call with 20 callers, {benchmarks[key]['label']} path (from "
                      f"/proc/<pid>/stat, one round each): nameko service {cpu['nameko service']} ms, raw kombu "
                      f"server {cpu['raw kombu server']} ms."]
    samen = benchmarks["rpc_samen"]["concurrent"]["ratio"] if "rpc_samen" in keys else None
    if samen is not None and samen < RPC_GOAL:
        lines += ["", f"**Missed:** the tuned path reaches {_percent(samen, RPC_GOAL)} of raw kombu with 20 callers; the goal is "
                  f"{RPC_GOAL:.0%}. The tuning so far: 20 workers and prefetch per process; requests and replies "
                  "transient; publisher confirms on requests only, because a request to a service without a queue "
                  "comes back as a basic.return that only confirms wait for; replies consumed without "
                  "acknowledgements; each reply published with py-amqp's `basic_publish` on one kept channel "
                  "(`samen_common.rpc.ReplyProducer`) and serialized once; request headers read once and the "
                  "method's signature bound from a kept `inspect.Signature`. The server CPU times above show what "
                  "is left: the nameko service spends more CPU time per call than the raw server, and the callers, "
                  "RabbitMQ and both servers share the machine's cores."]
        if benchmarks["rpc_samen"].get("profile"):
            lines[-1] += (" In the profiles below, each call runs in a new green thread with nameko's worker "
                          "context (a call id from `uuid4`, timing, dependency hooks), and every socket read and "
                          "write goes through eventlet's hub, while the raw server handles each message in one loop "
                          "on blocking sockets.")
        else:
            lines[-1] += " This run recorded no profile (smoke run or `--no-profile`), so it names no hot spots."
    if "rpc_stock" in keys:
        stock = benchmarks["rpc_stock"]["concurrent"]["ratio"]
        lines += ["", f"nameko out of the box reaches {stock:.0%} of raw kombu with 20 callers. It is the reference "
                  f"for the tuning: the {RPC_GOAL:.0%} goal applies to the tuned path, which the services use."]
    for key, what in (("rpc_stock", "the stock nameko service"), ("rpc_samen", "the tuned Samen service")):
        if key in keys:
            lines += _profile_lines(benchmarks[key].get("profile"), what)
    return lines


def _connection_text(connections: dict) -> str:
    if "method" not in connections:
        return (f"Broker connections on the vhost (management API): {connections['before']} before and "
                f"{connections['after']} after the timed rounds. The management API lists a connection only "
                "seconds after it opens, so this view cannot count connections opened during the rounds.")
    sockets = connections["sockets"]
    return (
        f"Broker connections of the gateway workers, read from their AMQP sockets in /proc every "
        f"{sockets['interval_seconds'] * 1000:.0f} ms ({sockets['readings']} readings) during the "
        f"{connections['load_seconds']} s of timed rounds: {sockets['open_at_start']} open at the start, "
        f"{sockets['open_at_end']} at the end, {connections['opened_during_load']} opened and "
        f"{connections['closed_during_load']} closed. A connection that opens and closes between two readings "
        "would be missed; an AMQP connection needs several round trips to open. The warm-up before the rounds "
        "used twice the connections to fill the gateway's lazily opened pools: per gunicorn worker one "
        "connection per RPC pool slot (`SAMEN_RPC_POOL_SIZE`, 16), which both publishes the requests and "
        f"receives the replies. The management API counted {connections['before']} connections on the vhost "
        f"before and {connections['after']} after (every process on the vhost, listed with a delay)."
    )


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
        f"{gateway_connections()} connections. Both servers run at once and their timed rounds alternate, so "
        "drift in the load of other processes hits both.",
        f"Data set: {data_set['counts']} (imported in {data_set['seconds']} s).",
        "",
        "| endpoint | requests/s | p50 | p99 | errors |",
        "| --- | --- | --- | --- | --- |",
        f"| bare Flask | {_rate(gateway['baseline'])} | {gateway['baseline']['p50_ms']} ms | "
        f"{gateway['baseline']['p99_ms']} ms | {gateway['baseline']['errors']} |",
        f"| `me` via gateway | {_rate(gateway['subject'])} | {gateway['subject']['p50_ms']} ms | "
        f"{gateway['subject']['p99_ms']} ms | {gateway['subject']['errors']} |",
        "",
        _connection_text(connections),
    ]
    lines += _cpu_lines(gateway)
    if gateway["ratio"] < GATEWAY_GOAL:
        lines += ["", f"**Missed:** {gateway['ratio']:.0%} of the bare endpoint; the goal is {GATEWAY_GOAL:.0%}."]
        lines += _gateway_cause(gateway)
    profile = gateway.get("profile") or {}
    if "error" in profile:
        lines += _profile_lines(profile, "the gateway")
    else:
        lines += _profile_lines(profile.get("accounts"), "the accounts service")
        lines += _profile_lines(profile.get("gateway"), "one gateway worker")
    return lines


def _cpu_lines(gateway: dict) -> list[str]:
    parts = [
        f"{name} {ms} ms"
        for sample in (gateway["baseline"], gateway["subject"])
        for name, ms in sample.get("cpu_ms_per_request", {}).items()
    ]
    if not parts:
        return []
    return ["", "CPU time per request in the timed rounds (user plus system, from /proc/<pid>/stat): "
            + ", ".join(parts) + "."]


def _gateway_cause(gateway: dict) -> list[str]:
    """Explain a missed gateway goal from the CPU time that each process spent per request."""
    subject_cpu = gateway["subject"].get("cpu_ms_per_request", {})
    bare_cpu = gateway["baseline"].get("cpu_ms_per_request", {}).get("gunicorn workers")
    accounts_cpu = subject_cpu.get("accounts service")
    if not accounts_cpu or not bare_cpu:
        return ["", "Cause: not measured in this run (no CPU times)."]
    gateway_cpu = subject_cpu.get("gateway workers", 0)
    servers = sum(subject_cpu.get(name, 0) for name in ("RabbitMQ", "PostgreSQL"))
    cap = 1000 / accounts_cpu
    cap_ratio = cap / gateway["baseline"]["median"]
    lines = [
        "",
        f"Cause, as measured: a `me` request costs {gateway_cpu:.2f} ms of CPU time in the gateway workers and "
        f"{accounts_cpu:.2f} ms in the accounts service, against {bare_cpu:.2f} ms for the bare endpoint. The "
        "accounts service runs its green threads on one OS thread, so one process uses at most one core: at "
        f"{accounts_cpu:.2f} ms per request it serves at most {cap:,.0f} requests/s, {cap_ratio:.0%} of the bare "
        "endpoint's rate, even with a core of its own.",
    ]
    if cap_ratio < GATEWAY_GOAL:
        lines[-1] += " That alone keeps `me` below the goal on one accounts process."
    else:
        lines[-1] += (f" That alone would allow the goal; the rest is CPU time that the gateway workers, accounts, "
                      f"RabbitMQ and PostgreSQL ({servers:.2f} ms per request, which includes any other client of "
                      f"these servers) share on {_cores_text()} cores.")
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
    sleep = database.get("concurrent_sleep_seconds")
    echo_ratio = database.get("echo_ratio")
    if sleep is not None:
        verdict = "so a waiting query lets the other green threads run" if sleep < 1.0 else \
            "so a waiting query blocks the service's other green threads"
        lines += ["", f"Ten concurrent calls that each sleep 0.2 s in PostgreSQL took {sleep} s together, {verdict} "
                  "(`PSYCOPG_WAIT_FUNC=wait_select`, set by `samen_common`)."]
    if echo_ratio is not None:
        lines += ["", f"The echo RPC without database work reached {_rate(database['echo_concurrent'])} with the same "
                  f"ten callers, {echo_ratio:.1f} times the single database caller. That is the most the RPC path "
                  "allows the database ratio to reach here."]
    cpu = database.get("service_cpu_ms_per_call")
    if cpu:
        lines += ["", f"CPU time of the service process per call with ten callers (from /proc/<pid>/stat): "
                  f"{cpu['wait_in_database']} ms for `wait_in_database`, {cpu['echo']} ms for `echo`. The difference "
                  "is the database work around the sleep: creating the worker's session, a pool checkout and "
                  "return, and the query itself, one round trip to PostgreSQL through eventlet's hub (the read "
                  "runs without a transaction, and connections in steady use are not pinged)."]
    if database["ratio"] < DATABASE_GOAL:
        lines += ["", f"**Missed:** {database['ratio']:.1f}×; the goal is {DATABASE_GOAL:.0f}×."]
        lines += _database_cause(database, sleep, cpu)
    return lines


def _database_cause(database: dict, sleep: float | None, cpu: dict | None) -> list[str]:
    """Explain a missed database goal from what the run measured, or state that it was not measured."""
    if sleep is None or sleep >= 1.0:
        return ["", "Cause: the waiting query blocks the service's other green threads (see above)."]
    if not cpu:
        return ["", "Cause: not measured in this run (no CPU times)."]
    rate = database["subject"]["median"]
    share = cpu["wait_in_database"] * rate / 1000
    bound = 1000 / cpu["wait_in_database"] / database["baseline"]["median"] if cpu["wait_in_database"] else None
    lines = ["", f"Cause, as measured: the service process. At {rate:,.0f} calls/s and {cpu['wait_in_database']} ms of "
             f"CPU time per call it used {share:.0%} of one core. A nameko service runs its green threads on one OS "
             "thread, so one process uses at most one core, and at that CPU time per call it would reach at most "
             f"{bound:.1f}× the single caller even with idle cores around it."]
    idle = database.get("machine_idle_share")
    if idle is not None:
        lines[-1] += (f" The machine's cores were {idle:.0%} idle during those calls (/proc/stat), so the "
                      "callers, RabbitMQ and PostgreSQL were not short of CPU time.")
    return lines


def _scale_out_section(scale: dict) -> list[str]:
    return [
        "",
        "## Scale-out",
        "",
        "The tuned echo RPC with 20 callers against two `nameko run` processes of one service, against one",
        "process of another, both running at once with alternating rounds. The callers, RabbitMQ and the",
        f"services share {_cores_text()} cores, so a second process can only use CPU time that the rest leaves.",
    ]


def _cores_text() -> str:
    import os

    return str(os.cpu_count())


def _external_section(benchmarks: dict) -> list[str]:
    lines = ["", "## Scripts under bench/", ""]
    for name in ("photos", "timeline", "fanout"):
        entry = benchmarks.get(name)
        if entry is None:
            lines += [f"### {name}", "", _NOT_RUN, ""]
        elif entry["status"] == "measured":
            command = entry["command"] if entry["command"].startswith("python ") else f"python {entry['command']}"
            lines += [f"### {name}", "", f"`{command}`", "", "```json",
                      _compact(entry["result"]), "```", ""]
        else:
            lines += [f"### {name}", "", f"{entry['status']}:", "", "```", entry["reason"].strip(), "```", ""]
    return lines


def _compact(value) -> str:
    import json

    return json.dumps(value, indent=1)
