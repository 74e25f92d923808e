"""Tests of the Procfile supervisor: parsing, backoff, and a real run of small Python children."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from samen_devtools.supervise import (
    ConfigError,
    expand_variables,
    next_backoff,
    parse_env_file,
    parse_procfile,
    parse_replicas,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
PYTHON = sys.executable


# --- parsing ------------------------------------------------------------------------------------


def test_expand_variables_default_and_value():
    environ = {"SET": "value", "EMPTY": ""}

    assert expand_variables("${SET:-other}", environ) == "value"
    assert expand_variables("${EMPTY:-fallback}", environ) == "fallback"
    assert expand_variables("${UNSET:-127.0.0.1:8080}", environ) == "127.0.0.1:8080"
    assert expand_variables("a-${SET}-b", environ) == "a-value-b"
    assert expand_variables("$SET", environ) == "$SET"


def test_expand_variables_unset_without_default():
    with pytest.raises(ConfigError, match="UNSET"):
        expand_variables("${UNSET}", {})


def test_parse_procfile_splits_and_expands():
    text = (
        "# comment\n"
        "\n"
        "web: gunicorn --bind ${BIND:-127.0.0.1:8080} \"app:create_app()\"\n"
        "worker: nameko run --config deploy/nameko.yaml samen_media.service\n"
    )

    specs = parse_procfile(text, {})

    assert [spec.name for spec in specs] == ["web", "worker"]
    assert specs[0].argv == ["gunicorn", "--bind", "127.0.0.1:8080", "app:create_app()"]
    assert specs[1].argv[-1] == "samen_media.service"


@pytest.mark.parametrize(
    "text",
    ["no separator here\n", "web:\n", "bad name: true\n", "web: true\nweb: false\n", "# only\n"],
)
def test_parse_procfile_rejects_invalid(text):
    with pytest.raises(ConfigError):
        parse_procfile(text, {})


def test_parse_procfile_of_deploy():
    specs = parse_procfile((REPO_ROOT / "deploy" / "Procfile").read_text(), {})
    names = [spec.name for spec in specs]

    assert names == ["accounts", "media", "messaging", "requests", "notify", "gateway"]
    assert "127.0.0.1:8080" in specs[-1].argv


def test_parse_env_file_formats():
    text = "# comment\nA=1\nexport B = two words\nC='quoted'\nD=\"x=y\"\n\n"

    assert parse_env_file(text) == {"A": "1", "B": "two words", "C": "quoted", "D": "x=y"}


def test_parse_env_file_rejects_invalid():
    with pytest.raises(ConfigError, match="line 1"):
        parse_env_file("not an assignment\n")


def test_parse_replicas_counts_and_errors():
    specs = parse_procfile("media: true\ngateway: true\n", {})

    assert parse_replicas(["media=3", "gateway=0"], specs) == {"media": 3, "gateway": 0}
    assert parse_replicas([], specs) == {"media": 1, "gateway": 1}
    with pytest.raises(ConfigError, match="not in the Procfile"):
        parse_replicas(["unknown=2"], specs)
    with pytest.raises(ConfigError, match="expected name=N"):
        parse_replicas(["media=two"], specs)


def test_next_backoff_doubles_caps_and_resets():
    delays = []
    backoff = 0.5
    for _ in range(7):
        delay, backoff = next_backoff(backoff, runtime=1.0)
        delays.append(delay)

    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert next_backoff(10.0, runtime=30.0) == (0.5, 1.0)


# --- a real supervisor process ------------------------------------------------------------------


class OutputReader:
    """Collect the supervisor's output lines in a thread so that waits can time out."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, predicate, timeout: float) -> list[str]:
        """Read lines until predicate(all lines) is true; fail with the output after `timeout`."""
        deadline = time.monotonic() + timeout
        while not predicate(self.lines):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail("timed out waiting for supervisor output:\n" + "\n".join(self.lines))
            try:
                self.lines.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                pass
        return self.lines


def python_command(code: str) -> str:
    return f"{PYTHON} -c \"{code}\""


def pids_from(lines: list[str], marker: str) -> list[int]:
    return [int(match.group(1)) for line in lines if (match := re.search(rf"{marker} (\d+)", line))]


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_supervisor(tmp_path: Path, procfile: str, *options: str) -> subprocess.Popen:
    path = tmp_path / "Procfile"
    path.write_text(procfile)
    environ = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "devtools"), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [PYTHON, "-m", "samen_devtools.supervise", str(path), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environ,
        cwd=tmp_path,
    )


@pytest.fixture
def supervisors():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_supervisor_restarts_and_stops(tmp_path, supervisors):
    procfile = "\n".join(
        [
            "short: " + python_command("import os, time; print('short-start', os.getpid()); time.sleep(0.5)"),
            "long: " + python_command("import os, time; print('long-start', os.getpid()); time.sleep(120)"),
        ]
    )
    supervisor = start_supervisor(tmp_path, procfile, "--replicas", "long=2")
    supervisors.append(supervisor)
    output = OutputReader(supervisor.stdout)

    lines = output.wait_for(
        lambda lines: len(pids_from(lines, "short-start")) >= 2 and len(pids_from(lines, "long-start")) == 2,
        timeout=15,
    )

    short_pids = pids_from(lines, "short-start")
    long_pids = pids_from(lines, "long-start")
    assert short_pids[0] != short_pids[1]
    assert any(re.search(r"short\.1 \(pid \d+\) exited with code 0", line) for line in lines)
    assert any("restarting short.1" in line for line in lines)
    assert any(line.startswith("long.2") and "long-start" in line for line in lines)
    for pid in long_pids:
        assert os.getpgid(pid) == pid, "each child leads its own process group"
        assert os.getpgid(pid) != os.getpgid(supervisor.pid)

    supervisor.send_signal(signal.SIGINT)
    assert supervisor.wait(timeout=20) == 0

    lines = output.wait_for(lambda lines: any("all processes stopped" in line for line in lines), timeout=5)
    for pid in long_pids + short_pids:
        assert not process_exists(pid), f"child {pid} still exists"
    assert any(re.search(r"long\.1 \(pid \d+\) exited with signal SIGTERM", line) for line in lines)


def test_supervisor_kills_after_stop_timeout(tmp_path, supervisors):
    code = (
        "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('stubborn-start', os.getpid()); time.sleep(120)"
    )
    supervisor = start_supervisor(tmp_path, "stubborn: " + python_command(code), "--stop-timeout", "1")
    supervisors.append(supervisor)
    output = OutputReader(supervisor.stdout)

    lines = output.wait_for(lambda lines: pids_from(lines, "stubborn-start"), timeout=10)
    pid = pids_from(lines, "stubborn-start")[0]

    started = time.monotonic()
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=10) == 0
    assert time.monotonic() - started < 5

    lines = output.wait_for(lambda lines: any("all processes stopped" in line for line in lines), timeout=5)
    assert not process_exists(pid)
    assert any("sending SIGKILL" in line for line in lines)
    assert any("exited with signal SIGKILL" in line for line in lines)


def test_supervisor_rejects_unknown_program(tmp_path, supervisors):
    supervisor = start_supervisor(tmp_path, "ghost: no-such-program-samen --flag\n")
    supervisors.append(supervisor)

    output, _ = supervisor.communicate(timeout=10)

    assert supervisor.returncode == 2
    assert "'no-such-program-samen' not found on PATH" in output


def test_supervisor_exits_with_watched_process(tmp_path, supervisors):
    watched = subprocess.Popen([PYTHON, "-c", "import time; time.sleep(120)"])
    procfile = "long: " + python_command("import os, time; print('long-start', os.getpid()); time.sleep(120)")
    supervisor = start_supervisor(tmp_path, procfile, "--exit-with", str(watched.pid))
    supervisors.append(supervisor)
    output = OutputReader(supervisor.stdout)
    lines = output.wait_for(lambda lines: pids_from(lines, "long-start"), timeout=10)
    child = pids_from(lines, "long-start")[0]

    watched.kill()
    watched.wait()

    assert supervisor.wait(timeout=20) == 0
    output.wait_for(lambda lines: any("all processes stopped" in line for line in lines), timeout=5)
    assert not process_exists(child)
