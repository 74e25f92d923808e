"""Benchmarks written as stand-alone scripts under bench/, run as subprocesses with `--json`."""

from __future__ import annotations

import json
import subprocess

from samen_devtools.bench import harness

# Arguments of each script for the smoke run and for the full run.
SCRIPTS = {
    "photos": (["--count", "3", "--repeat", "1", "--width", "640", "--height", "480"], []),
    "timeline": (["--smoke"], []),
    "fanout": (["--smoke"], []),
}


def run_script(name: str, smoke: bool, env: dict, timeout: float = 1800) -> dict:
    """Run bench/<name>.py and return its JSON, or the reason why there is no result."""
    path = harness.ROOT / "bench" / f"{name}.py"
    if not path.exists():
        return {"status": "not measured yet", "reason": f"bench/{name}.py does not exist yet"}
    smoke_args, full_args = SCRIPTS[name]
    command = [harness.PYTHON, str(path), *(smoke_args if smoke else full_args), "--json"]
    completed = subprocess.run(command, cwd=harness.ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        return {"status": "failed", "reason": completed.stderr.strip()[-500:], "command": " ".join(command[1:])}
    try:
        result = json.loads(completed.stdout[completed.stdout.index("{"):])
    except ValueError:
        return {"status": "failed", "reason": "no JSON object on stdout", "command": " ".join(command[1:])}
    return {"status": "measured", "command": " ".join(command[1:]), "result": result}
