"""The compiled backend in the equivalence matrix: every registered primitive, cpu against the NumPy runtime.

float64: identical spikes and outputs to rounding; float32: at least 99.99 % of spikes equal; fixed point
(integer primitives): bit-exact. One small graph per primitive; float32 runs all primitives in one graph,
so the suite compiles one kernel for it (numba compiles are the slow part of these tests). A primitive the
compiled backend cannot run is listed in UNSUPPORTED with the reason and must be refused with one error
naming the node, the primitive and the backend.
"""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import LoweringError
from snnc.compiler.ir import GRADED, PRIMITIVES, SPIKE, Graph
from snnc.compiler.primitives import Input
from snnc.runtime.cpu.runtime import CpuRuntime
from snnc.runtime.numpy.runtime import NumpyRuntime

UNSUPPORTED = {n: "no convolution or pooling ops in the compiled backend's vocabulary"
               for n in ("Conv1d", "Conv2d", "SumPool2d", "AvgPool2d")}
NAMES = sorted(n for n in PRIMITIVES if n != "Input" and n not in UNSUPPORTED)


def _feed(node, port: str, kind: str, T: int, B: int, rng) -> np.ndarray:
    """Inputs a port accepts: spikes, uniform noise, integer-valued messages for fixed point, else reals."""
    n = node.in_size(port)
    if port == "noise":
        return rng.random((T, B, n))
    if kind == SPIKE:
        return (rng.random((T, B, n)) < 0.3).astype(float)
    if node.integer:
        return rng.integers(-60, 60, (T, B, n)).astype(float)
    return rng.normal(0, 1.0, (T, B, n))


def add_cell(g: Graph, name: str, prim: str, xs: dict, T: int, B: int, seed: int) -> None:
    """`prim` fed on every port by its own graph input (spikes where the node reads spikes well)."""
    rng = np.random.default_rng(seed)
    node = PRIMITIVES[prim].example(5, rng)
    g.add(name, node)
    for port, want in node.ports.items():
        synapse = prim.endswith("Dense") or prim == "LoihiDense"
        kind = SPIKE if (want != GRADED and port != "noise" and (synapse or not node.integer)) else GRADED
        src = f"{name}.x_{port}"
        g.add(src, Input(node.in_size(port), kind))
        g.connect(src, name, port=port)
        xs[src] = _feed(node, port, kind, T, B, rng)
    g.outputs.append(name)


def _cell(prim: str, T=12, B=3, seed=0):
    g, xs = Graph(), {}
    add_cell(g, "p", prim, xs, T, B, seed)
    return g, xs


@pytest.mark.parametrize("prim", NAMES)
def test_float64_equals_numpy(prim):
    g, xs = _cell(prim)
    y, act = CpuRuntime(g, "float64", record=["p"]).run(xs)
    yn, actn = NumpyRuntime(g, "float64", record=["p"]).run(xs)
    for k in yn:
        if g.nodes["p"].out_kind == SPIKE or g.nodes["p"].integer or k.endswith((":decision", ":time")):
            np.testing.assert_array_equal(y[k], yn[k], err_msg=f"{prim} output {k}")
        else:
            np.testing.assert_allclose(y[k], yn[k], rtol=1e-12, atol=1e-12, err_msg=f"{prim} output {k}")
    for var, v in actn.traces["p"].items():
        np.testing.assert_allclose(act.traces["p"][var], v, rtol=1e-12, atol=1e-12, err_msg=f"{prim} state {var}")
    for n in actn.nonzero:
        np.testing.assert_array_equal(act.nonzero[n], actn.nonzero[n], err_msg=f"{prim} activity of {n}")
    np.testing.assert_array_equal(act.steps, actn.steps)


def test_unsupported_entries_are_registered_primitives():
    assert set(UNSUPPORTED) <= set(PRIMITIVES), f"stale entries: {sorted(set(UNSUPPORTED) - set(PRIMITIVES))}"


@pytest.mark.parametrize("prim", sorted(UNSUPPORTED))
def test_unsupported_is_refused_naming_node_primitive_backend(prim):
    g, _ = _cell(prim)
    with pytest.raises(LoweringError, match=rf"node 'p' \({prim}\).*backend 'cpu'"):
        CpuRuntime(g, "float64")


def test_float32_all_primitives_in_one_graph():
    g, xs = Graph(), {}
    float_prims = [p for p in NAMES if not PRIMITIVES[p].integer and p != "EarlyExit"]
    for i, prim in enumerate(float_prims):
        add_cell(g, prim, prim, xs, 40, 4, i)
    y, act = CpuRuntime(g, "float32").run(xs)
    yn, actn = NumpyRuntime(g, "float32").run(xs)
    for prim in float_prims:
        if g.nodes[prim].out_kind == SPIKE:
            agree = (y[prim] == yn[prim]).mean()
            assert agree >= 0.9999, f"{prim}: {agree:.6f} of float32 spikes agree"
            assert yn[prim].any(), f"{prim}: the cell never spikes, the comparison is empty"
        else:
            np.testing.assert_allclose(y[prim], yn[prim], rtol=2e-4, atol=2e-4, err_msg=prim)
