"""The `cpu` target: a folder with the graph (`graph.snn`), `cpu.json` and the generated kernels with numba's cache.

`snnc compile -t cpu` generates and JIT-compiles the kernel into the folder's
`kernels/`, so `snnc run` in a new process loads machine code from disk.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.printer import format_graph, to_dot
from snnc.compiler.serialize import load, save
from snnc.compiler.verify import verify

MARKER = "cpu.json"
FORMAT = 1


def _runtime(graph: Graph, options: dict, cache_dir: Path | None):
    from snnc.runtime.cpu.runtime import CpuRuntime

    return CpuRuntime(graph, dtype=options.get("dtype") or "float32", record=options.get("record", False),
                      noise_seed=options.get("noise_seed", 0), threads=options.get("threads"), cache_dir=cache_dir)


def compile_artifact(graph: Graph, out: Path, options: dict) -> str:
    verify(graph)
    out = Path(out)
    if out.exists() and not is_artifact(out):
        raise SnncError(f"{out}: exists and is not a cpu artifact folder; refusing to overwrite it")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise SnncError(f"cannot write {out}: directory {parent} does not exist")
    dtype = options.get("dtype") or "float32"
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        save(graph, tmp / "graph.snn")
        t0 = time.perf_counter()
        rt = _runtime(graph, {"dtype": dtype}, tmp / "kernels")
        lower_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        _warm(rt)  # JIT-compile now, into the artifact's numba cache
        jit_s = time.perf_counter() - t0
        (tmp / MARKER).write_text(json.dumps({"format": FORMAT, "dtype": dtype, "kernel": rt.program.key}, indent=1))
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return (f"wrote {out} ({len(graph.nodes)} nodes, target cpu, {dtype}; code generation {lower_s:.2f} s, "
            f"JIT compile {jit_s:.1f} s)")


def _warm(rt) -> None:
    """Run one step on zeros so numba compiles (or loads from its cache) the dense-input kernel."""
    x = {n: np.zeros((1, 1, rt.graph.nodes[n].size), rt.dtype) for n in rt.graph.inputs}
    for n in rt.noise:
        x[n] = np.full((1, 1, rt.graph.nodes[n].size), 0.5, rt.dtype)
    rt.run(x)


def _read(path: Path) -> tuple[Graph, dict]:
    path = Path(path)
    try:
        meta = json.loads((path / MARKER).read_text())
    except (OSError, ValueError) as e:
        raise SnncError(f"{path}: not a readable cpu artifact ({e})") from None
    if meta.get("format", 0) > FORMAT:
        raise SnncError(f"{path}: cpu artifact format {meta.get('format')} is newer than this snnc reads ({FORMAT})")
    return load(path / "graph.snn"), meta


def run_graph(graph: Graph, x, options: dict):
    return _runtime(graph, options, None).run(x, progress=options.get("progress", False))


def run_artifact(path: Path, x, options: dict):
    graph, meta = _read(path)
    opts = dict(options)
    opts["dtype"] = options.get("dtype") or meta.get("dtype")
    return _runtime(graph, opts, Path(path) / "kernels").run(x)


def inspect_artifact(path: Path, options: dict) -> str:
    graph, meta = _read(path)
    if options.get("dot"):
        return to_dot(graph, Path(path).stem)
    return format_graph(graph, Path(path).name) + f"\ncpu kernel {meta.get('kernel')} ({meta.get('dtype')})"


def is_artifact(path: Path) -> bool:
    path = Path(path)
    return path.is_dir() and (path / MARKER).is_file()


def load_graph(path: Path) -> Graph:
    """The IR graph stored inside a cpu artifact folder."""
    return _read(path)[0]
