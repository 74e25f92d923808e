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

# Frames that mark the stages of `GET /api/v1/me` in each process, for py-spy profiles.
ACCOUNTS_STAGES = {
    "reply publish": "Responder.send_response",
    "token verification": "verify_access_token",
    "children query": "children_of_guardian_with_groups",
    "account lookup": "account_profile",
    "session close": "worker_teardown",
    "worker: green thread, context, dependency hooks": "Container._run_worker",
    "AMQP read loop": "drain_events",
    "eventlet hub": "eventlet/hubs/",
}
GATEWAY_STAGES = {
    "RPC request publish with confirm": "Producer.publish",
    "RPC reply wait": "_Slot.call",
    "token verification": "verify_access_token",
    "Flask request handling": "Flask.wsgi_app",
    "gunicorn": "gunicorn/",
}
CONNECTIONS = 20
WRK_THREADS = 2


def gunicorn_command(app: str, port: int) -> list[str]:
    return [str(harness.BIN / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", app]


def load_round(url: str, headers: dict, seconds: float, connections: int = CONNECTIONS) -> dict:
    """Load `url` for `seconds`; return requests per second, p50 and p99 in milliseconds and errors."""
    if shutil.which("wrk"):
        return _wrk_round(url, headers, seconds, connections)
    return _python_round(url, headers, seconds, connections)


def _wrk_round(url: str, headers: dict, seconds: float, connections: int) -> dict:
    command = ["wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors:.*", output)
    return {
        "rate": rate,
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "p50_ms": _wrk_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),
        "p99_ms": _wrk_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": socket_errors.group(0) if socket_errors else None,
        "generator": "wrk",
    }


def _wrk_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()
    return round(float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit], 2)


def _python_round(url: str, headers: dict, seconds: float, connections: int) -> dict:
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
    threads = [threading.Thread(target=loop, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "rate": len(latencies) / (time.perf_counter() - started),
        "requests": len(latencies),
        "p50_ms": round(latencies[len(latencies) // 2], 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)], 2),
        "errors": errors[0],
        "generator": "python threads",
    }


class Endpoint:
    """One URL loaded in `measure_alternating`, with the processes whose CPU time it counts."""

    def __init__(self, url: str, headers: dict, cpu_pids: dict | None = None):
        self.url = url
        self.headers = headers
        self.cpu_pids = cpu_pids or {}
        self.results: list[dict] = []
        self.cpu_seconds = dict.fromkeys(self.cpu_pids, 0.0)
        self.seconds = 0.0

    def timed_round(self, seconds: float) -> None:
        before = {name: harness.cpu_seconds(pids) for name, pids in self.cpu_pids.items()}
        started = time.monotonic()
        self.results.append(load_round(self.url, self.headers, seconds))
        self.seconds += time.monotonic() - started
        for name, pids in self.cpu_pids.items():
            self.cpu_seconds[name] += harness.cpu_seconds(pids) - before[name]

    def summary(self) -> dict:
        return _summarise(self.results, self.cpu_seconds if self.cpu_pids else None)


def measure_alternating(endpoints: list[Endpoint], rounds: harness.Rounds) -> list[dict]:
    """Load the endpoints in turn, one round each per repeat, so drift in the machine's load hits all of them.

    The CPU time of each endpoint's processes is counted during its own rounds only.
    """
    for _ in range(rounds.warmup):
        for endpoint in endpoints:
            load_round(endpoint.url, endpoint.headers, rounds.seconds)
    for _ in range(rounds.repeats):
        for endpoint in endpoints:
            endpoint.timed_round(rounds.seconds)
    return [endpoint.summary() for endpoint in endpoints]


def _summarise(results: list[dict], cpu_seconds: dict | None) -> dict:
    requests_made = sum(result["requests"] for result in results)
    summary = harness.Sample([result["rate"] for result in results]).as_dict()
    summary["p50_ms"] = sorted(result["p50_ms"] for result in results)[len(results) // 2]
    summary["p99_ms"] = sorted(result["p99_ms"] for result in results)[len(results) // 2]
    summary["errors"] = sum(result["errors"] for result in results)
    summary["generator"] = results[0]["generator"]
    if cpu_seconds and requests_made:
        summary["cpu_ms_per_request"] = {
            name: round(seconds * 1000 / requests_made, 2) for name, seconds in cpu_seconds.items()
        }
    return summary


def measure_endpoint(url: str, headers: dict, rounds: harness.Rounds, cpu_pids: dict | None = None) -> dict:
    """Load `url` in rounds and summarise them.

    With `cpu_pids` ({name: [pid, ...]}) the summary also has the CPU time that each named group
    of processes spent per request in the timed rounds, in ms.
    """
    return measure_alternating([Endpoint(url, headers, cpu_pids)], rounds)[0]


def run(vhost: harness.Vhost, env: dict, processes: harness.Processes, rounds: harness.Rounds, token: str,
        work_dir, profile: bool) -> dict:
    """Measure the bare endpoint and `me` through the gateway with the accounts service behind it, in alternating rounds."""
    bare_port = harness.free_port()
    bare = processes.start("bare-gunicorn", gunicorn_command("samen_devtools.bench.bare_app:create_app()", bare_port),
                           env)
    accounts = processes.start(
        "accounts", [str(harness.BIN / "nameko"), "run", "--config", "deploy/nameko.yaml", "samen_accounts.service"],
        env,
    )
    gateway_port = harness.free_port()
    gateway = processes.start("gateway-gunicorn", gunicorn_command("samen_gateway.app:create_app()", gateway_port), env)
    harness.wait_for_port(bare_port)
    harness.wait_for_port(gateway_port)
    url = f"http://127.0.0.1:{gateway_port}/api/v1/me"
    headers = {"Authorization": f"Bearer {token}"}
    _wait_for_ok(url, headers)

    # The gateway opens RPC pool slots and kombu publisher connections lazily, up to the number of
    # requests one worker serves at once. A warm-up with twice the connections of the timed rounds
    # keeps every thread of every worker busy, so the pools are full before counting starts.
    for _ in range(max(1, rounds.warmup)):
        load_round(url, headers, max(2.0, rounds.seconds), connections=2 * CONNECTIONS)
    workers = harness.child_pids(gateway.pid)
    bare_endpoint = Endpoint(f"http://127.0.0.1:{bare_port}/bare", {},
                             {"gunicorn workers": harness.child_pids(bare.pid)})
    me_endpoint = Endpoint(url, headers, {"gateway workers": workers, "accounts service": [accounts.pid],
                                          **shared_server_pids()})
    names_before = vhost.connection_names()
    watch = harness.AmqpSocketWatch(workers).start()
    bare_result, me_result = measure_alternating([bare_endpoint, me_endpoint], rounds)
    # The gateway is idle during the bare endpoint's rounds, so its load lasted its own rounds.
    load_seconds = me_endpoint.seconds
    sockets = watch.stop()
    names_after = vhost.connection_names()
    processes.stop(bare)

    profile_result = None
    if profile and bare_result["median"] and me_result["median"] / bare_result["median"] < GOAL:
        profile_result = _profile_gateway(gateway.pid, accounts.pid, url, headers, rounds, work_dir)
    processes.stop(gateway)
    processes.stop(accounts)
    return {
        "subject": me_result,
        "baseline": bare_result,
        "ratio": round(me_result["median"] / bare_result["median"], 3) if bare_result["median"] else None,
        "broker_connections": {
            # The management API's view of the vhost (every process on it, listed with a delay).
            "before": len(names_before),
            "after": len(names_after),
            # The gateway workers' own AMQP sockets, read from /proc during the timed rounds.
            "method": "gateway workers' AMQP sockets read from /proc",
            "load_seconds": round(load_seconds, 1),
            "sockets": sockets,
            "opened_during_load": sockets["opened"],
            "closed_during_load": sockets["closed"],
            "opened_per_second": round(sockets["opened"] / load_seconds, 3),
        },
        "profile": profile_result,
    }


GOAL = 0.25


def shared_server_pids() -> dict[str, list[int]]:
    """Return the processes of RabbitMQ and PostgreSQL on this machine, to count their CPU time too.

    They serve everything on the machine, so their CPU time per request includes whatever else ran
    meanwhile. The benchmark runs nothing else during the timed rounds.
    """
    def pids(pattern: str) -> list[int]:
        output = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
        return [int(pid) for pid in output.split()]

    return {"RabbitMQ": pids("beam.smp"), "PostgreSQL": pids("^postgres")}


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


def _profile_gateway(master_pid: int, accounts_pid: int, url: str, headers: dict, rounds: harness.Rounds,
                     work_dir) -> dict:
    """Record one gunicorn worker of the gateway and the accounts service with py-spy under load."""
    children = harness.child_pids(master_pid)
    if not children:
        return {"error": "no gunicorn worker found"}
    seconds = max(3.0, rounds.seconds)
    targets = {"gateway": (children[0], work_dir / "gateway.pyspy.txt", GATEWAY_STAGES),
               "accounts": (accounts_pid, work_dir / "accounts.pyspy.txt", ACCOUNTS_STAGES)}
    results: dict = {}

    def record(name: str) -> None:
        pid, path, stages = targets[name]
        results[name] = harness.profile(pid, seconds, path, stages=stages)

    load = threading.Thread(target=load_round, args=(url, headers, seconds + 1.5), daemon=True)
    recorders = [threading.Thread(target=record, args=(name,), daemon=True) for name in targets]
    load.start()
    time.sleep(0.5)
    for recorder in recorders:
        recorder.start()
    for recorder in recorders:
        recorder.join()
    load.join()
    return results
