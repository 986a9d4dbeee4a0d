"""The `nir` target: the artifact is a `.nir` file (NIR's HDF5 format), run by importing it onto the NumPy runtime.

Time step and discretization follow snnc.frontends.nir_io: options "dt" (default
the graph's meta dt, else 1.0) and "nir_discretization" ("euler", default, or "exact").
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from snnc.compiler.ir import Graph
from snnc.compiler.printer import format_graph, to_dot
from snnc.compiler.verify import verify
from snnc.runtime.numpy.runtime import NumpyRuntime

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _io():
    """snnc.frontends.nir_io, or one clear error: it needs the nir package, and snnc.frontends needs torch."""
    import importlib.util

    from snnc.compiler.errors import SnncError

    for pkg in ("nir", "torch"):
        if importlib.util.find_spec(pkg) is None:
            raise SnncError(f"target 'nir' needs the Python package '{pkg}', which is not installed; "
                            "pip install 'snnc[nir,torch]' or run 'make setup'")
    from snnc.frontends import nir_io
    return nir_io


def _method(options: dict) -> str:
    return options.get("nir_discretization") or "euler"


def compile_artifact(graph: Graph, out: Path, options: dict) -> str:
    verify(graph)
    ng = _io().write_nir(graph, out, options.get("dt"), _method(options))
    dt = ng.metadata["snnc"]["dt"]
    return f"wrote {out} ({len(ng.nodes)} NIR nodes, {len(ng.edges)} edges, dt {dt}, {_method(options)} discretization, target nir)"


def load_graph(path: Path, options: dict | None = None) -> Graph:
    """The IR graph of a .nir file (at the dt stored by snnc's exporter unless options give 'dt')."""
    options = options or {}
    return _io().read_nir(path, options.get("dt"), _method(options))


def run_graph(graph: Graph, x, options: dict):
    """Run `graph` after a trip through NIR (IR -> NIR -> IR), so verify checks the NIR export too."""
    io = _io()
    back = verify(io.from_nir(io.to_nir(graph, options.get("dt"), _method(options)), options.get("dt"), _method(options)))
    rt = NumpyRuntime(back, dtype=options.get("dtype", "float32"), record=options.get("record", False))
    return rt.run(x, progress=options.get("progress", False))


def run_artifact(path: Path, x, options: dict):
    rt = NumpyRuntime(load_graph(path, options), dtype=options.get("dtype", "float32"), record=options.get("record", False))
    return rt.run(x, progress=options.get("progress", False))


def inspect_artifact(path: Path, options: dict) -> str:
    g = load_graph(path, options)
    if options.get("dot"):
        return to_dot(g, Path(path).stem)
    ng = _io().require_nir().read(str(path), type_check=False)
    meta = ng.metadata.get("snnc", {}) if isinstance(ng.metadata, dict) else {}
    made = f", written by snnc {meta.get('snnc_version')} at dt {float(meta['dt'])}" if "dt" in meta else ""
    lines = [f"NIR graph {Path(path).name}: {len(ng.nodes)} nodes, {len(ng.edges)} edges{made}"]
    for k, n in ng.nodes.items():
        shape = next(iter(n.output_type.values()), None) if isinstance(n.output_type, dict) else None
        shape = [int(v) for v in np.asarray(shape).reshape(-1)] if shape is not None else "?"
        lines.append(f"  {k:<24} {type(n).__name__:<10} out {shape}")
    lines.append(f"edges: {', '.join(f'{a} -> {b}' for a, b in ng.edges)}")
    lines.append("")
    lines.append(format_graph(g, f"{Path(path).name} as snnc IR (dt {g.meta['dt']})"))
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
