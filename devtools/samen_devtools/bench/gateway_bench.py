"""Gateway benchmark: `GET /api/v1/me` through the gateway against a bare Flask endpoint.

Both apps run under gunicorn with deploy/gunicorn.conf.py, and wrk loads both with the same
connections and threads. Without wrk a Python load generator takes its place.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time

import requests

from samen_devtools.bench import harness

CONNECTIONS = 20
WRK_THREADS = 2


def gunicorn_command(app: str, port: int) -> list[str]:
    return [str(harness.BIN / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", app]


def load_round(url: str, headers: dict, seconds: float) -> dict:
    """Load `url` for `seconds`; return requests per second, p50 and p99 in milliseconds and errors."""
    if shutil.which("wrk"):
        return _wrk_round(url, headers, seconds)
    return _python_round(url, headers, seconds)


def _wrk_round(url: str, headers: dict, seconds: float) -> dict:
    command = ["wrk", "-t", str(WRK_THREADS), "-c", str(CONNECTIONS), "-d", f"{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors:.*", output)
    return {
        "rate": rate,
        "p50_ms": _wrk_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),
        "p99_ms": _wrk_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": socket_errors.group(0) if socket_errors else None,
        "generator": "wrk",
    }


def _wrk_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()
    return round(float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit], 2)


def _python_round(url: str, headers: dict, seconds: float) -> dict:
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def loop() -> None:
        session = requests.Session()
        own = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = session.get(url, headers=headers, timeout=10)
            own.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(own)

    started = time.perf_counter()
    threads = [threading.Thread(target=loop) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "rate": len(latencies) / (time.perf_counter() - started),
        "p50_ms": round(latencies[len(latencies) // 2], 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)], 2),
        "errors": errors[0],
        "generator": "python threads",
    }


def measure_endpoint(url: str, headers: dict, rounds: harness.Rounds) -> dict:
    for _ in range(rounds.warmup):
        load_round(url, headers, rounds.seconds)
    results = [load_round(url, headers, rounds.seconds) for _ in range(rounds.repeats)]
    sample = harness.Sample([result["rate"] for result in results])
    summary = sample.as_dict()
    summary["p50_ms"] = sorted(result["p50_ms"] for result in results)[len(results) // 2]
    summary["p99_ms"] = sorted(result["p99_ms"] for result in results)[len(results) // 2]
    summary["errors"] = sum(result["errors"] for result in results)
    summary["generator"] = results[0]["generator"]
    return summary


def run(vhost: harness.Vhost, env: dict, processes: harness.Processes, rounds: harness.Rounds, token: str,
        work_dir, profile: bool) -> dict:
    """Measure the bare endpoint, then `me` through the gateway with the accounts service behind it."""
    bare_port = harness.free_port()
    bare = processes.start("bare-gunicorn", gunicorn_command("samen_devtools.bench.bare_app:create_app()", bare_port),
                           env)
    harness.wait_for_port(bare_port)
    bare_result = measure_endpoint(f"http://127.0.0.1:{bare_port}/bare", {}, rounds)
    processes.stop(bare)

    accounts = processes.start(
        "accounts", [str(harness.BIN / "nameko"), "run", "--config", "deploy/nameko.yaml", "samen_accounts.service"],
        env,
    )
    gateway_port = harness.free_port()
    gateway = processes.start("gateway-gunicorn", gunicorn_command("samen_gateway.app:create_app()", gateway_port), env)
    harness.wait_for_port(gateway_port)
    url = f"http://127.0.0.1:{gateway_port}/api/v1/me"
    headers = {"Authorization": f"Bearer {token}"}
    _wait_for_ok(url, headers)

    # At least one warm-up round, so every pool slot of the gateway is open before counting.
    for _ in range(max(1, rounds.warmup)):
        load_round(url, headers, rounds.seconds)
    connections_before = vhost.connection_count()
    load_started = time.time()
    timed = harness.Rounds(0, rounds.repeats, rounds.seconds)
    me_result = measure_endpoint(url, headers, timed)
    load_seconds = time.time() - load_started
    connections_after = vhost.connection_count()
    opened = _connections_opened_since(vhost, load_started)

    profile_result = None
    if profile and bare_result["median"] and me_result["median"] / bare_result["median"] < GOAL:
        profile_result = _profile_gateway(gateway.pid, url, headers, rounds, work_dir)
    processes.stop(gateway)
    processes.stop(accounts)
    return {
        "subject": me_result,
        "baseline": bare_result,
        "ratio": round(me_result["median"] / bare_result["median"], 3) if bare_result["median"] else None,
        "broker_connections": {
            "before": connections_before,
            "after": connections_after,
            "opened_during_load": opened,
            "opened_per_second": round(opened / load_seconds, 3),
        },
        "profile": profile_result,
    }


GOAL = 0.25


def _wait_for_ok(url: str, headers: dict, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            response = requests.get(url, headers=headers, timeout=10)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except requests.RequestException as exc:
            last = str(exc)
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not return 200 within {timeout} s: {last}")


def _connections_opened_since(vhost: harness.Vhost, since: float) -> int:
    """Count the vhost's open connections whose `connected_at` (ms) lies after `since` (s)."""
    response = requests.get(
        f"{harness.RABBIT_API}/api/vhosts/{vhost.name}/connections", auth=harness.RABBIT_AUTH, timeout=10,
        params={"columns": "connected_at"},
    )
    response.raise_for_status()
    return sum(1 for connection in response.json() if connection.get("connected_at", 0) / 1000 >= since)


def _profile_gateway(master_pid: int, url: str, headers: dict, rounds: harness.Rounds, work_dir) -> dict:
    """Record one gunicorn worker of the gateway with py-spy while wrk loads it."""
    children = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout.split()
    if not children:
        return {"error": "no gunicorn worker found"}
    seconds = max(3.0, rounds.seconds)
    load = threading.Thread(target=load_round, args=(url, headers, seconds + 1.5))
    load.start()
    time.sleep(0.5)
    result = harness.profile(int(children[0]), seconds, work_dir / "gateway.pyspy.txt")
    load.join()
    return result
