"""Running one benchmark worker in a fresh process: its environment and its one-line JSON result."""

import json
import os
import subprocess
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def environment(engine):
    """This process's environment with `engine` selected for mlfront and Keras 3 and the repository importable."""
    env = dict(os.environ, MLFRONT_BACKEND=engine, KERAS_BACKEND=engine, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join([REPO, os.path.join(REPO, "backends"), env.get("PYTHONPATH", "")])
    env.setdefault("MLFRONT_HOME", tempfile.mkdtemp(prefix="mlfront-bench-"))
    return env


def run_json(command, engine, timeout):
    """The JSON object a worker prints last, or {"error": its last output line} when it fails or times out."""
    try:
        out = subprocess.run(command, capture_output=True, text=True, env=environment(engine), timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if out.returncode != 0:
        lines = [line for line in (out.stderr or out.stdout).strip().splitlines() if line.strip()]
        return {"error": lines[-1][:200] if lines else "no output"}
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"no JSON result in the output: {out.stdout[-200:]!r}"}
