"""Benchmarks written as stand-alone scripts under bench/, run as subprocesses with `--json`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time

from samen_devtools.bench import harness

# Arguments of each script for the smoke run and for the full run.
SCRIPTS = {
    "photos": (["--count", "3", "--repeat", "1", "--width", "640", "--height", "480"], []),
    "timeline": (["--smoke"], []),
    "fanout": (["--smoke"], []),
}


# Scripts still running, so that an interrupted run can stop them with their own child processes.
RUNNING: list[subprocess.Popen] = []


def stop_running() -> None:
    """Stop every script still running, and the processes it started, by process group."""
    for process in list(RUNNING):
        harness.stop_group(process)
        RUNNING.remove(process)


class ScriptRun:
    """One bench/<name>.py running in the background; `result()` waits for it and returns its JSON."""

    def __init__(self, name: str, smoke: bool, env: dict, timeout: float = 1800):
        self.name = name
        self.timeout = timeout
        self.started = time.monotonic()
        self.process: subprocess.Popen | None = None
        path = harness.ROOT / "bench" / f"{name}.py"
        if not path.exists():
            self.missing = f"bench/{name}.py does not exist yet"
            return
        self.missing = None
        smoke_args, full_args = SCRIPTS[name]
        self.command = [harness.PYTHON, str(path), *(smoke_args if smoke else full_args), "--json"]
        # Files rather than pipes, so a script that writes much to stderr cannot stall on a full pipe.
        self.stdout = tempfile.TemporaryFile(mode="w+")
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(self.command, cwd=harness.ROOT, env=env, stdout=self.stdout,
                                        stderr=self.stderr, text=True, start_new_session=True)
        RUNNING.append(self.process)

    def result(self) -> dict:
        if self.process is None:
            return {"status": "not measured yet", "reason": self.missing}
        command = " ".join(["python", f"bench/{self.name}.py", *self.command[2:]])
        try:
            self.process.wait(timeout=max(1.0, self.timeout - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            return {"status": "failed", "reason": f"timed out after {self.timeout} s", "command": command}
        finally:
            if self.process in RUNNING and self.process.poll() is not None:
                RUNNING.remove(self.process)
        self.stdout.seek(0)
        self.stderr.seek(0)
        stdout, stderr = self.stdout.read(), self.stderr.read()
        self.stdout.close()
        self.stderr.close()
        if self.process.returncode != 0:
            return {"status": "failed", "reason": stderr.strip()[-1500:], "command": command}
        try:
            result = json.loads(stdout[stdout.index("{"):])
        except ValueError:
            return {"status": "failed", "reason": "no JSON object on stdout", "command": command}
        return {"status": "measured", "command": command, "result": result,
                "script_seconds": round(time.monotonic() - self.started, 1)}


def run_script(name: str, smoke: bool, env: dict, timeout: float = 1800) -> dict:
    """Run bench/<name>.py to the end and return its JSON, or the reason why there is no result."""
    return ScriptRun(name, smoke, env, timeout).result()
