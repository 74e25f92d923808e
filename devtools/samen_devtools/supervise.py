"""Run the processes of a Procfile, restart those that exit, and stop them all on a signal.

    python -m samen_devtools.supervise deploy/Procfile [--replicas media=2] [--env-file FILE]

A Procfile line is `name: command`. Blank lines and lines starting with `#` are skipped. The
command is split like a shell would split it, then `${VAR}` and `${VAR:-default}` are expanded
from the environment. No shell runs the command, so pipes, `&&` and a bare `$VAR` do not work.

Children run in the current directory, each in its own process group, with their output prefixed
by `name.copy`. A child that exits while the supervisor runs is restarted after a delay of 0.5 s
that doubles on every exit up to 10 s, and returns to 0.5 s once a child has run for 30 s.
SIGINT or SIGTERM sends SIGTERM to every child, waits up to `--stop-timeout` seconds (default 15)
and then sends SIGKILL. A second signal during that wait sends SIGKILL at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Mapping

log = logging.getLogger("samen_devtools.supervise")

INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 10.0
STABLE_RUNTIME = 30.0
DEFAULT_STOP_TIMEOUT = 15.0
POLL_INTERVAL = 0.1

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_output_lock = threading.Lock()


class ConfigError(Exception):
    """The Procfile, an option or the env file is invalid."""


@dataclass(frozen=True)
class ProcessSpec:
    """One named Procfile line, with its command already split and expanded."""

    name: str
    argv: list[str]


@dataclass
class Child:
    """One running copy of a Procfile process and its restart state."""

    spec: ProcessSpec
    copy: int
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = INITIAL_BACKOFF
    restart_at: float | None = None
    reader: threading.Thread | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.spec.name}.{self.copy}"


def expand_variables(text: str, environ: Mapping[str, str]) -> str:
    """Expand `${VAR}` and `${VAR:-default}` in `text` as a POSIX shell does.

    The default applies when VAR is unset or empty. `${VAR}` without a default raises
    ConfigError when VAR is unset, so that a missing setting fails before anything starts.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        default = match.group("default")
        value = environ.get(name)
        if default is not None:
            return value if value else default
        if value is None:
            raise ConfigError(f"environment variable {name} is not set (used as ${{{name}}})")
        return value

    return _VARIABLE.sub(replace, text)


def parse_procfile(text: str, environ: Mapping[str, str]) -> list[ProcessSpec]:
    specs: list[ProcessSpec] = []
    seen: set[str] = set()

    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue

        name, separator, command = line.partition(":")
        name = name.strip()
        if not separator or not re.fullmatch(r"[A-Za-z0-9_-]+", name) or not command.strip():
            raise ConfigError(f"Procfile line {number} is invalid, expected 'name: command': {raw_line!r}")
        if name in seen:
            raise ConfigError(f"Procfile line {number} repeats the process name {name!r}")
        seen.add(name)

        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise ConfigError(f"Procfile line {number} cannot be split: {exc}") from exc
        argv = [expand_variables(word, environ) for word in words]
        specs.append(ProcessSpec(name=name, argv=argv))

    if not specs:
        raise ConfigError("the Procfile names no process")
    return specs


def parse_env_file(text: str) -> dict[str, str]:
    """Parse `KEY=VALUE` lines. Blank lines, `#` comments and an `export ` prefix are allowed.

    A value in single or double quotes loses the quotes. Nothing inside a value is expanded.
    """
    values: dict[str, str] = {}

    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()

        key, separator, value = line.partition("=")
        key = key.strip()
        if not separator or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(f"env file line {number} is invalid, expected KEY=VALUE: {raw_line!r}")

        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value

    return values


def parse_replicas(items: list[str], specs: list[ProcessSpec]) -> dict[str, int]:
    """Return the number of copies per process name from `name=N` items (default 1)."""
    counts = {spec.name: 1 for spec in specs}

    for item in items:
        name, separator, number = item.partition("=")
        if not separator or not number.strip().isdigit():
            raise ConfigError(f"invalid --replicas value {item!r}, expected name=N such as media=2")
        if name not in counts:
            raise ConfigError(
                f"--replicas names {name!r}, which is not in the Procfile ({', '.join(counts)})"
            )
        counts[name] = int(number)

    return counts


def next_backoff(current: float, runtime: float) -> tuple[float, float]:
    """Return the restart delay for a child that ran `runtime` seconds, and the next backoff."""
    if runtime >= STABLE_RUNTIME:
        current = INITIAL_BACKOFF
    return current, min(current * 2, MAX_BACKOFF)


def child_environment(base: Mapping[str, str]) -> dict[str, str]:
    """Build the environment of the children.

    The folder of this Python interpreter goes first on PATH, so that `nameko` and `gunicorn`
    from the same virtualenv are found without activating it. Output is unbuffered so that lines
    show up as they are written.
    """
    environ = dict(base)
    bin_dir = str(Path(sys.executable).parent)
    path = environ.get("PATH", os.defpath)
    if bin_dir not in path.split(os.pathsep):
        environ["PATH"] = bin_dir + os.pathsep + path
    environ.setdefault("PYTHONUNBUFFERED", "1")
    return environ


def check_executables(specs: list[ProcessSpec], environ: Mapping[str, str]) -> None:
    for spec in specs:
        program = spec.argv[0]
        if shutil.which(program, path=environ.get("PATH")) is None:
            raise ConfigError(
                f"{spec.name}: program {program!r} not found on PATH "
                "(install the project with 'pip install -e .' in the active virtualenv)"
            )


def write_line(label: str, text: str, width: int, stream: IO[str] | None = None) -> None:
    stream = stream or sys.stdout
    with _output_lock:
        stream.write(f"{label:<{width}} | {text}\n")
        stream.flush()


class _PrefixedHandler(logging.Handler):
    """Logging handler that writes the supervisor's own lines in the children's format."""

    def __init__(self, width_source: "Supervisor") -> None:
        super().__init__()
        self.width_source = width_source

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_line("supervise", self.format(record), self.width_source.label_width)
        except Exception:
            self.handleError(record)


class Supervisor:
    def __init__(
        self,
        specs: list[ProcessSpec],
        replicas: Mapping[str, int],
        environ: Mapping[str, str],
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
        watch_pid: int | None = None,
    ) -> None:
        self.environ = dict(environ)
        self.stop_timeout = stop_timeout
        self.watch_pid = watch_pid
        self.children = [
            Child(spec=spec, copy=copy)
            for spec in specs
            for copy in range(1, replicas.get(spec.name, 1) + 1)
        ]
        labels = [child.label for child in self.children] + ["supervise"]
        self.label_width = max(len(label) for label in labels)
        self.signals_received = 0
        self._wakeup = threading.Event()

    def handle_signal(self, signum: int, frame: object) -> None:
        self.signals_received += 1
        self._wakeup.set()

    def run(self) -> int:
        for child in self.children:
            self._start(child)

        while not self.signals_received:
            self._reap_and_restart()
            if self.watch_pid is not None and not _alive(self.watch_pid):
                log.info("process %d is gone; stopping", self.watch_pid)
                break
            self._wakeup.wait(POLL_INTERVAL)

        self._stop_all()
        return 0

    def _start(self, child: Child) -> None:
        child.restart_at = None
        child.started_at = time.monotonic()
        environ = dict(self.environ, SAMEN_PROCESS_NAME=child.label)

        try:
            child.process = subprocess.Popen(
                child.spec.argv,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                # A process group of its own keeps the terminal's Ctrl-C away from the child.
                # NOTE: children outlive a supervisor that is killed with SIGKILL.
                process_group=0,
            )
        except OSError as exc:
            child.process = None
            delay, child.backoff = next_backoff(child.backoff, 0.0)
            child.restart_at = time.monotonic() + delay
            log.error("failed to start %s: %s, retrying in %.1f s", child.label, exc, delay)
            return

        child.reader = threading.Thread(
            target=self._copy_output, args=(child, child.process), daemon=True
        )
        child.reader.start()
        log.info("started %s (pid %d): %s", child.label, child.process.pid, shlex.join(child.spec.argv))

    def _copy_output(self, child: Child, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            write_line(child.label, text, self.label_width)

    def _reap_and_restart(self) -> None:
        now = time.monotonic()

        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                runtime = now - child.started_at
                delay, child.backoff = next_backoff(child.backoff, runtime)
                log.warning(
                    "%s (pid %d) exited with %s after %.1f s, restarting in %.1f s",
                    child.label,
                    child.process.pid,
                    describe_returncode(child.process.returncode),
                    runtime,
                    delay,
                )
                self._join_reader(child)
                child.process = None
                child.restart_at = now + delay

            if child.process is None and child.restart_at is not None and now >= child.restart_at:
                log.info("restarting %s", child.label)
                self._start(child)

    def _join_reader(self, child: Child) -> None:
        # A grandchild that inherited the pipe can keep it open, so the wait is bounded.
        if child.reader is not None:
            child.reader.join(timeout=1.0)
            child.reader = None

    def _running(self) -> list[Child]:
        return [c for c in self.children if c.process is not None and c.process.poll() is None]

    def _signal_group(self, child: Child, signum: int) -> None:
        assert child.process is not None
        try:
            os.killpg(child.process.pid, signum)
        except ProcessLookupError:
            pass

    def _stop_all(self) -> None:
        running = self._running()
        log.info("stopping %d processes with SIGTERM (timeout %.0f s)", len(running), self.stop_timeout)
        for child in running:
            self._signal_group(child, signal.SIGTERM)

        deadline = time.monotonic() + self.stop_timeout
        signals_at_stop = self.signals_received
        while self._running() and time.monotonic() < deadline:
            if self.signals_received > signals_at_stop:
                log.warning("second signal received, killing the remaining processes")
                break
            self._wakeup.clear()
            self._wakeup.wait(POLL_INTERVAL)

        for child in self._running():
            log.warning("%s (pid %d) is still running, sending SIGKILL", child.label, child.process.pid)
            self._signal_group(child, signal.SIGKILL)

        for child in self.children:
            if child.process is None:
                continue
            child.process.wait()
            log.info(
                "%s (pid %d) exited with %s",
                child.label,
                child.process.pid,
                describe_returncode(child.process.returncode),
            )
            self._join_reader(child)
        log.info("all processes stopped")


def describe_returncode(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"code {returncode}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m samen_devtools.supervise",
        description="Run, restart and stop the processes of a Procfile.",
    )
    parser.add_argument("procfile", type=Path, help="file with one 'name: command' line per process")
    parser.add_argument(
        "--replicas",
        action="append",
        default=[],
        metavar="NAME=N",
        help="run N copies of process NAME (default 1, 0 skips it); may be repeated",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        help="KEY=VALUE file whose values override the environment of the supervisor",
    )
    parser.add_argument(
        "--stop-timeout",
        type=float,
        default=DEFAULT_STOP_TIMEOUT,
        metavar="SECONDS",
        help=f"seconds to wait after SIGTERM before SIGKILL (default {DEFAULT_STOP_TIMEOUT:.0f})",
    )
    parser.add_argument(
        "--exit-with",
        type=int,
        metavar="PID",
        help="stop every process when process PID ends (tests pass their own id, so a killed test run leaves nothing behind)",
    )
    return parser.parse_args(argv)


def build_supervisor(args: argparse.Namespace) -> Supervisor:
    environ = dict(os.environ)
    if args.env_file is not None:
        environ.update(parse_env_file(read_text(args.env_file, "env file")))
    environ = child_environment(environ)

    specs = parse_procfile(read_text(args.procfile, "Procfile"), environ)
    replicas = parse_replicas(args.replicas, specs)
    check_executables([spec for spec in specs if replicas[spec.name] > 0], environ)
    return Supervisor(specs, replicas, environ, stop_timeout=args.stop_timeout, watch_pid=args.exit_with)


def read_text(path: Path, description: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"failed to read {description} {path}: {exc.strerror}") from exc


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        supervisor = build_supervisor(args)
    except ConfigError as exc:
        print(f"supervise: {exc}", file=sys.stderr)
        return 2

    handler = _PrefixedHandler(supervisor)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False

    signal.signal(signal.SIGINT, supervisor.handle_signal)
    signal.signal(signal.SIGTERM, supervisor.handle_signal)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
