"""Run `python -m samen_devtools.bench --smoke` so the benchmarks keep working.

Only completion and the shape of the JSON are checked; timings on a shared machine are never
asserted here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_smoke_writes_report(tmp_path):
    output = tmp_path / "benchmarks.md"
    env = _bench_env()
    completed = subprocess.run(
        [sys.executable, "-m", "samen_devtools.bench", "--smoke", "--output", str(output)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]

    results = json.loads(output.with_suffix(".json").read_text())
    assert results["mode"] == "smoke"
    assert results["machine"]["cores"] >= 1
    for name in ("rpc_stock", "rpc_samen", "scale_out", "database", "gateway", "photos", "timeline", "fanout"):
        assert name in results["benchmarks"], name
    # The scripts under bench/ do not fail a full run, so the smoke run checks them here.
    for name in ("photos", "timeline", "fanout"):
        assert results["benchmarks"][name]["status"] == "measured", results["benchmarks"][name]
    assert results["finished"] is True
    assert output.read_text().startswith("# Benchmarks")
    # Nothing of the run is left in PostgreSQL.
    assert _bench_databases() == []


def _bench_databases() -> list[str]:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as connection:
        rows = connection.execute(r"SELECT datname FROM pg_database WHERE datname LIKE 'samen\_bench\_%'")
        return [row[0] for row in rows]


def _bench_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        str(ROOT / part) for part in ("common", "services/accounts", "services/media", "gateway", "devtools")
    )
    return env


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for path in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = path.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                child = int(path.parent.name)
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def test_interrupted_run_stops_and_cleans_up(tmp_path):
    output = tmp_path / "interrupted.md"
    process = subprocess.Popen(
        [sys.executable, "-m", "samen_devtools.bench", "--smoke", "--output", str(output)],
        cwd=ROOT, env=_bench_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Wait until the run has started processes of its own, then interrupt it as Ctrl-C would.
    deadline = time.monotonic() + 60
    children: set[int] = set()
    while time.monotonic() < deadline and len(children) < 2:
        time.sleep(0.5)
        children = _descendants(process.pid)
    assert len(children) >= 2, "the run started no processes"
    time.sleep(2)
    children |= _descendants(process.pid)
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the interrupted run did not end within 60 s") from None

    assert process.returncode == 130, stderr[-2000:]
    results = json.loads(output.with_suffix(".json").read_text())
    assert results["interrupted"] is True
    assert results["finished"] is False
    assert "the run was interrupted" in output.read_text()
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()
             and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert alive == [], alive
    assert _bench_databases() == []
