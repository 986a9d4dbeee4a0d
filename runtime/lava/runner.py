"""Main-environment side of the Lava backend: run a description in the Lava interpreter as a subprocess.

Arrays travel through .npz files in a private temporary directory, which is also
the subprocess's working directory, so Lava never writes into the user's folders.
The subprocess gets its own process group: a timeout kills Lava's worker
processes too, and a failure is reported as one line with the tail of Lava's stderr.
SIGTERM and SIGHUP to snnc during a run unwind like Ctrl-C (the group is killed,
the temp dir removed); if snnc dies by SIGKILL the worker notices and does the
same itself (runtime/lava/worker.py guard_parent).
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Iterator

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.activity import Activity

ENV_VAR = "SNNC_LAVA_PYTHON"
DEFAULT_TIMEOUT = 600.0
# multiprocessing puts sockets at $TMPDIR/pymp-XXXXXXXX/listener-XXXXXXXX; AF_UNIX paths end at 107 bytes
MAX_TMP_PATH = 64


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


class Terminated(KeyboardInterrupt):
    """snnc got SIGTERM or SIGHUP during a Lava run: unwind (and clean up) like Ctrl-C."""


@contextlib.contextmanager
def _signals_unwind() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into Terminated for the duration of a run (main thread only; others keep theirs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_(signum, frame):
        raise Terminated(f"terminated by {signal.Signals(signum).name}")

    old = {s: signal.signal(s, raise_) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def run_description(desc: Path, xs: dict[str, np.ndarray], options: dict) -> tuple[dict[str, np.ndarray], Activity, int]:
    """Run the Lava description `desc` on inputs {name: [T, B, F]}: (outputs, Activity, latency stripped)."""
    py = lava_python()
    timeout = options.get("timeout") or DEFAULT_TIMEOUT
    record = options.get("record") or []
    with _signals_unwind(), tempfile.TemporaryDirectory(prefix="snnc-lava-") as tmp:
        tmp = Path(tmp)
        inp, out = tmp / "in.npz", tmp / "out.npz"
        with open(inp, "wb") as f:
            np.savez(f, options=np.array(json.dumps({"record": sorted(record)})),
                     **{f"x/{k}": v for k, v in xs.items()})
        cleanup = os.pathsep.join([str(tmp), *map(str, options.get("cleanup") or [])])
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1", SNNC_LAVA_CLEANUP=cleanup)
        if len(str(tmp)) <= MAX_TMP_PATH:  # Lava's multiprocessing temp dirs inside ours go when ours goes
            env["TMPDIR"] = str(tmp)
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
        finally:  # also after a clean exit: Lava's worker processes must not outlive the run
            _killgroup(proc)
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
