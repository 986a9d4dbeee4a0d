"""The `nir` target: the artifact is a `.nir` file (NIR's HDF5 format), run by importing it onto the NumPy runtime.

Options (docs/nir.md): "dt" (reading: required unless the file stores one; writing:
default the graph's dt), "nir_discretization" ("euler" or "exact"), "nir_convention"
("nir", "snntorch", "norse") and "nir_reset" ("zero", "subtract", "snntorch").
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.printer import format_graph, to_dot
from snnc.compiler.verify import verify
from snnc.runtime.numpy.runtime import NumpyRuntime

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _io():
    """snnc.frontends.nir_io, or one clear error: it needs the nir package, and snnc.frontends needs torch."""
    import importlib.util

    for pkg in ("nir", "torch"):
        if importlib.util.find_spec(pkg) is None:
            raise SnncError(f"target 'nir' needs the Python package '{pkg}', which is not installed; "
                            "pip install 'snnc[nir,torch]' or run 'make setup'")
    from snnc.frontends import nir_io
    return nir_io


def _method(options: dict) -> str:
    return options.get("nir_discretization") or "euler"


def _read_args(options: dict) -> tuple:
    return (options.get("dt"), _method(options), options.get("nir_convention") or "nir", options.get("nir_reset"))


def compile_artifact(graph: Graph, out: Path, options: dict) -> str:
    verify(graph)
    ng = _io().write_nir(graph, out, options.get("dt"), _method(options))
    dt = ng.metadata["snnc"]["dt"]
    return f"wrote {out} ({len(ng.nodes)} NIR nodes, {len(ng.edges)} edges, dt {dt}, {_method(options)} discretization, target nir)"


def load_graph(path: Path, options: dict | None = None) -> Graph:
    """The IR graph of a .nir file under the options' dt, discretization, convention and reset."""
    return _io().read_nir(path, *_read_args(options or {}))


def run_graph(graph: Graph, x, options: dict):
    """Run `graph` after a trip through NIR (IR -> NIR -> IR), so verify checks the NIR export too."""
    io = _io()
    dt = options.get("dt") or graph.meta.get("dt") or 1.0
    back = verify(io.from_nir(io.to_nir(graph, dt, _method(options)), dt, _method(options)))
    rt = NumpyRuntime(back, dtype=options.get("dtype") or "float32", record=options.get("record", False))
    return rt.run(x, progress=options.get("progress", False))


def run_artifact(path: Path, x, options: dict):
    rt = NumpyRuntime(load_graph(path, options), dtype=options.get("dtype") or "float32", record=options.get("record", False))
    return rt.run(x, progress=options.get("progress", False))


def _shape(types: Any) -> str:
    v = next(iter(types.values()), None) if isinstance(types, dict) and types else None
    return "?" if v is None else str([int(s) for s in np.asarray(v).reshape(-1)])


def _nir_lines(ng: Any, problems: dict, prefix: str = "", depth: int = 0) -> tuple[list[str], int]:
    """One line per NIR node (subgraphs indented), marking nodes snnc cannot compile; returns (lines, #marked)."""
    import nir

    lines, bad = [], 0
    for k, n in ng.nodes.items():
        why = ""
        if isinstance(n, nir.NIRGraph):
            lines.append(f"{'  ' * (depth + 1)}{k:<24} NIRGraph   {len(n.nodes)} nodes, {len(n.edges)} edges")
            sub, b = _nir_lines(n, problems, f"{prefix}{k}.", depth + 1)
            lines += sub
            bad += b
            continue
        if isinstance(n, nir.Threshold):
            pred = [a for a, b in ng.edges if b == k]
            if not (len(pred) == 1 and isinstance(ng.nodes.get(pred[0]), (nir.LI, nir.I))
                    and [b for a, b in ng.edges if a == pred[0]] == [k]):
                why = "  <- cannot compile: a Threshold must follow an LI or I that feeds nothing else"
        elif prefix + k in problems:
            why = "  <- cannot compile: " + problems[prefix + k]
        bad += bool(why)
        lines.append(f"{'  ' * (depth + 1)}{k:<24} {type(n).__name__:<10} out {_shape(n.output_type)}{why}")
    return lines, bad


def inspect_artifact(path: Path, options: dict) -> str:
    """The NIR graph as stored (nodes snnc cannot compile marked), then snnc's IR of it when it compiles."""
    io = _io()
    from snnc.frontends.nir_file import read_nir_graph

    ng = read_nir_graph(path)
    st = io.settings(ng, *_read_args(options))  # a missing dt is an error here too: the IR depends on it
    if options.get("dot"):
        return to_dot(load_graph(path, options), Path(path).stem)
    meta = ng.metadata.get("snnc", {}) if isinstance(ng.metadata, dict) else {}
    made = f", written by snnc {meta.get('snnc_version')}" if "snnc_version" in meta else ""
    lines = [f"NIR graph {Path(path).name}: {len(ng.nodes)} nodes, {len(ng.edges)} edges{made}; "
             f"read at dt {st.dt:g}, {st.method}, convention {st.convention}, reset {st.reset}"]
    body, bad = _nir_lines(ng, io.node_problems(ng, st))
    lines += body
    lines.append(f"edges: {', '.join(f'{a} -> {b}' for a, b in ng.edges)}")
    lines.append("")
    try:
        g = load_graph(path, options)
    except SnncError as e:
        lines.append(f"snnc cannot compile this graph{f' ({bad} nodes marked)' if bad else ''}: {e}")
        return "\n".join(lines)
    lines.append(format_graph(g, f"{Path(path).name} as snnc IR (dt {g.meta['dt']:g})"))
    return "\n".join(lines)


def is_artifact(path: Path) -> bool:
    path = Path(path)
    if path.suffix == ".nir":
        return True
    try:
        with open(path, "rb") as f:
            if f.read(8) != HDF5_MAGIC:
                return False
    except OSError:
        return False
    try:
        import h5py

        with h5py.File(path, "r") as f:
            return "node" in f and "version" in f
    except (ImportError, OSError):
        return False
