"""Render docs/benchmarks.md from partial and failed results without running any benchmark."""

from __future__ import annotations

from samen_devtools.bench import report

MACHINE = {
    "cpu_model": "Test CPU", "cores": 2, "memory_gib": 4.0, "os": "Linux", "python": "3.11.7",
    "versions": {"nameko": "2.14.1"},
}


def _results(benchmarks: dict, finished: bool = False) -> dict:
    return {
        "mode": "smoke", "started_at": "2026-12-04T21:00:00+0000", "seconds": 12.0, "machine": MACHINE,
        "rounds": {"warmup": 0, "repeats": 2, "seconds": 0.5}, "benchmarks": benchmarks, "finished": finished,
    }


def _sample(median: float) -> dict:
    return {"median": median, "min": median, "max": median, "spread": 0.0, "rounds": [median, median]}


def test_report_before_any_benchmark():
    page = report.render(_results({}))

    assert page.startswith("# Benchmarks")
    assert "partial: the run has not finished" in page
    assert "| RPC, Samen tuned | not run yet |" in page
    assert "`gateway`: not run yet." in page


def test_report_shows_failure_and_keeps_results():
    database = {
        "subject": _sample(400.0), "baseline": _sample(50.0), "ratio": 8.0, "ratio_spread": 0.05,
        "wait_ms": 10, "concurrent_sleep_seconds": 0.21,
    }
    benchmarks = {
        "database": database,
        "gateway": {"status": "failed", "reason": "Traceback (most recent call last):\nRuntimeError: boom | x"},
        "timeline": {"status": "failed", "reason": "line one\nline two"},
    }

    page = report.render(_results(benchmarks, finished=True))

    assert "partial" not in page
    assert "| RPC waiting 10 ms in PostgreSQL, 10 callers | 400/s ±0% | 1 caller 50/s ±0% | 8.0× ±5% |" in page
    assert "RuntimeError: boom | x" in page
    assert "| `GET /api/v1/me` via gateway | failed |" in page
    assert "| timeline | failed | | | | line one line two |" in page
    assert "took 0.21 s together, so a waiting query lets the other green threads run" in page
