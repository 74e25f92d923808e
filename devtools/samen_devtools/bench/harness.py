"""Shared pieces of the benchmarks: timing statistics, the machine, a private vhost and
databases, child processes and py-spy profiles."""

from __future__ import annotations

import collections
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[3]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
RABBIT_API = os.environ.get("SAMEN_RABBIT_API_URI", "http://127.0.0.1:15672")
RABBIT_AUTH = ("guest", "guest")
POSTGRES_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DATABASE_PREFIX = "samen_bench_"


@dataclass
class Rounds:
    """How many untimed and timed rounds each measurement runs, and how long a round lasts."""

    warmup: int
    repeats: int
    seconds: float


@dataclass
class Sample:
    """Rates of the timed rounds of one measurement, in operations per second."""

    rates: list[float]
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    @property
    def spread(self) -> float:
        """Half the range of the rounds relative to the median, as a fraction."""
        if self.median == 0:
            return 0.0
        return (max(self.rates) - min(self.rates)) / 2 / self.median

    def as_dict(self) -> dict:
        return {
            "median": round(self.median, 1),
            "min": round(min(self.rates), 1),
            "max": round(max(self.rates), 1),
            "spread": round(self.spread, 3),
            "rounds": [round(rate, 1) for rate in self.rates],
            **self.extra,
        }


def measure(run_round, rounds: Rounds) -> Sample:
    """Run `run_round(seconds)` (which returns an operation count) warm-up and timed rounds."""
    for _ in range(rounds.warmup):
        run_round(rounds.seconds)
    rates = []
    for _ in range(rounds.repeats):
        started = time.perf_counter()
        count = run_round(rounds.seconds)
        rates.append(count / (time.perf_counter() - started))
    return Sample(rates)


def machine() -> dict:
    """Describe the CPU, memory and software versions that a result was measured with."""
    cpu_model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu_model": cpu_model,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions(),
    }


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("nameko", "eventlet", "kombu", "amqp", "SQLAlchemy", "psycopg", "Flask", "gunicorn"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    found["rabbitmq"] = _rabbitmq_version()
    found["postgresql"] = _postgres_version()
    found["wrk"] = _tool_version(["wrk", "--version"])
    found["py-spy"] = _tool_version([str(BIN / "py-spy"), "--version"])
    return found


def _rabbitmq_version() -> str | None:
    try:
        return requests.get(f"{RABBIT_API}/api/overview", auth=RABBIT_AUTH, timeout=5).json().get("rabbitmq_version")
    except (requests.RequestException, ValueError):
        return None


def _postgres_version() -> str | None:
    try:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        return None


def _tool_version(command: list[str]) -> str | None:
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (output.stdout + output.stderr).strip().splitlines()
    return text[0] if text else None


class Vhost:
    """A RabbitMQ vhost of its own for one benchmark run, deleted at the end."""

    def __init__(self):
        self.name = f"{DATABASE_PREFIX}{uuid.uuid4().hex[:8]}"
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:5672/{self.name}"

    def __enter__(self) -> "Vhost":
        requests.put(f"{RABBIT_API}/api/vhosts/{self.name}", auth=RABBIT_AUTH, timeout=10).raise_for_status()
        requests.put(
            f"{RABBIT_API}/api/permissions/{self.name}/guest",
            json={"configure": ".*", "write": ".*", "read": ".*"},
            auth=RABBIT_AUTH,
            timeout=10,
        ).raise_for_status()
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            requests.delete(f"{RABBIT_API}/api/vhosts/{self.name}", auth=RABBIT_AUTH, timeout=10)
        except requests.RequestException:
            pass

    def connection_names(self) -> set[str]:
        """Return the names (client and server address) of the open AMQP connections on this vhost."""
        response = requests.get(
            f"{RABBIT_API}/api/vhosts/{self.name}/connections", auth=RABBIT_AUTH, timeout=10,
            params={"columns": "name"},
        )
        response.raise_for_status()
        return {connection["name"] for connection in response.json()}

    def connection_count(self) -> int:
        """Return the number of open AMQP connections on this vhost (from the management API)."""
        return len(self.connection_names())


def create_database(name: str) -> None:
    """Create the empty database `name` (prefixed samen_bench_), dropping an old copy first."""
    assert name.startswith(DATABASE_PREFIX), name
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_bench_databases() -> list[str]:
    """Drop every database whose name starts with samen_bench_ and return their names.

    A run's databases (the echo service's, the gateway's accounts data and those of the scripts
    under bench/) take more than 1 GB after a full run, so they go when the run ends. Two runs at
    the same time would drop each other's databases.
    """
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        names = [row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (DATABASE_PREFIX.replace("_", r"\_") + "%",)
        )]
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return names


class AmqpSocketWatch:
    """Count the TCP connections to the AMQP port that processes open and close, from /proc.

    A thread reads the processes' socket inodes every `interval` seconds and keeps those whose
    remote port is `port`. The management API lists a new connection only seconds later, so it
    cannot count connections opened during a few seconds of load. A connection that opens and
    closes between two readings is missed, so the interval stays short.
    """

    def __init__(self, pids: list[int], port: int = 5672, interval: float = 0.05):
        self.pids = list(pids)
        self.port = port
        self.interval = interval
        self.initial: set[int] = set()
        self.seen: set[int] = set()
        self.final: set[int] = set()
        self.readings = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "AmqpSocketWatch":
        self.initial = self._read()
        self.seen = set(self.initial)
        self._thread.start()
        return self

    def stop(self) -> dict:
        """Stop reading and return the counts: open at start and end, opened and closed meanwhile."""
        self._stop.set()
        self._thread.join()
        self.final = self._read()
        self.seen |= self.final
        return {
            "open_at_start": len(self.initial),
            "open_at_end": len(self.final),
            "opened": len(self.seen - self.initial),
            "closed": len(self.seen - self.final),
            "readings": self.readings,
            "interval_seconds": self.interval,
        }

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.seen |= self._read()
            self.readings += 1

    def _read(self) -> set[int]:
        inodes: set[int] = set()
        remote: dict[int, int] = {}
        for pid in self.pids:
            try:
                descriptors = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for descriptor in descriptors:
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{descriptor}")
                except OSError:
                    # Closed since the listing, like the descriptor of the listing itself.
                    continue
                if link.startswith("socket:["):
                    inodes.add(int(link[8:-1]))
            if not remote:
                remote = _tcp_remote_ports(pid)
        return {inode for inode in inodes if remote.get(inode) == self.port}


def _tcp_remote_ports(pid: int) -> dict[int, int]:
    """Return {socket inode: remote port} of the TCP sockets in the network namespace of `pid`."""
    ports: dict[int, int] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9:
                ports[int(fields[9])] = int(fields[2].rsplit(":", 1)[1], 16)
    return ports


def base_environment(vhost: Vhost, data_dir: Path) -> dict[str, str]:
    """Return the environment of every process a benchmark starts."""
    env = dict(os.environ)
    for key in [name for name in env if name.endswith("_DATABASE_URL")]:
        env.pop(key)
    env.update(
        {
            "SAMEN_ENV": "test",
            "SAMEN_AMQP_URI": vhost.amqp_uri,
            "SAMEN_DATABASE_PREFIX": DATABASE_PREFIX,
            "SAMEN_DATA_DIR": str(data_dir),
            "SAMEN_LOG_LEVEL": "WARNING",
            "SAMEN_LOG_FORMAT": "json",
            "PATH": f"{BIN}:{env.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join(
                str(ROOT / part) for part in ("common", "services/accounts", "gateway", "devtools")
            ),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop_group(process: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a process started in a session of its own, and its children, with SIGTERM, then SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Processes:
    """Child processes of one benchmark, each in its own process group, stopped by pid."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        stop_group(process)
        if process in self.started:
            self.started.remove(process)

    def stop_all(self) -> None:
        for process in list(reversed(self.started)):
            self.stop(process)


def cpu_seconds(pids: list[int]) -> float:
    """Return the CPU time (user plus system) that the processes `pids` have used so far, in seconds."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime and stime are fields 14 and 15 of /proc/<pid>/stat, counted from 1 and including
        # the pid and the command name that precede the closing bracket.
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """Return the machine's (idle, total) CPU ticks so far, from the first line of /proc/stat."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return values[3] + values[4], sum(values)


def child_pids(pid: int) -> list[int]:
    output = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(child) for child in output.split()]


def profile(pid: int, seconds: float, out_path: Path, top: int = 8, stages: dict[str, str] | None = None,
            rate: int = 100) -> dict:
    """Sample `pid` with `py-spy record` at `rate` samples per second for `seconds` and return the busiest functions.

    Returns the share of samples in which each function is the innermost frame ("self") and
    the collapsed stacks file for a closer look. `stages` maps a label to a text (or a tuple of texts) that
    marks a frame of that stage. Each sample counts for the first stage whose text occurs in its stack.
    Only samples of the thread that holds the GIL count (`--gil`): Python code running, not
    a gunicorn thread waiting for a request or an eventlet hub waiting in epoll, which py-spy's
    own idle detection counted as busy. An idle process yields few samples, so call it while
    the process is under load.
    """
    command = [
        str(BIN / "py-spy"), "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
        "--rate", str(rate), "--format", "raw", "--output", str(out_path), "--gil",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not out_path.exists():
        return {"error": (result.stderr or result.stdout).strip()[-300:]}
    own = collections.Counter()
    per_stage = collections.Counter()
    total = 0
    for line in out_path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        leaf = stack.split(";")[-1]
        own[_short_frame(leaf)] += int(count)
        stage = next((label for label, markers in (stages or {}).items() if _contains_any(stack, markers)), "other")
        per_stage[stage] += int(count)
    if not total:
        return {"error": "py-spy recorded no samples"}
    busiest = [{"function": name, "share": round(count / total, 3)} for name, count in own.most_common(top)]
    result = {"samples": total, "self_time": busiest, "stacks": str(out_path)}
    if stages:
        result["stages"] = {label: round(per_stage[label] / total, 3) for label in [*stages, "other"]}
    return result


def _contains_any(stack: str, markers: str | tuple[str, ...]) -> bool:
    return any(marker in stack for marker in ((markers,) if isinstance(markers, str) else markers))


def _short_frame(frame: str) -> str:
    # py-spy writes frames as "function (path/to/module.py:line)".
    match = re.match(r"(.*) \((.*):(\d+)\)$", frame)
    if not match:
        return frame
    name, path, line = match.groups()
    path = re.sub(r".*site-packages/", "", path)
    path = re.sub(r".*/lib/python3\.\d+/", "", path)
    return f"{name} ({path}:{line})"
