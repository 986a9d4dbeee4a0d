"""Lava process hygiene: a killed `snnc run m.lava` leaves no worker process and no temp dir; a malformed
network.json fails at once instead of hanging."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import SNNC, recurrent_graph

pytestmark = pytest.mark.skipif(not Path(os.environ.get("SNNC_LAVA_PYTHON", "/nonexistent")).is_file(),
                                reason="needs the Lava environment (SNNC_LAVA_PYTHON; scripts/test.sh sets it)")


def run_procs(tmpdir: Path) -> list[int]:
    """Live processes (not zombies) whose environment names this run's temp dir: the worker and Lava's."""
    key = f"SNNC_LAVA_CLEANUP={tmpdir}".encode()
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if (d / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if any(v.startswith(key) for v in (d / "environ").read_bytes().split(b"\0")):
                out.append(int(d.name))
        except (OSError, IndexError):
            continue
    return out


@pytest.fixture(scope="module")
def lava_dir(tmp_path_factory):
    from snnc.compiler.targets import get_target

    d = tmp_path_factory.mktemp("hygiene")
    get_target("loihi").compile_artifact(recurrent_graph(sizes=(6, 5, 3)), d / "m.lava", {})
    np.save(d / "x.npy", (np.random.default_rng(0).random((4000, 1, 6)) < 0.3).astype(np.float32))
    np.save(d / "x_short.npy", np.zeros((5, 1, 6), np.float32))
    return d


def _wait(cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=lambda s: s.name)
def test_killed_run_leaves_no_worker_and_no_temp_dir(lava_dir, tmp_path, sig):
    import tempfile
    # a short TMPDIR (as /tmp is): Lava's multiprocessing sockets inside the run dir must fit AF_UNIX's 107 bytes
    tmpdir = Path(tempfile.mkdtemp(prefix="h", dir="/tmp")).resolve()
    env = dict(os.environ, TMPDIR=str(tmpdir))
    p = subprocess.Popen([*SNNC, "run", str(lava_dir / "m.lava"), "--input", str(lava_dir / "x.npy"),
                          "-o", str(tmp_path / "y.npy")], cwd=tmp_path, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # the worker and at least one of Lava's processes are up, and the run's temp dir exists
        assert _wait(lambda: len(run_procs(tmpdir)) >= 2 or p.poll() is not None, 300), "the Lava run never started"
        assert p.poll() is None, f"the run ended before the signal: {p.stderr.read().decode()[-500:]}"
        assert any(tmpdir.iterdir())
        time.sleep(1.0)
        os.kill(p.pid, sig)
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert _wait(lambda: not run_procs(tmpdir), 30), f"Lava processes left: {run_procs(tmpdir)}"
    assert _wait(lambda: not any(tmpdir.iterdir()), 10), f"temp files left: {list(tmpdir.iterdir())}"
    tmpdir.rmdir()
    assert not (tmp_path / "y.npy").exists()
    if sig != signal.SIGKILL:
        assert p.returncode == 130, (p.returncode, p.stderr.read().decode()[-800:])  # unwound like Ctrl-C: "snnc: interrupted"


@pytest.mark.parametrize("edit, fragment", [
    (lambda d: d["procs"][next(k for k, p in d["procs"].items() if p["kind"] != "dense")].update(t_start="1"),
     "t_start: expected an integer"),
    (lambda d: d["procs"][next(k for k, p in d["procs"].items() if p["kind"] != "dense")].update(t_start=10**9),
     "t_start 1000000000 outside"),
    (lambda d: d["procs"][next(iter(d["procs"]))].update(kind="os.system"), "unknown kind 'os.system'"),
    (lambda d: d["conns"][0].__setitem__(1, "__class__"), "invalid port name '__class__'"),
    (lambda d: d.pop("version"), "without a 'version' key"),
])
def test_malformed_network_json_fails_at_once(lava_dir, tmp_path, edit, fragment, run_snnc):
    import shutil

    bad = tmp_path / "bad.lava"
    shutil.copytree(lava_dir / "m.lava", bad)
    doc = json.loads((bad / "network.json").read_text())
    edit(doc)
    (bad / "network.json").write_text(json.dumps(doc))
    t0 = time.monotonic()
    for cmd in (["run", "bad.lava", "--input", str(lava_dir / "x_short.npy"), "-o", "y.npy"], ["inspect", "bad.lava"]):
        p = run_snnc(*cmd)
        err = p.stderr.strip()
        assert p.returncode == 1 and err.startswith("snnc: error: ") and len(err.splitlines()) == 1, err
        assert fragment in err and "network.json" in err, err
    assert time.monotonic() - t0 < 120
    assert not (tmp_path / "y.npy").exists()
