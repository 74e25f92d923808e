"""Run `python -m samen_devtools.bench --smoke` so the benchmarks keep working.

Only completion and the shape of the JSON are checked; timings on a shared machine are never
asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_smoke_writes_report(tmp_path):
    output = tmp_path / "benchmarks.md"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        str(ROOT / part) for part in ("common", "services/accounts", "services/media", "gateway", "devtools")
    )
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
    assert output.read_text().startswith("# Benchmarks")
