"""Parallel in time: the closed-form scan, the prefix it applies to, the path the runtime chose, equality to stepwise."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from conftest import recurrent_graph, spikes
from test_cpu_matrix import add_cell
from snnc.compiler import LI, Dense, Graph, Input
from snnc.compiler.ir import PRIMITIVES, SPIKE
from snnc.frontends import zoo
from snnc.runtime.numpy import parallel
from snnc.runtime.inputs import NoiseWarning, fill_noise
from snnc.runtime.numpy.runtime import NumpyRuntime


def test_scan_matches_the_recurrence_by_hand():
    # s_t = a·s_{t-1} + u_t from s_{-1} = 2: a = 0.5, u = 1, 0, 4 -> 2, 1, 4.5; a = 0.1 (short chunks), u = 1, 1, 1
    a = np.array([0.5, 0.1])
    u = np.array([[[1.0, 1.0]], [[0.0, 1.0]], [[4.0, 1.0]]])
    s = parallel.scan(a, u, np.array([2.0, 0.0]))
    np.testing.assert_allclose(s[:, 0, 0], [2.0, 1.0, 4.5], rtol=1e-14)
    np.testing.assert_allclose(s[:, 0, 1], [1.0, 1.1, 1.11], rtol=1e-14)


def test_scan_long_sequences_with_fast_decay_stay_finite():
    rng = np.random.default_rng(0)
    a = np.array([0.05, 0.5, 0.999])
    u = rng.normal(0, 1, (3000, 2, 3))
    s, ref = parallel.scan(a, u, np.zeros((2, 3))), np.zeros((3000, 2, 3))
    prev = np.zeros((2, 3))
    for t in range(3000):
        prev = a * prev + u[t]
        ref[t] = prev
    np.testing.assert_allclose(s, ref, rtol=1e-9, atol=1e-9)


# -- NumpyRuntime.run: the lean loop (runtime/numpy/fastloop.py) chosen automatically, equal to the step loop --------

def _stepwise(g, xs, dtype="float64"):
    """The reference: NumpyRuntime.step once per time step (the full bookkeeping loop), outputs stacked [T, B, n]."""
    rt = NumpyRuntime(g, dtype)
    T = next(iter(xs.values())).shape[0]
    ys = [rt.step({k: v[t] for k, v in xs.items()}) for t in range(T)]
    return {o: np.stack([y[o] for y in ys]) for o in g.outputs}, rt.activity()


def _assert_same(g, got, ref, act, act_ref, what):
    for o in ref:
        if g.output_kind(o) == SPIKE or g.nodes[g.output_ref(o)[0]].integer:
            np.testing.assert_array_equal(got[o], ref[o], err_msg=f"{what}: {o}")
        else:
            np.testing.assert_allclose(got[o], ref[o], rtol=1e-9, atol=1e-12, err_msg=f"{what}: {o}")
    for n in act_ref.nonzero:
        np.testing.assert_array_equal(act.nonzero[n], act_ref.nonzero[n], err_msg=f"{what}: activity of {n}")
    np.testing.assert_array_equal(act.steps, act_ref.steps)


@pytest.mark.parametrize("prim", sorted(n for n in PRIMITIVES if n not in ("Input", "EarlyExit")))
@pytest.mark.parametrize("par", [None, True])  # True: linear neurons parallel in time
def test_fast_loop_equals_step_loop_for_every_primitive(prim, par):
    g, xs = Graph(), {}
    add_cell(g, "p", prim, xs, 40, 3, 1)
    rt = NumpyRuntime(g, "float64")
    rt.parallel_time = par
    y, act = rt.run(xs)
    assert rt.last_path["loop"] == "fast"
    node = g.nodes["p"]  # fed by graph inputs only: stateless always runs for all T at once, linear ones if asked
    linear = prim in parallel.LINEAR_STATES and not node.integer
    assert ("p" in rt.last_path["parallel"]) == (not node.states or linear and bool(par)), rt.last_path
    ref, act_ref = _stepwise(g, xs)
    _assert_same(g, y, ref, act, act_ref, prim)


def test_automatic_choice_by_path():
    g = recurrent_graph("LIF", sizes=(7, 6, 3))
    x = spikes(40, 2, 7)
    rt = NumpyRuntime(g)
    rt.run(x)
    # the recurrence n1 <-> rec1 steps, the Dense nodes before and after it run for all T at once, LI steps
    assert rt.last_path == {"loop": "fast", "parallel": ["fc1", "fc2"], "stepwise": ["rec1", "n1", "out"]}
    rt.parallel_time = True
    rt.run(x)
    assert rt.last_path == {"loop": "fast", "parallel": ["fc1", "fc2", "out"], "stepwise": ["rec1", "n1"]}
    ff = Graph()
    ff.add("x", Input(7, "spike"))
    ff.add("fc", Dense.of(np.random.default_rng(0).normal(0, 1, (4, 7))))
    ff.add("li", LI(np.full(4, 0.9), np.full(4, 0.1)))
    ff.connect("x", "fc")
    ff.connect("fc", "li")
    ff.outputs = ["li"]
    rt = NumpyRuntime(ff)
    rt.parallel_time = True
    y_par, _ = rt.run(x)
    assert rt.last_path["parallel"] == ["fc", "li"] and rt.last_path["stepwise"] == []
    rt.parallel_time = None
    y_step, _ = rt.run(x)
    assert rt.last_path == {"loop": "fast", "parallel": ["fc"], "stepwise": ["li"]}
    np.testing.assert_allclose(y_par["li"], y_step["li"], rtol=1e-12, atol=1e-12)
    rt32 = NumpyRuntime(ff, "float32")  # linear neurons step unless asked: step()'s sums exactly
    y32, _ = rt32.run(x)
    assert rt32.last_path["stepwise"] == ["li"]
    np.testing.assert_array_equal(y32["li"], _stepwise(ff, {"x": x}, "float32")[0]["li"])
    rt32.parallel_time = True
    y32p, _ = rt32.run(x)
    assert rt32.last_path["parallel"] == ["fc", "li"]
    np.testing.assert_allclose(y32p["li"], y32["li"], rtol=1e-5, atol=1e-6)
    # what the lean loop does not do takes the step loop: recording, a state output, early exit, a progress bar
    rt = NumpyRuntime(g, record=["n1"])
    rt.run(x)
    assert rt.last_path["loop"] == "step" and rt.last_path["parallel"] == []
    g.outputs = ["out", "n1.v"]
    rt = NumpyRuntime(g)
    rt.run(x)
    assert rt.last_path["loop"] == "step"
    ex, xs = Graph(), {}
    add_cell(ex, "p", "EarlyExit", xs, 12, 2, 0)
    rt = NumpyRuntime(ex)
    rt.run(xs)
    assert rt.last_path["loop"] == "step"


def test_fast_loop_continues_in_streaming():
    g = recurrent_graph("ALIF", sizes=(7, 6, 3), delay=2)
    x = spikes(60, 2, 7)
    ref, _ = _stepwise(g, {"x": x})
    for par in (None, True):  # True: the LI readout ran as a scan and hands its last state to step()
        rt = NumpyRuntime(g)
        rt.parallel_time, T0 = par, 40
        y, _ = rt.run(x[:T0])
        assert rt.last_path["loop"] == "fast" and ("out" in rt.last_path["parallel"]) == bool(par)
        tail = np.stack([rt.step(x[t])["out"] for t in range(T0, 60)])
        np.testing.assert_allclose(np.concatenate([y["out"], tail]), ref["out"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in zoo.PRETRAINED if zoo.PRETRAINED[n].arch != "rc-lstm"])
def test_trained_fixtures_fast_loop_spikes_equal_step_loop(name):
    # rc-lstm ends in an EarlyExit, so its run() is the step loop itself (test_automatic_choice_by_path)
    import torch

    import snnc
    from snnc.frontends.datasets import load_dataset
    model, _ = zoo.load_pretrained(name)
    x, _ = load_dataset(name, "test")
    x = x[:300, :3] if name == "ecg" else x[:, :3]
    g = snnc.trace(model, torch.as_tensor(x[:, :1]))
    g.outputs = [n for n in g.schedule() if n not in g.inputs]  # every node's output, hidden spikes included
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoiseWarning)
        xs = fill_noise(g, x, 0)  # SPSN's noise drawn once, given to both loops
    rt = NumpyRuntime(g, "float64")
    y, act = rt.run(xs)
    assert rt.last_path["loop"] == "fast"
    ref, act_ref = _stepwise(g, xs)
    assert any(g.output_kind(o) == SPIKE and ref[o].any() for o in g.outputs)
    _assert_same(g, y, ref, act, act_ref, name)
