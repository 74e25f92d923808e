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

# Frames that mark the stages of an RPC in a nameko 2.14.1 service, for py-spy profiles.
SERVICE_STAGES = {
    "reply publish": ("Responder.send_response", "SamenRpcConsumer._send_reply"),
    "the method itself": "EchoService.echo",
    "worker: green thread, context, dependency hooks": "Container._run_worker",
    "deadline check and dispatch": "handle_message",
    "AMQP read loop": "drain_events",
    "eventlet hub": "eventlet/hubs/",
}
CALLERS = 20
# py-spy samples per second and seconds per recording. With 20 callers on the 2 cores of the
# machine behind docs/benchmarks.md, 6 s gave about 230 samples (py-spy counts no sample of a
# thread waiting in a system call and gets little CPU time itself), so 10 s gives some 400.
# Fewer than PROFILE_MIN_SAMPLES mean that the service sat idle.
PROFILE_RATE = 100
PROFILE_SECONDS = 10.0
PROFILE_MIN_SAMPLES = 200
DATABASE_CALLERS = 10
DATABASE_WAIT_MS = 10

# nameko 2.14.1 out of the box publishes requests and replies as persistent messages with
# publisher confirms. Samen's `rpc` and proxies publish both as transient messages, and only
# requests with confirms, which nameko needs to raise UnknownService for an unroutable call.
STOCK_GUARANTEES = Guarantees(True, True, True, True)
# The gateway's RPC slots consume replies without acknowledgements (samen_gateway.rpc_pool).
SAMEN_GUARANTEES = Guarantees(True, False, False, False, reply_acks=False)


def run_threads(callers: list, seconds: float) -> int:
    """Call every caller in a loop on its own thread for `seconds`; return the calls made."""
    deadline = time.perf_counter() + seconds
    counts = [0] * len(callers)

    def loop(index: int) -> None:
        call = callers[index]
        while time.perf_counter() < deadline:
            call()
            counts[index] += 1

    threads = [threading.Thread(target=loop, args=(index,), daemon=True) for index in range(len(callers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)


class _Load:
    """Callers looping on threads of their own until `stop()`, counting completed and failed calls.

    A failed call is counted and the loop goes on, so one error does not end the load.
    """

    def __init__(self, callers: list):
        self.calls = 0
        self.errors = 0
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._loop, args=(call,), daemon=True) for call in callers]

    def _loop(self, call) -> None:
        while not self._stopped.is_set():
            try:
                call()
            except Exception:  # noqa: BLE001 - a failed call is counted and reported, and the load goes on
                with self._lock:
                    self.errors += 1
                continue
            with self._lock:
                self.calls += 1

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopped.set()
        for thread in self._threads:
            thread.join()


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
        if target.startswith("Stock"):
            # Out of the box: nameko's own container in place of samen_common.container's.
            env["SAMEN_SERVICE_CONTAINER_CLS"] = "nameko.containers.ServiceContainer"
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

    def samen_callers(self, count: int, method: str = "echo", argument=1, service: str = "bench") -> list:
        pool = RpcPool({"AMQP_URI": self.vhost.amqp_uri, "serializer": "json"}, size=count, timeout=10)
        self._clients.append(pool.close)
        return [lambda: pool.call(service, method, _context_data(), argument) for _ in range(count)]

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
        """Record the process `pid` with py-spy while `callers` keep it busy.

        The result also holds the calls completed and failed and the CPU time of `pid` during
        the recording. A recording with fewer than PROFILE_MIN_SAMPLES samples is tried once more
        and then reported as an error with those figures, because it cannot show where the time goes.
        """
        seconds = max(PROFILE_SECONDS, self.rounds.seconds)
        result: dict = {}
        for _ in range(2):
            load = _Load(callers)
            load.start()
            time.sleep(0.5)
            calls_before, errors_before = load.calls, load.errors
            cpu_before = harness.cpu_seconds([pid])
            result = harness.profile(pid, seconds, self.work_dir / f"{name}.pyspy.txt", stages=SERVICE_STAGES,
                                     rate=PROFILE_RATE)
            result["calls"] = load.calls - calls_before
            result["failed_calls"] = load.errors - errors_before
            result["cpu_seconds"] = round(harness.cpu_seconds([pid]) - cpu_before, 2)
            result["seconds"] = seconds
            result["rate"] = PROFILE_RATE
            load.stop()
            if result.get("samples", 0) >= PROFILE_MIN_SAMPLES:
                return result
        if "error" not in result:
            result["error"] = (
                f"py-spy recorded {result.get('samples', 0)} samples in {seconds:.0f} s, fewer than "
                f"{PROFILE_MIN_SAMPLES}, while the callers completed {result['calls']} calls, "
                f"{result['failed_calls']} failed, and the process used {result['cpu_seconds']} s of CPU time"
            )
        return result

    # Benchmarks.

    def measure_pair(self, subject: list, baseline: list) -> tuple[harness.Sample, harness.Sample, list[float]]:
        """Measure `subject` and `baseline` callers in alternating rounds, and return both and the ratio per pair.

        Load from other processes on a shared machine drifts within seconds. Alternating the rounds
        exposes both sides to the same drift, and the spread of the ratios per pair shows what is left.
        """
        run_subject = lambda seconds: run_threads(subject, seconds)  # noqa: E731
        run_baseline = lambda seconds: run_threads(baseline, seconds)  # noqa: E731
        for _ in range(self.rounds.warmup):
            run_baseline(self.rounds.seconds)
            run_subject(self.rounds.seconds)
        one_round = harness.Rounds(0, 1, self.rounds.seconds)
        subject_rates, baseline_rates, ratios = [], [], []
        for _ in range(self.rounds.repeats):
            baseline_rate = harness.measure(run_baseline, one_round).rates[0]
            subject_rate = harness.measure(run_subject, one_round).rates[0]
            baseline_rates.append(baseline_rate)
            subject_rates.append(subject_rate)
            ratios.append(subject_rate / baseline_rate if baseline_rate else 0.0)
        return harness.Sample(subject_rates), harness.Sample(baseline_rates), ratios

    def nameko_against_raw(self, label: str, target: str, guarantees: Guarantees, max_workers: int,
                           make_callers, profile: bool) -> dict:
        """Measure sequential and concurrent round trips of one nameko path and of its raw baseline.

        The raw server and the nameko service run side by side (each idle while the other is
        measured), so their rounds can alternate.
        """
        raw = self.start_raw_server(guarantees, prefetch=max_workers)
        service = self.start_service(target, max_workers=max_workers)
        raw_one = self.raw_callers(1, guarantees)
        one = make_callers(1)
        self.wait_until_answering(raw_one[0])
        self.wait_until_answering(one[0])

        sequential = _paired_comparison(*self.measure_pair(one, raw_one))
        many = make_callers(CALLERS)
        raw_many = self.raw_callers(CALLERS, guarantees)
        concurrent = _paired_comparison(*self.measure_pair(many, raw_many))
        # The server's own CPU time per call, one round each with the 20 callers: the part of a
        # round trip that the nameko service and the raw server do differently.
        concurrent["server_cpu_ms_per_call"] = {
            "nameko service": _cpu_ms_per_call(service[0].pid, many, self.rounds.seconds),
            "raw kombu server": _cpu_ms_per_call(raw[0].pid, raw_many, self.rounds.seconds),
        }
        profile_result = None
        if profile:
            profile_result = self.profile_under_load(service[0].pid, many, f"rpc-{label}")
        self.stop(service + raw)
        return {
            "label": label,
            "max_workers": max_workers,
            "guarantees": guarantees.as_dict(),
            "sequential": sequential,
            "concurrent": concurrent,
            "profile": profile_result,
        }

    def scale_out(self, max_workers: int) -> dict:
        """Measure 20 callers against two processes of the Samen echo service and against one.

        Both deployments listen at once on queues of their own (services `bench` and
        `bench_scaled`), so their rounds alternate like the RPC comparison.
        """
        single = self.start_service("EchoService", max_workers=max_workers)
        pair = self.start_service("ScaledEchoService", replicas=2, max_workers=max_workers)
        single_callers = self.samen_callers(CALLERS)
        pair_callers = self.samen_callers(CALLERS, service="bench_scaled")
        self.wait_until_answering(single_callers[0])
        self.wait_until_answering(pair_callers[0])
        # Both consumers must be attached before timing, or the first takes every request.
        _wait_for_consumers(self.vhost, "rpc-bench_scaled", 2)
        result = _paired_comparison(*self.measure_pair(pair_callers, single_callers))
        self.stop(single + pair)
        return result

    def database_wait(self, max_workers: int) -> dict:
        """Measure an RPC that waits DATABASE_WAIT_MS in PostgreSQL with 10 callers against 1.

        Two checks explain a low ratio. `concurrent_sleep_seconds` times 10 concurrent calls that
        each sleep 0.2 s in PostgreSQL: about 0.2 s means a waiting query lets the other green
        threads run, about 2 s means it blocks the service. `echo_concurrent` is the echo RPC
        with the same 10 callers, the most the RPC path carries without any database work.
        """
        harness.create_database(f"{harness.DATABASE_PREFIX}bench")
        service = self.start_service("EchoService", max_workers=max_workers)
        one = self.samen_callers(1, "wait_in_database", DATABASE_WAIT_MS)
        self.wait_until_answering(one[0])

        sleepers = self.samen_callers(DATABASE_CALLERS, "wait_in_database", 200)
        # The first pass opens the pool slots and database connections, and the second is timed.
        for _ in range(2):
            started = time.perf_counter()
            threads = [threading.Thread(target=call, daemon=True) for call in sleepers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            concurrent_sleep = time.perf_counter() - started

        many = self.samen_callers(DATABASE_CALLERS, "wait_in_database", DATABASE_WAIT_MS)
        subject, baseline, ratios = self.measure_pair(many, one)
        result = _paired_comparison(subject, baseline, ratios)
        result["wait_ms"] = DATABASE_WAIT_MS
        result["concurrent_sleep_seconds"] = round(concurrent_sleep, 2)
        echo_callers = self.samen_callers(DATABASE_CALLERS)
        echo = self.measure(echo_callers)
        result["echo_concurrent"] = echo.as_dict()
        result["echo_ratio"] = round(echo.median / baseline.median, 2) if baseline.median else None
        idle_before, total_before = harness.machine_ticks()
        wait_cpu = _cpu_ms_per_call(service[0].pid, many, self.rounds.seconds)
        idle_after, total_after = harness.machine_ticks()
        result["service_cpu_ms_per_call"] = {
            "wait_in_database": wait_cpu,
            "echo": _cpu_ms_per_call(service[0].pid, echo_callers, self.rounds.seconds),
        }
        # The share of the machine's CPU time left idle while ten callers ran `wait_in_database`.
        result["machine_idle_share"] = round((idle_after - idle_before) / max(1, total_after - total_before), 3)
        self.stop(service)
        return result


def _cpu_ms_per_call(pid: int, callers: list, seconds: float) -> float:
    """Run `callers` for one round of `seconds` and return the CPU time process `pid` spent per call, in ms."""
    before = harness.cpu_seconds([pid])
    calls = run_threads(callers, seconds)
    return round((harness.cpu_seconds([pid]) - before) * 1000 / calls, 2) if calls else 0.0


def _paired_comparison(subject: harness.Sample, baseline: harness.Sample, ratios: list[float]) -> dict:
    """Compare alternating rounds: the ratio is the median of the ratios per pair of rounds."""
    result = _comparison(subject, baseline)
    ratio_sample = harness.Sample(ratios)
    result["ratio"] = round(ratio_sample.median, 3)
    result["ratio_spread"] = round(ratio_sample.spread, 3)
    result["ratio_rounds"] = [round(ratio, 3) for ratio in ratios]
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
