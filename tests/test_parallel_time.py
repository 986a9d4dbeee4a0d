"""Parallel in time: the closed-form scan, the prefix it applies to, the path the runtime chose, equality to stepwise."""
from __future__ import annotations

import dataclasses
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
    # s_t = a·s_{t-1} + u_t from s_{-1} = 2: a = 0.5, u = 1, 0, 4 -> 2, 1, 4.5; a = 0.1, u = 1, 1, 1 -> 1, 1.1, 1.11;
    # a = 1 (a running sum from 2): 3, 3, 7; a = 0 (memoryless): u itself
    a = np.array([0.5, 0.1, 1.0, 0.0])
    u = np.array([[[1.0, 1.0, 1.0, 1.0]], [[0.0, 1.0, 0.0, 1.0]], [[4.0, 1.0, 4.0, 4.0]]])
    s = parallel.scan(a, u, np.array([2.0, 0.0, 2.0, 2.0]))
    np.testing.assert_allclose(s[:, 0, 0], [2.0, 1.0, 4.5], rtol=1e-14)
    np.testing.assert_allclose(s[:, 0, 1], [1.0, 1.1, 1.11], rtol=1e-14)
    np.testing.assert_array_equal(s[:, 0, 2], [3.0, 3.0, 7.0])
    np.testing.assert_array_equal(s[:, 0, 3], [1.0, 1.0, 4.0])


def _recurrence(a, u, s0):
    out, prev = np.empty_like(u), s0
    for t in range(u.shape[0]):
        prev = out[t] = a * prev + u[t]
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_scan_is_the_step_loops_arithmetic_for_any_decay(dtype):
    # decays 0, near 0 (underflowing powers), 1 (no decay: a running sum) and in between, over a long sequence:
    # the scan runs a·s + u in the step's order, so it equals the recurrence bit for bit, in float32 too
    rng = np.random.default_rng(0)
    a = np.array([0.0, 1e-300, 1e-8, 0.05, 0.5, 0.999, 1.0]).astype(dtype)
    u = rng.normal(0, 1, (3000, 2, a.size)).astype(dtype)
    s0 = rng.normal(0, 1, (2, a.size)).astype(dtype)
    s = parallel.scan(a, u, s0)
    assert s.dtype == np.dtype(dtype) and np.isfinite(s).all()
    np.testing.assert_array_equal(s, _recurrence(a, u, s0))
    into = np.zeros((3001, 2, a.size), dtype)[::-1][1:]  # a non-contiguous destination is filled too
    parallel.scan(a, u, s0, out=into)
    np.testing.assert_array_equal(into, s)


def test_linear_state_metadata_lives_on_the_primitives():
    from snnc.compiler.primitives import CubaLI, CubaLIF, LIF, SPSN, LoihiLI
    rng = np.random.default_rng(0)
    assert LI.example(3, rng).linear_states == (("v", "alpha"),)
    assert SPSN.example(3, rng).linear_states == (("i", "alpha"), ("v", "beta"))
    assert CubaLI.example(3, rng).linear_states == (("i", "alpha_syn"), ("v", "alpha_mem"))
    cuba = CubaLIF.example(3, rng)
    assert cuba.reset == "zero" and cuba.linear_states == (("i", "alpha_syn"),)  # v reads its spikes (reset)
    assert parallel.partial(cuba) and not parallel.linear(cuba)
    assert dataclasses.replace(cuba, reset="none").linear_states == (("i", "alpha_syn"), ("v", "alpha_mem"))
    assert LIF.example(3, rng).linear_states == () and not parallel.partial(LIF.example(3, rng))
    assert all(c.elementwise for c in (LI, SPSN, CubaLI, CubaLIF, LIF)) and not Dense.elementwise
    assert parallel.linear_states(LoihiLI.example(3, rng)) == ()  # fixed point wraps: never scanned
    assert not hasattr(parallel, "LINEAR_STATES")  # one place for the metadata


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


def _expect_whole(node, par, T, B) -> bool:
    """The path the runtime must take for a node fed only by graph inputs (stated here, not read from the code)."""
    if not node.states:
        return True  # stateless: one call for all T
    lin = () if node.integer else node.linear_states
    if par is None:  # automatic, when T is long and one step narrow: linear states, or an elementwise float step
        return (bool(lin) or node.elementwise and not node.integer) and T >= 32 and B * node.size <= 1024
    return bool(par) and bool(lin)


@pytest.mark.parametrize("prim", sorted(n for n in PRIMITIVES if n not in ("Input", "EarlyExit")))
@pytest.mark.parametrize("par", [None, True, False])  # True: every node with linear states parallel in time
def test_fast_loop_equals_step_loop_for_every_primitive(prim, par):
    g, xs = Graph(), {}
    add_cell(g, "p", prim, xs, 40, 3, 1)
    rt = NumpyRuntime(g, "float64")
    rt.parallel_time = par
    y, act = rt.run(xs)
    assert rt.last_path["loop"] == "fast"
    assert ("p" in rt.last_path["parallel"]) == _expect_whole(g.nodes["p"], par, 40, 3), rt.last_path
    ref, act_ref = _stepwise(g, xs)
    _assert_same(g, y, ref, act, act_ref, prim)


def _states_after(g, xs, par):
    rt = NumpyRuntime(g, "float64")
    rt.parallel_time = par
    y, act = rt.run(xs)
    return rt, y, act


@pytest.mark.parametrize("kind,reset", [("LI", "zero"), ("SPSN", "zero"), ("CubaLIF", "zero"), ("CubaLIF", "none"),
                                        ("CubaLIF", "subtract"), ("CubaLI", "zero"), ("LIF", "none"), ("LIF", "zero")])
@pytest.mark.parametrize("block", [100, parallel.BLOCK])  # 100: blocks of 3 steps (B·n = 32), a short tail
@pytest.mark.parametrize("par", [True, None])  # None: the default, which also steps a LIF node-major
def test_parallel_equals_stepwise_within_1e6(kind, reset, block, par, monkeypatch):
    # Dense chains with delays and biases around the node, T = 300: outputs, spikes and final states
    monkeypatch.setattr(parallel, "BLOCK", block)
    from snnc.compiler.primitives import SPSN, CubaLI, CubaLIF, LIF
    rng = np.random.default_rng(3)
    H = 16
    node = {"LI": lambda: LI(rng.uniform(0.8, 0.99, H), rng.uniform(0.1, 1, H), rng.uniform(0, 0.5, H)),
            "SPSN": lambda: SPSN(rng.uniform(0.5, 0.95, H), rng.uniform(0.8, 0.99, H), False),
            "CubaLIF": lambda: CubaLIF(rng.uniform(0.5, 0.9, H), rng.uniform(0.8, 0.99, H), rng.uniform(0.1, 1, H),
                                       rng.uniform(0.5, 1.5, H), rng.uniform(0, 0.05, H), reset,
                                       rng.uniform(0, 0.1, H), rng.uniform(0, 0.5, H)),
            "CubaLI": lambda: CubaLI.example(H, rng),
            "LIF": lambda: LIF(rng.uniform(0.8, 0.99, H), rng.uniform(0.1, 1, H), rng.uniform(0.5, 1.5, H), reset,
                               rng.uniform(0, 0.5, H))}[kind]()
    g = Graph()
    g.add("x", Input(9, "spike"))
    g.add("fc1", Dense(rng.normal(0, 1, (H, 9)), rng.normal(0, 0.1, H)))
    g.add("fc1b", Dense.of(rng.normal(0, 0.5, (H, 9))))
    g.add("n", node)
    g.add("fc2", Dense.of(rng.normal(0, 1, (4, H))))
    g.add("out", LI(rng.uniform(0.8, 0.99, 4), rng.uniform(0.1, 1, 4)))
    g.connect("x", "fc1")
    g.connect("x", "fc1b", delay=3)  # a delayed Dense into the same port: the sum of both
    g.connect("fc1", "n")
    g.connect("fc1b", "n")
    g.connect("n", "fc2", delay=2)
    g.connect("fc2", "out")
    g.outputs = ["n", "out"]
    xs = {"x": spikes(300, 2, 9)}
    rt, y, act = _states_after(g, xs, par)
    assert ("n" in rt.last_path["parallel"]) == (par is None or bool(node.linear_states)), rt.last_path
    ref_rt = NumpyRuntime(g, "float64")
    steps = [ref_rt.step(xs["x"][t]) for t in range(300)]
    ref = {o: np.stack([y[o] for y in steps]) for o in g.outputs}
    assert ref["n"].any() and np.abs(ref["out"]).max() > 0.1  # something to compare
    for o in g.outputs:
        np.testing.assert_allclose(y[o], ref[o], rtol=0, atol=1e-6 * (1 + np.abs(ref[o]).max()), err_msg=o)
    if g.output_kind("n") == SPIKE:
        np.testing.assert_array_equal(y["n"], ref["n"])
    for k, v in ref_rt.state["n"].items():  # the final state, handed to step() for streaming on
        np.testing.assert_allclose(rt.state["n"][k], v, rtol=0, atol=1e-6 * (1 + np.abs(v).max()), err_msg=k)
    tail = np.stack([rt.step(xs["x"][t])["out"] for t in range(10)])  # streams on from the run's state
    cont = np.stack([ref_rt.step(xs["x"][t])["out"] for t in range(10)])
    np.testing.assert_allclose(tail, cont, rtol=0, atol=1e-6 * (1 + np.abs(cont).max()))


def test_float32_parallel_within_tolerance_of_float32_stepwise():
    g = _zoo("spsn", {"sizes": [40, 32, 32, 5], "stochastic": False})
    x = spikes(400, 2, 40, rate=0.1)
    rt = NumpyRuntime(g, "float32")
    y, _ = rt.run(x)
    assert {"layer1.spsn", "layer2.spsn", "readout.li"} <= set(rt.last_path["parallel"])
    ref, _ = _stepwise(g, {g.inputs[0]: x}, "float32")
    o = g.outputs[0]
    assert y[o].dtype == np.float32
    np.testing.assert_allclose(y[o], ref[o], rtol=1e-4, atol=1e-4 * (1 + np.abs(ref[o]).max()))


def _zoo(arch, cfg):
    import torch

    import snnc
    model, _ = zoo.build(arch, cfg)
    model.eval()
    return snnc.trace(model, torch.zeros(4, 1, cfg["sizes"][0]))


@pytest.mark.parametrize("arch,cfg", [("spsn", {"sizes": [50, 24, 24, 6], "stochastic": False}),
                                      ("cuba", {"sizes": [50, 24, 24, 6], "recurrent": False})])
def test_zoo_feed_forward_stacks_parallel_equal_stepwise(arch, cfg):
    # the benchmark's ff-spsn / ff-cuba stacks at a small size: SPSN and LI solved whole, CubaLIF's current scanned
    g = _zoo(arch, cfg)
    g.outputs = [n for n in g.schedule() if n not in g.inputs]
    x = spikes(500, 2, 50, rate=0.1)
    ref, act_ref = _stepwise(g, {g.inputs[0]: x})
    assert any(g.output_kind(o) == SPIKE and ref[o].any() for o in g.outputs)
    for par in (None, True):
        rt = NumpyRuntime(g, "float64")
        rt.parallel_time = par
        y, act = rt.run(x)
        if arch == "spsn":  # every node for all T at once
            assert rt.last_path["stepwise"] == [] and rt.last_path["node_loops"] == []
        elif par:  # CubaLIF's current scanned (its v stepped inside), the IF layer in the step loop, the LI solved
            assert rt.last_path["stepwise"] == ["layer2.if"]
            assert {"layer1.cuba", "readout.li"} <= set(rt.last_path["parallel"])
            assert rt.last_path["node_loops"] == ["layer1.cuba"]  # v stepped by a generated loop (steploop.node_loop)
        else:  # by default the IF layer (narrow, elementwise) is stepped node-major on flat rows too
            assert rt.last_path["stepwise"] == [] and "layer2.if" in rt.last_path["parallel"]
            assert rt.last_path["node_loops"] == ["layer1.cuba", "layer2.if"]
        _assert_same(g, y, ref, act, act_ref, f"{arch} par={par}")


def test_automatic_choice_by_path():
    g = recurrent_graph("LIF", sizes=(7, 6, 3))
    x = spikes(40, 2, 7)
    rt = NumpyRuntime(g)
    rt.run(x)
    # the recurrence n1 <-> rec1 steps; the Dense nodes before and after it and the LI readout run for all T
    # (every stepped node's step inlined in the generated step loop, the neuron's constants tiled to the batch)
    assert rt.last_path == {"loop": "fast", "parallel": ["fc1", "fc2", "out"], "stepwise": ["rec1", "n1"],
                            "inlined": ["rec1", "n1"], "tiled": ["n1"], "node_loops": [], "reused": 0}
    rt.parallel_time = False
    rt.run(x)
    assert rt.last_path == {"loop": "fast", "parallel": ["fc1", "fc2"], "stepwise": ["rec1", "n1", "out"],
                            "inlined": ["rec1", "n1", "out"], "tiled": ["n1", "out"],
                            "node_loops": [], "reused": 0}  # (arrays under 1 MB are never pooled)
    rt.parallel_time = None
    rt.run(x[:31])  # too short to be worth a scan
    assert rt.last_path["stepwise"] == ["rec1", "n1", "out"]
    ff = Graph()
    ff.add("x", Input(7, "spike"))
    ff.add("fc", Dense.of(np.random.default_rng(0).normal(0, 1, (4, 7))))
    ff.add("li", LI(np.full(4, 0.9), np.full(4, 0.1)))
    ff.connect("x", "fc")
    ff.connect("fc", "li")
    ff.outputs = ["li"]
    rt = NumpyRuntime(ff)
    y_par, _ = rt.run(x)
    assert rt.last_path == {"loop": "fast", "parallel": ["fc", "li"], "stepwise": [], "inlined": [], "tiled": [],
                            "node_loops": [], "reused": 0}
    wide = spikes(40, 257, 7)  # 257 samples x 4 neurons: one step is wide enough that stepping wins
    y_wide, _ = rt.run(wide)
    assert rt.last_path == {"loop": "fast", "parallel": ["fc"], "stepwise": ["li"], "inlined": ["li"],
                            "tiled": ["li"], "node_loops": [], "reused": 0}
    rt.parallel_time = True
    y_wide_par, _ = rt.run(wide)
    assert rt.last_path["parallel"] == ["fc", "li"]
    np.testing.assert_allclose(y_wide_par["li"], y_wide["li"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y_par["li"], _stepwise(ff, {"x": x})[0]["li"], rtol=1e-12, atol=1e-12)
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
    for par in (False, None):  # None: the LI readout ran as a scan and hands its last state to step()
        rt = NumpyRuntime(g)
        rt.parallel_time, T0 = par, 40
        y, _ = rt.run(x[:T0])
        assert rt.last_path["loop"] == "fast" and ("out" in rt.last_path["parallel"]) == (par is None)
        tail = np.stack([rt.step(x[t])["out"] for t in range(T0, 60)])
        np.testing.assert_allclose(np.concatenate([y["out"], tail]), ref["out"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in zoo.PRETRAINED if zoo.PRETRAINED[n].arch != "rc-lstm"])
@pytest.mark.parametrize("par", [None, True])
def test_trained_fixtures_fast_loop_spikes_equal_step_loop(name, par):
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
    rt.parallel_time = par
    y, act = rt.run(xs)
    assert rt.last_path["loop"] == "fast"
    T, B = x.shape[:2]
    for n in g.outputs:  # the path each node took, from the rules (stepped inside a recurrence)
        if n in rt.last_path["parallel"]:
            assert _expect_whole(g.nodes[n], par, T, B), n
    if name == "digits-spsn" and par:  # T = 8: solved whole only when asked (the default steps short sequences)
        assert {n for n in g.outputs if type(g.nodes[n]).__name__ == "SPSN"} <= set(rt.last_path["parallel"])
    ref, act_ref = _stepwise(g, xs)
    assert any(g.output_kind(o) == SPIKE and ref[o].any() for o in g.outputs)
    _assert_same(g, y, ref, act, act_ref, name)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_decays_near_zero_and_one_through_the_runtime(dtype, memoryless):
    # SPSN with alpha = 1 (a running sum of its input) and beta near 0 or 0, an LI readout with both extremes:
    # run()'s default path solves them, equal to stepping every node
    from snnc.compiler.primitives import SPSN
    rng = np.random.default_rng(5)
    g = Graph()
    g.add("x", Input(6, "spike"))
    g.add("fc", Dense.of(rng.normal(0, 0.3, (4, 6))))
    g.add("n", SPSN(np.array([1.0, 1.0, 1e-12, 0.5]), np.array([1e-300, 0.0, 1.0, 0.999]), False))
    g.add("ro", Dense.of(rng.normal(0, 1, (3, 4))))
    g.add("li", LI(np.array([1.0, 1e-12, 0.0]), np.ones(3)))
    for a, b in (("x", "fc"), ("fc", "n"), ("n", "ro"), ("ro", "li")):
        g.connect(a, b)
    g.outputs = ["n", "li"]
    x = spikes(600, 1, 6)
    rt = NumpyRuntime(g, dtype)
    y, _ = rt.run(x)
    assert {"n", "li"} <= set(rt.last_path["parallel"])
    ref, _ = _stepwise(g, {"x": x}, dtype)
    assert ref["n"].any() and not ref["n"].all()
    np.testing.assert_array_equal(y["n"], ref["n"])
    tol = 1e-12 if dtype == "float64" else 1e-5  # the scans are the step loop's arithmetic; BLAS may sum otherwise
    np.testing.assert_allclose(y["li"], ref["li"], rtol=tol, atol=tol * np.abs(ref["li"]).max())
    assert np.isfinite(y["li"]).all() and np.abs(ref["li"]).max() > 1  # alpha = 1: the sum grows
