"""The table of compilation targets: name -> the module that compiles, runs and inspects its artifacts.

A target module provides:
  compile_artifact(graph, out: Path, options: dict) -> str    writes OUT atomically, returns a summary line
  run_artifact(path: Path, x, options: dict) -> (outputs: dict[name, [T,B,n]], Activity)
  run_graph(graph, x, options: dict) -> (outputs, Activity)    what `snnc verify` uses
  inspect_artifact(path: Path, options: dict) -> str            human-readable listing
  is_artifact(path: Path) -> bool                               does this file belong to the target
Modules are imported on first use, so a target's heavy dependencies (onnx,
lava) load only when that target is asked for.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from snnc.compiler.errors import SnncError

TARGETS: dict[str, str] = {
    "numpy": "snnc.backends.numpy.target",
    "onnx": "snnc.backends.onnx.target",
    "loihi": "snnc.backends.lava.target",
    "nir": "snnc.backends.nir.target",
    "cpu": "snnc.backends.cpu.target",
}


def available() -> list[str]:
    """Targets whose module exists in this install."""
    out = []
    for name, mod in TARGETS.items():
        if importlib.util.find_spec(mod) is not None:
            out.append(name)
    return out


def get_target(name: str) -> ModuleType:
    """The target module for `name`, or an error listing the known targets."""
    if name not in TARGETS:
        raise SnncError(f"unknown target '{name}'; known targets: {', '.join(available())}")
    try:
        return importlib.import_module(TARGETS[name])
    except ModuleNotFoundError as e:
        if e.name == TARGETS[name]:
            raise SnncError(f"target '{name}' is not implemented in this snnc build; available: {', '.join(available())}") from None
        raise SnncError(f"target '{name}' needs the Python package '{e.name}', which is not installed; run 'make setup'") from None


def target_for_artifact(path: Path) -> tuple[str, ModuleType]:
    """Which target produced the artifact at `path`."""
    path = Path(path)
    if not path.exists():
        raise SnncError(f"{path}: no such file or directory")
    for name in available():
        mod = get_target(name)
        if mod.is_artifact(path):
            return name, mod
    raise SnncError(f"{path}: not an artifact snnc knows (expected a .snn graph, an .onnx model, a .nir file or a Lava network directory)")
