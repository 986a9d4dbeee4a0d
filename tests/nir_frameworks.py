"""Shared helpers of the cross-framework NIR tests: run an IR graph on numpy, onnx and Lava and compare spikes."""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import SPIKE, Graph
from snnc.runtime.numpy.runtime import NumpyRuntime

TARGETS = ("numpy", "onnx", "lava")


def spikes(T: int, B: int, F: int, rate: float = 0.3, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((T, B, F)) < rate).astype(np.float64)


def run_on(target: str, g: Graph, x: np.ndarray, record: list[str]) -> tuple[dict, dict]:
    """(outputs, {node: output trace}) of `g` on `target`, in float64."""
    if target == "numpy":
        outs, act = NumpyRuntime(g, "float64", record=record).run(x)
    else:
        from snnc.compiler.targets import get_target
        outs, act = get_target("loihi" if target == "lava" else target).run_graph(
            g, x, {"dtype": "float64", "record": record})
    return outs, {n: np.asarray(act.traces[n]["out"]) for n in record}


def assert_same_spikes(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """Spike for spike; on failure say where the first difference is."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    bad = np.argwhere(got != want)
    assert bad.size == 0, (f"{what}: {len(bad)} of {got.size} spikes differ, first at [t, b, n] = {bad[0].tolist()} "
                           f"({int(got.sum())} vs {int(want.sum())} spikes)")


def spiking_nodes(g: Graph) -> list[str]:
    return [n for n, p in g.nodes.items() if p.out_kind == SPIKE and n not in g.inputs]
