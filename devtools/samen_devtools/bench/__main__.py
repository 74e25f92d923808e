"""Run every benchmark against its baseline in one run and write docs/benchmarks.md and .json.

    python -m samen_devtools.bench            # full data set and rounds (about 10 minutes)
    python -m samen_devtools.bench --smoke    # tiny data set and short rounds (under a minute)
    python -m samen_devtools.bench --smoke --output /tmp/bench.md

Every result is a ratio against a baseline measured in the same run, because absolute timings
on a shared machine drift between runs. RabbitMQ and PostgreSQL are used through a vhost and
databases of its own (prefix samen_bench_).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import structlog

from samen_devtools.bench import dataset, external, gateway_bench, harness, report
from samen_devtools.bench.rpc_bench import SAMEN_GUARANTEES, STOCK_GUARANTEES, RpcBench

FULL_ROUNDS = harness.Rounds(warmup=1, repeats=5, seconds=3.0)
SMOKE_ROUNDS = harness.Rounds(warmup=0, repeats=2, seconds=0.5)
# Workers (and AMQP prefetch) per service process: the platform default and the tuned value.
DEFAULT_MAX_WORKERS = 10
TUNED_MAX_WORKERS = 20


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the Samen benchmarks and write their report.")
    parser.add_argument("--smoke", action="store_true", help="tiny data set and short rounds, to check that it runs")
    parser.add_argument("--output", type=Path, default=harness.ROOT / "docs" / "benchmarks.md",
                        help="Markdown report path; the JSON goes beside it with the suffix .json")
    parser.add_argument("--no-profile", action="store_true", help="skip py-spy even where a goal is missed")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
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
    with harness.Vhost() as vhost:
        processes = harness.Processes(work_dir)
        env = harness.base_environment(vhost, data_dir)
        try:
            results["benchmarks"] = run_all(vhost, env, processes, rounds, size, work_dir, profile, arguments.smoke)
        finally:
            processes.stop_all()
    results["seconds"] = round(time.time() - started, 1)

    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    json_path = arguments.output.with_suffix(".json")
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    arguments.output.write_text(report.render(results))
    print(f"wrote {arguments.output} and {json_path} in {results['seconds']} s")
    return 0


def run_all(vhost, env, processes, rounds, size, work_dir, profile, smoke) -> dict:
    benchmarks: dict = {}
    bench = RpcBench(vhost, env, processes, rounds, work_dir)

    benchmarks["rpc_stock"] = bench.nameko_against_raw(
        "stock", "StockEchoService", STOCK_GUARANTEES, DEFAULT_MAX_WORKERS, bench.stock_callers, profile
    )
    benchmarks["rpc_samen"] = bench.nameko_against_raw(
        "samen", "EchoService", SAMEN_GUARANTEES, TUNED_MAX_WORKERS, bench.samen_callers, profile
    )
    benchmarks["scale_out"] = bench.scale_out(TUNED_MAX_WORKERS)
    benchmarks["database"] = bench.database_wait(DEFAULT_MAX_WORKERS)

    loaded = dataset.load_accounts(size, env)
    token = dataset.guardian_token("2000000")
    benchmarks["gateway"] = gateway_bench.run(vhost, env, processes, rounds, token, work_dir, profile)
    benchmarks["gateway"]["data_set"] = {"size": size.__dict__, **loaded}

    for name in ("photos", "timeline", "fanout"):
        benchmarks[name] = external.run_script(name, smoke, env)
    return benchmarks


if __name__ == "__main__":
    sys.exit(main())
