"""The `numpy` target: the artifact is the IR itself (`.snn`), executed by the NumPy runtime."""
from __future__ import annotations

import zipfile
from pathlib import Path

from snnc.compiler.ir import Graph
from snnc.compiler.printer import format_graph, to_dot
from snnc.compiler.serialize import load, save
from snnc.compiler.verify import verify
from snnc.runtime.numpy.runtime import NumpyRuntime


def compile_artifact(graph: Graph, out: Path, options: dict) -> str:
    verify(graph)
    save(graph, out)
    return f"wrote {out} ({len(graph.nodes)} nodes, target numpy)"


def run_graph(graph: Graph, x, options: dict):
    dtype = options.get("dtype") or graph.meta.get("dtype") or "float32"  # the artifact's own, from compile --dtype
    rt = NumpyRuntime(graph, dtype=dtype, record=options.get("record", False),
                      noise_seed=options.get("noise_seed", 0))
    return rt.run(x, progress=options.get("progress", False))


def run_artifact(path: Path, x, options: dict):
    return run_graph(load(path), x, options)


def inspect_artifact(path: Path, options: dict) -> str:
    g = load(path)
    if options.get("dot"):
        return to_dot(g, Path(path).stem)
    return format_graph(g, Path(path).name)


def is_artifact(path: Path) -> bool:
    path = Path(path)
    if path.suffix == ".snn":
        return True
    try:
        with zipfile.ZipFile(path) as z:
            return "graph.json" in z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
