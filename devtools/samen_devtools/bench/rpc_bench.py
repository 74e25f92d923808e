"""RPC benchmarks: nameko against raw kombu, green threads waiting in PostgreSQL, scale-out.

Callers run as OS threads in the benchmark process, each with its own broker connection and
reply queue, which is how the gateway's request threads call services.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from samen_common import context as ctx_keys
from samen_devtools.bench import harness
from samen_devtools.bench.raw_rpc import Guarantees, RawCaller
from samen_gateway.rpc_pool import RpcPool

CALLERS = 20
DATABASE_CALLERS = 10
DATABASE_WAIT_MS = 10

# nameko 2.14.1 out of the box publishes requests and replies as persistent messages with
# publisher confirms. Samen's `rpc` and proxies publish both as transient messages, and only
# requests with confirms, which nameko needs to raise UnknownService for an unroutable call.
STOCK_GUARANTEES = Guarantees(True, True, True, True)
SAMEN_GUARANTEES = Guarantees(True, False, False, False)


def run_threads(callers: list, seconds: float) -> int:
    """Call every caller in a loop on its own thread for `seconds`; return the calls made."""
    deadline = time.perf_counter() + seconds
    counts = [0] * len(callers)

    def loop(index: int) -> None:
        call = callers[index]
        while time.perf_counter() < deadline:
            call()
            counts[index] += 1

    threads = [threading.Thread(target=loop, args=(index,)) for index in range(len(callers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)


def _context_data() -> dict:
    return {ctx_keys.REQUEST_ID: uuid.uuid4().hex, ctx_keys.LANGUAGE: "nl", ctx_keys.DEADLINE: time.time() + 10}


class RpcBench:
    """Starts services and servers on a private vhost and measures them."""

    def __init__(self, vhost: harness.Vhost, env: dict, processes: harness.Processes, rounds: harness.Rounds,
                 work_dir: Path):
        self.vhost = vhost
        self.env = env
        self.processes = processes
        self.rounds = rounds
        self.work_dir = work_dir
        self._clients: list = []

    # Servers.

    def start_service(self, target: str, replicas: int = 1, max_workers: int = 10) -> list:
        env = dict(self.env, SAMEN_MAX_WORKERS=str(max_workers))
        started = []
        for copy in range(replicas):
            started.append(self.processes.start(
                f"{target.rsplit(':', 1)[-1]}-{copy}",
                [str(harness.BIN / "nameko"), "run", "--config", "deploy/nameko.yaml",
                 f"samen_devtools.bench.services:{target}"],
                env,
            ))
        return started

    def start_raw_server(self, guarantees: Guarantees, prefetch: int = 10):
        command = [harness.PYTHON, "-m", "samen_devtools.bench.raw_rpc", "--amqp-uri", self.vhost.amqp_uri,
                   "--prefetch", str(prefetch)]
        if guarantees.reply_confirms:
            command.append("--reply-confirms")
        if guarantees.reply_persistent:
            command.append("--reply-persistent")
        return [self.processes.start("raw-server", command, self.env)]

    def stop(self, started: list) -> None:
        for client_close in self._clients:
            client_close()
        self._clients.clear()
        for process in started:
            self.processes.stop(process)

    # Callers.

    def stock_callers(self, count: int) -> list:
        callers = []
        for _ in range(count):
            proxy = ClusterRpcProxy({"AMQP_URI": self.vhost.amqp_uri}, timeout=10)
            cluster = proxy.start()
            self._clients.append(proxy.stop)
            callers.append(lambda cluster=cluster: cluster.bench_stock.echo(1))
        return callers

    def samen_callers(self, count: int, method: str = "echo", argument=1) -> list:
        pool = RpcPool({"AMQP_URI": self.vhost.amqp_uri, "serializer": "json"}, size=count, timeout=10)
        self._clients.append(pool.close)
        return [lambda: pool.call("bench", method, _context_data(), argument) for _ in range(count)]

    def raw_callers(self, count: int, guarantees: Guarantees) -> list:
        callers = []
        for _ in range(count):
            caller = RawCaller(self.vhost.amqp_uri, guarantees)
            self._clients.append(caller.close)
            callers.append(lambda caller=caller: caller.call(1))
        return callers

    def wait_until_answering(self, call, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                call()
                return
            except Exception:  # noqa: BLE001 - the service is still starting; any failure means retry
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def measure(self, callers: list) -> harness.Sample:
        return harness.measure(lambda seconds: run_threads(callers, seconds), self.rounds)

    def profile_under_load(self, pid: int, callers: list, name: str) -> dict:
        """Record the process `pid` with py-spy while `callers` keep it busy."""
        seconds = max(3.0, self.rounds.seconds)
        load = threading.Thread(target=run_threads, args=(callers, seconds + 1.5))
        load.start()
        time.sleep(0.5)
        result = harness.profile(pid, seconds, self.work_dir / f"{name}.pyspy.txt")
        load.join()
        return result

    # Benchmarks.

    def nameko_against_raw(self, label: str, target: str, guarantees: Guarantees, max_workers: int,
                           make_callers, profile: bool) -> dict:
        """Measure sequential and concurrent round trips of one nameko path and of its raw baseline."""
        raw = self.start_raw_server(guarantees, prefetch=max_workers)
        raw_one = self.raw_callers(1, guarantees)
        self.wait_until_answering(raw_one[0])
        raw_sequential = self.measure(raw_one)
        raw_concurrent = self.measure(self.raw_callers(CALLERS, guarantees))
        self.stop(raw)

        service = self.start_service(target, max_workers=max_workers)
        one = make_callers(1)
        self.wait_until_answering(one[0])
        sequential = self.measure(one)
        many = make_callers(CALLERS)
        concurrent = self.measure(many)
        profile_result = None
        if profile:
            profile_result = self.profile_under_load(service[0].pid, many, f"rpc-{label}")
        self.stop(service)
        return {
            "label": label,
            "max_workers": max_workers,
            "guarantees": guarantees.as_dict(),
            "sequential": _comparison(sequential, raw_sequential),
            "concurrent": _comparison(concurrent, raw_concurrent),
            "profile": profile_result,
        }

    def scale_out(self, max_workers: int) -> dict:
        """Measure 20 callers against one and against two processes of the Samen echo service."""
        results = {}
        for replicas in (1, 2):
            service = self.start_service("EchoService", replicas=replicas, max_workers=max_workers)
            callers = self.samen_callers(CALLERS)
            self.wait_until_answering(callers[0])
            if replicas == 2:
                # Both consumers must be attached before timing, or the first takes every request.
                _wait_for_consumers(self.vhost, "rpc-bench", 2)
            results[replicas] = self.measure(callers)
            self.stop(service)
        return _comparison(results[2], results[1])

    def database_wait(self, max_workers: int) -> dict:
        """Measure an RPC that waits DATABASE_WAIT_MS in PostgreSQL with 10 callers against 1."""
        harness.create_database(f"{harness.DATABASE_PREFIX}bench")
        service = self.start_service("EchoService", max_workers=max_workers)
        one = self.samen_callers(1, "wait_in_database", DATABASE_WAIT_MS)
        self.wait_until_answering(one[0])
        single = self.measure(one)
        many = self.samen_callers(DATABASE_CALLERS, "wait_in_database", DATABASE_WAIT_MS)
        concurrent = self.measure(many)
        result = _comparison(concurrent, single)
        result["wait_ms"] = DATABASE_WAIT_MS
        self.stop(service)
        return result


def _comparison(subject: harness.Sample, baseline: harness.Sample) -> dict:
    return {
        "subject": subject.as_dict(),
        "baseline": baseline.as_dict(),
        "ratio": round(subject.median / baseline.median, 3) if baseline.median else None,
    }


def _wait_for_consumers(vhost: harness.Vhost, queue: str, count: int, timeout: float = 30.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = requests.get(f"{harness.RABBIT_API}/api/queues/{vhost.name}/{queue}", auth=harness.RABBIT_AUTH,
                                timeout=5)
        if response.ok and response.json().get("consumers", 0) >= count:
            return
        time.sleep(0.5)
    raise RuntimeError(f"queue {queue} has fewer than {count} consumers after {timeout} s")
