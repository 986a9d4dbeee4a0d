"""Main-environment side of the Lava backend: run a description in the Lava interpreter as a subprocess.

Arrays travel through .npz files in a private temporary directory, which is also
the subprocess's working directory, so Lava never writes into the user's folders.
The subprocess gets its own process group: a timeout kills Lava's worker
processes too, and a failure is reported as one line with the tail of Lava's stderr.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.activity import Activity

ENV_VAR = "SNNC_LAVA_PYTHON"
DEFAULT_TIMEOUT = 600.0


class LavaError(SnncError):
    """A Lava run that failed, timed out, or cannot start."""


def repo_root() -> Path:
    import snnc
    return Path(snnc.__file__).resolve().parent.parent


def lava_python() -> Path:
    """The Lava environment's interpreter: $SNNC_LAVA_PYTHON or <repo>/.venv-lava/bin/python."""
    p = Path(os.environ.get(ENV_VAR) or repo_root() / ".venv-lava" / "bin" / "python")
    if not p.is_file() or not os.access(p, os.X_OK):
        raise LavaError(f"Lava environment not found: {p} is not an executable Python; "
                        f"set {ENV_VAR} to the Lava environment's python or run 'make setup' to create .venv-lava")
    return p


def _tail(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith("snnc-lava-error:"):
            return ln[len("snnc-lava-error:"):].strip()
    return " | ".join(lines[-3:])[-400:] if lines else "no error output"


def run_description(desc: Path, xs: dict[str, np.ndarray], options: dict) -> tuple[dict[str, np.ndarray], Activity, int]:
    """Run the Lava description `desc` on inputs {name: [T, B, F]}: (outputs, Activity, latency stripped)."""
    py = lava_python()
    timeout = options.get("timeout") or DEFAULT_TIMEOUT
    record = options.get("record") or []
    with tempfile.TemporaryDirectory(prefix="snnc-lava-") as tmp:
        tmp = Path(tmp)
        inp, out = tmp / "in.npz", tmp / "out.npz"
        with open(inp, "wb") as f:
            np.savez(f, options=np.array(json.dumps({"record": sorted(record)})),
                     **{f"x/{k}": v for k, v in xs.items()})
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
        cmd = [str(py), "-m", "snnc.runtime.lava.worker", str(Path(desc).resolve()), str(inp), str(out)]
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _killgroup(proc)
            _, err = proc.communicate()
            raise LavaError(f"Lava run of {desc} timed out after {timeout:g} s and was killed "
                            f"(raise it with --timeout SECONDS); last output: {_tail(err or '')}") from None
        finally:
            if proc.poll() is None:
                _killgroup(proc)
        _killgroup(proc)  # Lava's worker processes must not outlive the run
        if proc.returncode != 0 or not out.exists():
            raise LavaError(f"Lava run of {desc} failed (exit {proc.returncode}): {_tail(err or '')}")
        with np.load(out, allow_pickle=False) as z:
            res = {k: z[k] for k in z.files}
    outputs = {k[2:]: v for k, v in res.items() if k.startswith("y/")}
    act = Activity.from_arrays({k[4:]: v for k, v in res.items() if k.startswith("act/")})
    return outputs, act, int(res["latency"])


def _killgroup(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait()
