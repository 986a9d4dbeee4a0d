"""Every module imports on its own in a fresh interpreter: no import works only because another ran first."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"cli": "snnc.cli", "compiler": "snnc.compiler", "frontends": "snnc.frontends",
            "backends": "snnc.backends", "runtime": "snnc.runtime"}
# modules that need the Lava environment (lava-nc only installs on Python 3.10)
LAVA_ONLY = ("snnc.backends.lava.procs", "snnc.runtime.lava.worker")


def _modules() -> list[str]:
    mods = []
    for folder, pkg in PACKAGES.items():
        for f in sorted((REPO / folder).rglob("*.py")):
            rel = f.relative_to(REPO / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            mods.append(".".join([pkg, *parts]))
    return mods


MODULES = _modules()


def test_the_module_list_is_complete():
    assert len(MODULES) > 60 and "snnc.backends.numpy" in MODULES and "snnc.cli.main" in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module):
    python = sys.executable
    if module.startswith(LAVA_ONLY):
        from snnc.runtime.lava.runner import lava_python
        python = str(lava_python())
    p = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert p.returncode == 0, f"import {module} failed on its own:\n{p.stderr[-2000:]}"
