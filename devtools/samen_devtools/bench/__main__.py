"""Run every benchmark against its baseline in one run and write docs/benchmarks.md and .json.

    python -m samen_devtools.bench            # full data set and rounds (about 10 minutes)
    python -m samen_devtools.bench --smoke    # tiny data set and short rounds (under a minute)
    python -m samen_devtools.bench --smoke --output /tmp/bench.md
    python -m samen_devtools.bench --only rpc_stock rpc_samen --output /tmp/rpc.md

Every result is a ratio against a baseline measured in the same run, because absolute timings
on a shared machine drift between runs. RabbitMQ and PostgreSQL are used through a vhost and
databases of its own (prefix samen_bench_).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

import structlog

from samen_devtools.bench import dataset, external, gateway_bench, harness, report
from samen_devtools.bench.rpc_bench import SAMEN_GUARANTEES, STOCK_GUARANTEES, RpcBench

FULL_ROUNDS = harness.Rounds(warmup=1, repeats=5, seconds=3.0)
SMOKE_ROUNDS = harness.Rounds(warmup=0, repeats=2, seconds=0.5)
# Workers (and AMQP prefetch) per service process: the platform default and the tuned value.
DEFAULT_MAX_WORKERS = 10
TUNED_MAX_WORKERS = 20
BENCHMARKS = ("rpc_stock", "rpc_samen", "scale_out", "database", "gateway", *external.SCRIPTS)


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the Samen benchmarks and write their report.")
    parser.add_argument("--smoke", action="store_true", help="tiny data set and short rounds, to check that it runs")
    parser.add_argument("--output", type=Path, default=harness.ROOT / "docs" / "benchmarks.md",
                        help="Markdown report path; the JSON goes beside it with the suffix .json")
    parser.add_argument("--no-profile", action="store_true", help="skip py-spy even where a goal is missed")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, metavar="NAME",
                        help=f"run only these benchmarks ({', '.join(BENCHMARKS)}) and mark the report as partial")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    if arguments.output.suffix == ".json":
        raise SystemExit("--output names the Markdown report; the JSON is written beside it (use a .md name)")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    rounds = SMOKE_ROUNDS if arguments.smoke else FULL_ROUNDS
    size = dataset.SMOKE if arguments.smoke else dataset.FULL
    profile = not arguments.smoke and not arguments.no_profile
    started = time.time()

    work_dir = Path(tempfile.mkdtemp(prefix="samen-bench-"))
    data_dir = work_dir / "data"
    from samen_devtools.keys import ensure_keys

    ensure_keys(data_dir / "keys")
    os.environ["SAMEN_DATA_DIR"] = str(data_dir)
    os.environ["SAMEN_ENV"] = "test"

    results: dict = {
        "mode": "smoke" if arguments.smoke else "full",
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "machine": harness.machine(),
        "rounds": rounds.__dict__,
        "logs": str(work_dir),
    }
    if arguments.only:
        results["only"] = list(arguments.only)
    json_path = arguments.output.with_suffix(".json")
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    results["benchmarks"] = {}

    def save() -> None:
        results["seconds"] = round(time.time() - started, 1)
        json_path.write_text(json.dumps(results, indent=2) + "\n")
        arguments.output.write_text(report.render(results))

    interrupted = False
    with harness.Vhost() as vhost:
        processes = harness.Processes(work_dir)
        env = harness.base_environment(vhost, data_dir)
        try:
            run_all(results["benchmarks"], save, vhost, env, processes, rounds, size, work_dir, profile,
                    arguments.smoke, set(arguments.only or BENCHMARKS))
        except KeyboardInterrupt:
            interrupted = True
            results["interrupted"] = True
            print("interrupted: stopping the benchmark's processes and writing what was measured", file=sys.stderr)
        finally:
            external.stop_running()
            processes.stop_all()
            results["dropped_databases"] = _drop_databases()
            shutil.rmtree(data_dir / "keys", ignore_errors=True)
            results["finished"] = not interrupted
            save()
    if interrupted:
        return 130
    failed = [name for name, entry in results["benchmarks"].items() if entry.get("status") == "failed"]
    print(f"wrote {arguments.output} and {json_path} in {results['seconds']} s")
    if failed:
        print(f"failed benchmarks: {', '.join(failed)}. The report shows why; logs are in {work_dir}", file=sys.stderr)
    # The scripts under bench/ belong to their own authors: their failures show on the page but
    # do not fail the run.
    return 1 if set(failed) - set(external.SCRIPTS) else 0


def _drop_databases() -> list[str]:
    try:
        return harness.drop_bench_databases()
    except Exception as exc:  # noqa: BLE001 - the report is still written; the names are printed
        print(f"could not drop the samen_bench_* databases: {exc}", file=sys.stderr)
        return []


def run_one(benchmarks: dict, save, name: str, measure) -> dict | None:
    """Run `measure()` as benchmark `name`, store its result or its failure, and save the report.

    A failure (any Exception) is recorded with its traceback and the run goes on, so results
    measured before it stay on the page.
    """
    started = time.monotonic()
    try:
        result = measure()
    except Exception:  # noqa: BLE001 - any failure of one benchmark is reported, then the next runs
        result = {"status": "failed", "reason": traceback.format_exc()[-1500:]}
        print(f"benchmark {name} failed:\n{result['reason']}", file=sys.stderr)
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    benchmarks[name] = result
    save()
    return result


def run_all(benchmarks, save, vhost, env, processes, rounds, size, work_dir, profile, smoke, selected) -> None:
    bench = RpcBench(vhost, env, processes, rounds, work_dir)

    def run_selected(name: str, measure) -> None:
        if name in selected:
            run_one(benchmarks, save, name, measure)

    # A smoke run only checks that everything runs, so the scripts under bench/ (with vhosts and
    # databases of their own) run alongside the other benchmarks. A full run keeps them apart,
    # because they would take CPU time from each other's measurements.
    scripts = {name: external.ScriptRun(name, smoke, env) for name in external.SCRIPTS
               if name in selected} if smoke else {}

    def cleanup_after(measure):
        def wrapped():
            try:
                result = measure()
            except KeyboardInterrupt:
                # Caller threads may still use their connections, so closing those could block;
                # main() stops the processes by process group.
                raise
            except BaseException:
                bench.stop(list(processes.started))
                raise
            # A failed benchmark may leave its services running; the next one starts its own.
            bench.stop(list(processes.started))
            return result
        return wrapped

    run_selected("rpc_stock", cleanup_after(lambda: bench.nameko_against_raw(
        "stock", "StockEchoService", STOCK_GUARANTEES, DEFAULT_MAX_WORKERS, bench.stock_callers, profile)))
    run_selected("rpc_samen", cleanup_after(lambda: bench.nameko_against_raw(
        "samen", "EchoService", SAMEN_GUARANTEES, TUNED_MAX_WORKERS, bench.samen_callers, profile)))
    run_selected("scale_out", cleanup_after(lambda: bench.scale_out(TUNED_MAX_WORKERS)))
    run_selected("database", cleanup_after(lambda: bench.database_wait(DEFAULT_MAX_WORKERS)))

    def gateway():
        loaded = dataset.load_accounts(size, env)
        token = dataset.guardian_token("2000000")
        result = gateway_bench.run(vhost, env, processes, rounds, token, work_dir, profile)
        result["data_set"] = {"size": size.__dict__, **loaded}
        return result

    run_selected("gateway", cleanup_after(gateway))

    for name in external.SCRIPTS:
        if name in scripts:
            run_selected(name, scripts[name].result)
        else:
            run_selected(name, lambda name=name: external.run_script(name, smoke, env))


if __name__ == "__main__":
    sys.exit(main())
