"""A second process of a service adds capacity with no other change."""

import json
import subprocess
import time

import requests

from tests.e2e.platform import PYTHON, RABBIT_API, RABBIT_USER, ROOT


def _consumers(platform, queue: str) -> int:
    response = requests.get(f"{RABBIT_API}/api/queues/{platform.vhost}/{queue}", auth=RABBIT_USER, timeout=10)
    return response.json().get("consumers", 0) if response.status_code == 200 else 0


def _login_pids(text: str) -> set[int]:
    pids = set()
    for line in text.splitlines():
        start = line.find("{")
        if start < 0 or "login.succeeded" not in line:
            continue
        try:
            pids.add(json.loads(line[start:])["pid"])
        except (ValueError, KeyError):
            continue
    return pids


def test_second_accounts_process_shares_the_work(platform, tmp_path):
    log_path = tmp_path / "accounts-2.log"
    with open(log_path, "wb") as log:
        second = subprocess.Popen(
            [PYTHON, "-m", "samen_devtools.run_service", "accounts-2"],
            cwd=ROOT, env=platform.env, stdout=log, stderr=log,
        )
    try:
        deadline = time.monotonic() + 30
        while _consumers(platform, "rpc-accounts") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _consumers(platform, "rpc-accounts") == 2

        for _ in range(30):
            platform.login("100001")

        pids = _login_pids(platform.logs()) | _login_pids(log_path.read_text(errors="replace"))
        assert len(pids) >= 2
        assert second.pid in pids
    finally:
        second.terminate()
        second.wait(timeout=20)
