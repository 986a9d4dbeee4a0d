"""The two environments of DESIGN §2: setup is idempotent, the core imports without torch in the Lava env."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import REPO


def lava_python() -> str:
    py = os.environ.get("SNNC_LAVA_PYTHON", str(REPO / ".venv-lava" / "bin" / "python"))
    assert Path(py).exists(), f"Lava environment missing at {py}: run 'make setup' (or set SNNC_LAVA_PYTHON)"
    return py


def test_setup_is_up_to_date_after_setup():
    """`make -q setup` exits 0 when nothing changed: a second `make setup` does no work."""
    p = subprocess.run(["make", "-q", "setup"], cwd=REPO, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_setup_without_python310_fails_with_one_clear_message(tmp_path):
    env = dict(os.environ, SNNC_PYTHON310=str(tmp_path / "no-python3.10"))
    p = subprocess.run(["bash", "scripts/setup-lava.sh", str(tmp_path / "venv")], cwd=REPO, capture_output=True, text=True, env=env)
    assert p.returncode == 1
    assert "lava-nc 0.10.0 needs Python 3.10 and none was found" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "venv").exists()


def test_core_imports_in_lava_env_without_torch():
    code = (
        "import sys, importlib, pkgutil\n"
        "import lava.magma, numpy, networkx\n"
        "assert numpy.__version__ < '2', numpy.__version__\n"
        "import snnc.compiler, snnc.backends.numpy.lower, snnc.runtime.numpy.runtime\n"
        "from snnc.runtime.numpy.runtime import run\n"
        "from snnc.compiler import Graph, Input, Dense, LIF\n"
        "g = Graph(); g.add('x', Input(2)); g.add('d', Dense.of(numpy.eye(2))); g.add('n', LIF(alpha=numpy.ones(2)*0.5, gain=1.0, theta=0.5))\n"
        "g.connect('x', 'd'); g.connect('d', 'n'); g.outputs = ['n']\n"
        "out, act = run(g, numpy.ones((3, 1, 2)))\n"
        "assert out['n'][:, 0, 0].tolist() == [1.0, 1.0, 1.0], out\n"
        "assert 'torch' not in sys.modules, 'the core imported torch'\n"
        "print('ok')\n"
    )
    p = subprocess.run([lava_python(), "-c", code], capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-2000:]
