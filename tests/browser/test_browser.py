"""Run the browser journeys in journeys.py against the real platform, in a separate pytest process.

The journeys need a process without eventlet's monkey patch (see harness.py), so this test
starts the platform and passes its URL to a child pytest run with `--noconftest`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_browser_journeys(platform):
    env = dict(os.environ, SAMEN_PORTAL_URL=platform.url)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--noconftest", "-p", "no:cacheprovider", "-q", "-rs",
         "tests/browser/journeys.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
