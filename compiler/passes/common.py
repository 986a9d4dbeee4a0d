"""Helpers shared by the passes: pass records, graph queries, calibration runs, error metrics."""
from __future__ import annotations

from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Graph


def record(graph: Graph, name: str, **report: Any) -> None:
    """Append what a pass did to graph.meta["passes"] (a list of dicts {"name": ..., ...report})."""
    graph.meta.setdefault("passes", []).append({"name": name, **report})


def consumers(graph: Graph, name: str) -> list[str]:
    """Distinct destination nodes of `name`'s out-edges, in edge order."""
    return list(dict.fromkeys(e.dst for e in graph.out_edges(name)))


def type_name(node: object) -> str:
    return type(node).__name__


def run_traces(graph: Graph, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """Run `graph` in float64 on x [T,B,F] recording every node: (outputs, traces[node][var] [T,B,n])."""
    from snnc.runtime.numpy.runtime import NumpyRuntime

    rt = NumpyRuntime(graph, dtype="float64", record=True)
    outs, act = rt.run(x)
    return outs, act.traces


def rel_error(approx: np.ndarray, exact: np.ndarray) -> float:
    """||approx − exact|| / ||exact|| (absolute error when exact is all zero)."""
    approx, exact = np.asarray(approx, float), np.asarray(exact, float)
    den = np.linalg.norm(exact)
    num = np.linalg.norm(approx - exact)
    return float(num / den) if den > 0 else float(num)


def predictions(y: np.ndarray, labels: np.ndarray, skip_steps: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, true) classes: per sample from [B] / one-hot [B,C] labels (time-summed output),
    per step from [T,B] / one-hot [T,B,C] labels; the first `skip_steps` steps (a warm-up) are not scored."""
    lab = np.asarray(labels)
    T, B = y.shape[:2]
    if not 0 <= skip_steps < T:
        raise SnncError(f"labels: --skip-steps {skip_steps} leaves no step of the {T} to score")
    if lab.ndim == 3 or (lab.ndim == 2 and lab.shape == (T, B) and lab.shape != (B, y.shape[2])):
        true = lab.argmax(-1) if lab.ndim == 3 else lab
        if true.shape != (T, B):
            raise SnncError(f"labels: shape {lab.shape} does not match the output's steps and batch ({T}, {B})")
        return y[skip_steps:].argmax(-1), true[skip_steps:].astype(np.int64)
    true = lab.argmax(-1) if lab.ndim == 2 else lab
    if true.shape != (B,):
        raise SnncError(f"labels: shape {lab.shape} does not match the batch {B} (give [B], [B,C], [T,B] or [T,B,C])")
    return y[skip_steps:].sum(0).argmax(-1), true.astype(np.int64)


def accuracy(y: np.ndarray, labels: np.ndarray, skip_steps: int = 0) -> float:
    """Fraction of correct predictions (see `predictions`)."""
    pred, true = predictions(y, labels, skip_steps)
    return float((pred == true).mean())
