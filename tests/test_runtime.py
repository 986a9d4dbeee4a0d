"""NumPy reference runtime: kernels equal DESIGN §3 written out by hand, step == run, delays, inputs, activity."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import neuron_of, recurrent_graph, spikes
from snnc.backends.numpy.lower import lower
from snnc.compiler import ALIF, LI, LIF, CubaLIF, Dense, Graph, Input, InputError, LoweringError, PRIMITIVES
from snnc.compiler.ir import Primitive, primitive
from snnc.runtime.numpy.runtime import NumpyRuntime, run


def single(node, T=40, seed=0):
    """One population fed directly by a graded input (no Dense), its input sequence and recorded traces."""
    g = Graph()
    g.add("x", Input(node.size))
    g.add("n", node)
    g.connect("x", "n")
    g.outputs = ["n"]
    I = np.random.default_rng(seed).normal(0.3, 0.8, (T, 2, node.size))
    out, act = NumpyRuntime(g, "float64", record=True).run(I)
    return I, out["n"], act.traces["n"]


@pytest.mark.parametrize("reset", ["zero", "subtract", "none"])
def test_lif_kernel_matches_equations(reset):
    node = LIF(alpha=np.array([0.9, 0.8, 0.95]), gain=np.array([1.0, 0.5, 2.0]), theta=np.array([1.0, 0.7, 1.2]), reset=reset, v0=0.1)
    I, out, tr = single(node)
    v = np.full((2, 3), 0.1)
    for t in range(len(I)):
        v = node.alpha * v + node.gain * I[t]
        s = (v - node.theta > 0).astype(float)
        v = v * (1 - s) if reset == "zero" else (v - node.theta * s if reset == "subtract" else v)
        np.testing.assert_array_equal(out[t], s)
        np.testing.assert_allclose(tr["v"][t], v, rtol=0, atol=1e-12)
    assert out.sum() > 0  # the test exercised spikes


def test_cubalif_kernel_matches_equations():
    node = CubaLIF.example(3)
    I, out, tr = single(node)
    i, v = np.broadcast_to(node.i0, (2, 3)).copy(), np.broadcast_to(node.v0, (2, 3)).copy()
    for t in range(len(I)):
        i = node.alpha_syn * i + I[t]
        v = node.alpha_mem * v + node.gain * i + node.bias
        s = (v > node.theta).astype(float)
        v = v * (1 - s)
        np.testing.assert_array_equal(out[t], s)
        np.testing.assert_allclose(tr["v"][t], v, atol=1e-12)
        np.testing.assert_allclose(tr["i"][t], i, atol=1e-12)
    assert out.sum() > 0


def test_alif_kernel_matches_equations():
    node = ALIF(alpha=np.array([0.9, 0.95]), rho=np.array([0.99, 0.9]), b0=0.3, beta=1.8, R=2.0, b_init=0.01)
    I, out, tr = single(node, T=60)
    v, b, s = np.zeros((2, 2)), np.full((2, 2), 0.01), np.zeros((2, 2))
    for t in range(len(I)):
        b = node.rho * b + (1 - node.rho) * s
        B = node.b0 + node.beta * b
        v = node.alpha * v + (1 - node.alpha) * node.R * I[t] - B * s
        s = (v - B > 0).astype(float)
        np.testing.assert_array_equal(out[t], s)
        np.testing.assert_allclose(tr["v"][t], v, atol=1e-12)
        np.testing.assert_allclose(tr["b"][t], b, atol=1e-12)
    assert out.sum() > 0


def test_li_kernel_matches_equations():
    node = LI(alpha=np.array([0.5, 0.9]), gain=np.array([1.0, 0.1]), v0=np.array([1.0, -1.0]))
    I, out, _ = single(node)
    v = np.array([[1.0, -1.0]] * 2)
    for t in range(len(I)):
        v = node.alpha * v + node.gain * I[t]
        np.testing.assert_allclose(out[t], v, atol=1e-12)


@pytest.mark.usefixtures("memoryless")  # LI with alpha 0: output = input
def test_dense_and_edge_sums():
    """Several edges into one port add up; a Dense computes W·x + b."""
    g = Graph()
    g.add("x", Input(2))
    g.add("a", Dense(np.array([[1.0, 2.0]]), np.array([0.5])))
    g.add("b", Dense(np.array([[-1.0, 3.0]]), np.array([0.0])))
    g.add("o", LI(alpha=0.0, gain=np.array([1.0])))
    for e in (("x", "a"), ("x", "b"), ("a", "o"), ("b", "o")):
        g.connect(*e)
    g.outputs = ["o"]
    x = np.array([[[1.0, 1.0]], [[2.0, 0.0]]])
    out, _ = run(g, x)
    np.testing.assert_allclose(out["o"][:, 0, 0], [1 + 2 + 0.5 - 1 + 3, 2 + 0.5 - 2])


@pytest.mark.parametrize("delay", [1, 2, 5])
@pytest.mark.usefixtures("memoryless")  # LI with alpha 0: output = input
def test_delayed_edge_delivers_t_minus_d(delay):
    g = Graph()
    g.add("x", Input(1))
    g.add("o", LI(alpha=0.0, gain=np.array([1.0])))  # output = input of this step
    g.connect("x", "o", delay=delay)
    g.outputs = ["o"]
    x = np.arange(1, 11, dtype=float).reshape(10, 1, 1)
    out, _ = run(g, x)
    expect = np.concatenate([np.zeros(delay), np.arange(1, 11 - delay)])
    np.testing.assert_array_equal(out["o"][:, 0, 0], expect)


@pytest.mark.parametrize("kind", ["LIF", "CubaLIF", "ALIF"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_step_equals_run(kind, dtype):
    g = recurrent_graph(kind, sizes=(7, 6, 3), delay=2)
    x = spikes(120, 3, 7)
    whole = NumpyRuntime(g, dtype)
    whole.parallel_time = False  # the LI readout stepped: the same sums as step() (the scan: test_parallel_time)
    ref, act = whole.run(x)
    rt = NumpyRuntime(g, dtype)
    rt.reset(3)
    ys = np.stack([rt.step(x[t])["out"] for t in range(len(x))])
    np.testing.assert_array_equal(ys, ref["out"])
    assert act.nonzero["n1"].sum() > 0
    np.testing.assert_array_equal(rt.activity().nonzero["n1"], act.nonzero["n1"])


def test_float32_close_to_float64():
    g = recurrent_graph("ALIF", sizes=(20, 32, 4))
    x = spikes(150, 4, 20)
    o64, a64 = NumpyRuntime(g, "float64", record=["n1"]).run(x)
    o32, a32 = NumpyRuntime(g, "float32", record=["n1"]).run(x)
    assert o32["out"].dtype == np.float32
    agree = (a32.traces["n1"]["out"] == a64.traces["n1"]["out"]).mean()
    assert agree >= 0.999


def test_activity_counts_spikes_per_step_and_sample():
    g = recurrent_graph("LIF")
    x = spikes(30, 2, 6)
    _, act = NumpyRuntime(g, record=["n1"]).run(x)
    np.testing.assert_array_equal(act.nonzero["n1"], act.traces["n1"]["out"].sum(axis=2))
    np.testing.assert_array_equal(act.nonzero["x"], x.sum(axis=2))
    assert act.kinds["n1"] == "spike" and act.kinds["out"] == "graded"
    assert act.steps.tolist() == [30, 30]
    assert act.total_spikes() == int(x.sum() + act.nonzero["n1"].sum())


def test_activity_save_load_round_trip(tmp_path):
    _, act = NumpyRuntime(recurrent_graph(), record=True).run(spikes(10, 2, 6))
    act.save(tmp_path / "a.npz")
    b = type(act).load(tmp_path / "a.npz")
    assert b.T == 10 and b.batch == 2 and b.kinds == act.kinds
    for n in act.nonzero:
        np.testing.assert_array_equal(b.nonzero[n], act.nonzero[n])
    np.testing.assert_array_equal(b.traces["n1"]["v"], act.traces["n1"]["v"])


@pytest.mark.parametrize("x, message", [
    (np.zeros((10, 6)), r"expected rank 3 \[T, B, 6\], got shape \(10, 6\); add a batch axis"),
    (np.zeros((10, 2, 5)), r"expected \[T, B, 6\] features, got shape \(10, 2, 5\)"),
    (np.zeros((10, 2, 6), dtype=complex), r"dtype complex128 is not numeric"),
    (np.full((3, 1, 6), np.nan), r"contains NaN or inf"),
    (np.zeros((0, 1, 6)), r"empty sequence or batch"),
    ({"y": np.zeros((2, 1, 6))}, r"missing input\(s\) x"),
])
def test_bad_inputs_are_named(x, message):
    with pytest.raises(InputError, match=message):
        NumpyRuntime(recurrent_graph()).run(x)


def test_integer_and_bool_inputs_are_accepted():
    g = recurrent_graph()
    x = spikes(10, 2, 6)
    ref, _ = run(g, x)
    out, _ = run(g, x.astype(bool))
    np.testing.assert_array_equal(out["out"], ref["out"])


def test_step_batch_change_is_an_error():
    rt = NumpyRuntime(recurrent_graph())
    rt.step(np.zeros((2, 6)))
    with pytest.raises(InputError, match="batch 3 differs from the running batch 2"):
        rt.step(np.zeros((3, 6)))


def test_every_primitive_has_a_step():
    missing = [n for n, cls in PRIMITIVES.items() if cls.step is None]
    assert not missing, f"primitives without a step: {missing}"


def test_unknown_primitive_is_a_lowering_error():
    @primitive
    class Mystery(Primitive):
        """Test-only primitive without a kernel."""
        w: np.ndarray
        per_neuron = ("w",)

    try:
        g = Graph()
        g.add("x", Input(2))
        g.add("m", Mystery(np.ones(2)))
        g.connect("x", "m")
        g.outputs = ["m"]
        with pytest.raises(LoweringError, match=r"node 'm' \(Mystery\): no lowering rule for backend 'numpy'"):
            lower(g)
    finally:
        PRIMITIVES.pop("Mystery", None)


# -- the whole-sequence loop's event-driven products and lazy activity (runtime/numpy/fastloop.py) ------------------

def test_sparse_product_sums_exactly_what_blas_sums():
    # integer weights and inputs in {0, 1, 2}: every partial sum is exact in float32, so any order gives the same bits
    from snnc.compiler.primitives.ops import NumpyOps, row_key
    rng = np.random.default_rng(1)
    W = rng.integers(-8, 9, (128, 300)).astype(np.float32)
    for rows in (64, 2000):  # one step's batch; a whole sequence [T·B, in] (row counts kept)
        x = ((rng.random((rows, 300)) < 0.04) * rng.integers(1, 3, (rows, 300))).astype(np.float32)
        ops = NumpyOps("float32", sparse=True)
        y = ops.matmul(x, W)
        assert ops.sparse_calls == 1
        np.testing.assert_array_equal(y, NumpyOps("float32").matmul(x, W))
        np.testing.assert_array_equal(y, (x.astype(np.int64) @ W.T.astype(np.int64)).astype(np.float32))
        if rows >= 1024:
            np.testing.assert_array_equal(ops.row_counts[row_key(x)][1], np.count_nonzero(x, axis=1))
    dense_x = (rng.random((2000, 300)) < 0.5).astype(np.float32)  # half ones: BLAS is faster
    ops = NumpyOps("float32", sparse=True)
    np.testing.assert_array_equal(ops.matmul(dense_x, W), dense_x @ W.T)
    assert ops.sparse_calls == 0


def test_nonzero_flat_lists_what_flatnonzero_lists():
    # the word-at-a-time listing (sizes that are and are not whole words, small and large, empty and full)
    from snnc.compiler.primitives.ops import nonzero_flat
    rng = np.random.default_rng(3)
    for shape in ((184, 700), (187, 700), (64, 128), (300, 256), (2, 3)):
        for rate in (0.0, 0.05, 0.6, 1.0):
            m = rng.random(shape) < rate
            np.testing.assert_array_equal(nonzero_flat(m), np.flatnonzero(m))
    m = np.zeros(2 ** 16, bool)
    m[[0, 7, 8, 2 ** 16 - 1]] = True  # a word's first and last byte, the next word's first, the very last
    np.testing.assert_array_equal(nonzero_flat(m), [0, 7, 8, 2 ** 16 - 1])


@pytest.mark.parametrize("kind", ["spike", "graded"])
def test_float32_input_tested_in_its_listing_fails_as_check_inputs_fails(kind):
    # a float32 input read by an event-driven Dense is tested for 0/1 or finite values in the listing of its
    # nonzeros (run()'s last_path "listed"), not by check_inputs; a bad value raises what check_inputs raises
    import dataclasses
    from snnc.runtime.inputs import check_inputs
    g = recurrent_graph(sizes=(300, 128, 8))
    g.nodes["x"] = dataclasses.replace(g.nodes["x"], kind=kind)
    x = spikes(40, 32, 300, rate=0.03, seed=5).astype(np.float32)
    rt = NumpyRuntime(g, "float32")
    y, _ = rt.run(x)
    assert rt.last_path["listed"] == ["x"] and rt.last_path["sparse"] == ["fc1"], rt.last_path
    y64, _ = rt.run(x.astype(np.float64))  # not the runtime's dtype: check_inputs tests it, the same product
    assert rt.last_path["listed"] == [] and rt.last_path["sparse"] == ["fc1"], rt.last_path
    np.testing.assert_array_equal(y["out"], y64["out"])
    dense = (spikes(40, 32, 300, rate=0.6, seed=6)).astype(np.float32)  # BLAS's product: no listing
    rt.run(dense)
    assert rt.last_path["listed"] == [] and rt.last_path["sparse"] == [], rt.last_path
    for base in (x, dense):
        for bad in (np.nan, np.inf, -np.inf, 2.0, 0.5, -1.0):
            xb = base.copy()
            xb[17, 3, 101] = bad
            try:
                check_inputs({"x": 300}, xb, "float32", "input", {"x": kind})
            except InputError as e:
                with pytest.raises(InputError) as got:
                    rt.run(xb)
                assert str(got.value) == str(e)
            else:  # a graded input takes any finite value
                assert kind == "graded" and np.isfinite(bad)
                np.testing.assert_array_equal(rt.run(xb)[0]["out"], rt.run(xb.astype(np.float64))[0]["out"])


def _shd_like(dtype):
    """The benchmark's SHD-size SRNN (zoo srnn 700-128r-128r-20, hidden layers fire at 2-3 %), 5 % input spikes."""
    import torch

    import snnc
    from snnc.frontends import zoo
    module, _ = zoo.build("srnn", {})
    x = spikes(40, 32, 700, rate=0.05, seed=4)
    g = snnc.trace(module.eval(), torch.as_tensor(x[:4, :1], dtype=torch.float32))
    return g, x, NumpyRuntime(g, dtype)


def test_float32_takes_event_driven_products_by_path():
    g, x, rt = _shd_like("float32")
    y, act = rt.run(x)
    # the input and hidden-layer products whole-sequence, and most recurrent products of the 2 x 40 steps
    assert rt.last_path["sparse"] == ["layer1.fc", "layer2.fc"] and rt.last_path["sparse_calls"] > 60, rt.last_path
    ref = NumpyRuntime(g, "float32")
    ref.reset(32)
    o = g.outputs[0]
    ys = np.stack([ref.step(x[t])[o] for t in range(40)])  # step(): dense BLAS products
    np.testing.assert_allclose(y[o], ys, rtol=1e-4, atol=1e-5)
    ref_act = ref.activity()
    for n in ("layer1.alif", "layer2.alif"):
        assert (act.nonzero[n] == ref_act.nonzero[n]).mean() >= 0.999 and ref_act.nonzero[n].sum() > 100
    np.testing.assert_array_equal(act.nonzero[g.inputs[0]], x.sum(axis=2))  # the input's counts from its index
    rt64 = NumpyRuntime(g, "float64")
    rt64.run(x)
    assert "sparse" not in rt64.last_path  # float64 keeps BLAS's sums, identical to step()'s


def test_without_scipy_the_products_stay_dense(monkeypatch):
    from snnc.compiler.primitives import ops
    g, x, rt = _shd_like("float32")
    monkeypatch.setattr(ops, "_KERNEL", [None])
    y, _ = rt.run(x)
    assert rt.last_path["sparse"] == [] and rt.last_path["sparse_calls"] == 0
    ref = NumpyRuntime(g, "float32")
    ref.reset(32)
    o = g.outputs[0]
    np.testing.assert_allclose(y[o], np.stack([ref.step(x[t])[o] for t in range(40)]), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lazy_activity_equals_the_step_loops_counts(dtype):
    import pickle
    from snnc.compiler.activity import LazyCounts
    g, x, rt = _shd_like(dtype)
    o = g.outputs[0]
    g.outputs = [o, "layer2.fc"]
    rt = NumpyRuntime(g, dtype)
    y, act = rt.run(x)
    assert isinstance(act.nonzero, LazyCounts) and act.nonzero._fn  # hidden layers not counted yet
    ref = NumpyRuntime(g, dtype)
    ref.reset(32)
    outs = [ref.step(x[t]) for t in range(40)]
    ref_act = ref.activity()
    want = {n: act.nonzero[n].copy() for n in ref_act.nonzero} if dtype == "float32" else ref_act.nonzero
    y["layer2.fc"][:] = 0  # what the caller holds may change after the run: its counts were taken before
    x[:] = 0
    assert list(act.nonzero) == list(ref_act.nonzero)
    for n in ref_act.nonzero:
        np.testing.assert_array_equal(act.nonzero[n], want[n], err_msg=n)
        assert act.nonzero[n].dtype == np.int64 and act.nonzero[n].shape == (40, 32)
    if dtype == "float64":
        np.testing.assert_array_equal(act.nonzero["layer2.fc"],
                                      np.count_nonzero(np.stack([v["layer2.fc"] for v in outs]), axis=2))
    else:  # float32: the event-driven sums may flip a rare spike against step()'s
        assert all((act.nonzero[n] == ref_act.nonzero[n]).mean() >= 0.999 for n in ref_act.nonzero)
    assert act.total_spikes() == sum(int(v.sum()) for n, v in want.items() if act.kinds[n] == "spike")
    b = pickle.loads(pickle.dumps(act))  # (the Dask workers' transport) carries the counted values
    assert type(b.nonzero) is LazyCounts and not b.nonzero._fn
    for n in want:
        np.testing.assert_array_equal(b.nonzero[n], want[n])


def test_fast_loop_leaves_garbage_collection_as_it_found_it():
    import gc
    g, x = recurrent_graph(), spikes(10, 2, 6)
    NumpyRuntime(g).run(x)
    assert gc.isenabled()
    gc.disable()
    try:
        NumpyRuntime(g).run(x)
        assert not gc.isenabled()
    finally:
        gc.enable()
    from snnc.runtime.numpy import fastloop

    def broken(*args):
        raise RuntimeError("a kernel failed")
    try:
        fastloop._steps, steps = broken, fastloop._steps
        with pytest.raises(RuntimeError, match="a kernel failed"):
            NumpyRuntime(g).run(x)
    finally:
        fastloop._steps = steps
    assert gc.isenabled()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("prim", sorted(PRIMITIVES))
def test_traced_step_computes_what_the_step_computes(prim, dtype):
    # the whole-sequence loop's kernels: each primitive's step traced into straight-line code, bit-identical
    from test_cpu_matrix import add_cell
    from snnc.backends.numpy.lower import step_kernel, traced_kernel
    from snnc.compiler.primitives.ops import NumpyOps, prepared
    g, xs = Graph(), {}
    add_cell(g, "p", prim, xs, 6, 3, 2)
    node, ops = g.nodes["p"], NumpyOps(dtype)
    p = prepared(node, ops.dtype)
    traced = traced_kernel("p", node, ops, p)
    if node.integer:  # fixed-point steps call ops.fx on values: they keep step_kernel
        assert traced is None
        return
    assert traced is not None and "def kernel" in traced.source
    plain = step_kernel("p", node, ops)
    dt = ops.dtype
    st_a = {k: np.repeat(v.astype(dt)[None], 3, axis=0) for k, v in node.initial_state().items()}
    st_b = {k: v.copy() for k, v in st_a.items()}
    ports = list(node.ports)
    for t in range(6):
        inp = ({port: xs[f"p.x_{port}"][t].astype(dt) for port in ports} if node.ports
               else {"x": np.random.default_rng(t).random((3, node.size)).astype(dt)})  # an Input: its data
        np.testing.assert_array_equal(traced(p, st_a, dict(inp)), plain(p, st_b, dict(inp)), err_msg=f"{prim} t={t}")
        assert st_a.keys() == st_b.keys()
        for k in st_b:
            np.testing.assert_array_equal(st_a[k], st_b[k], err_msg=f"{prim} state {k} t={t}")


def test_steps_that_inspect_values_keep_the_plain_kernel():
    from snnc.backends.numpy.lower import traced_kernel
    from snnc.compiler.primitives.ops import NumpyOps, prepared

    @primitive
    class Peeks(Primitive):
        """Test-only primitive whose step branches on a value (outside the step contract)."""
        w: np.ndarray
        per_neuron = ("w",)
        ports = {"in": "graded"}

        def step(self, ops, p, s, x):
            if self.w[0] == 2:
                return (x["in"] if x["in"] == 0 else ops.neg(x["in"])), {}  # a comparison of a value
            return (x["in"] if x["in"].sum() > 0 else ops.neg(x["in"])), {}  # a method of a value

    try:
        for w in (1.0, 2.0):
            node = Peeks(np.full(2, w))
            assert traced_kernel("k", node, NumpyOps(), prepared(node, np.float64)) is None
    finally:
        PRIMITIVES.pop("Peeks", None)


def test_the_runtime_keeps_no_reference_to_the_input_after_a_run():
    import weakref
    g, x, rt = _shd_like("float32")
    x32 = x.astype(np.float32)
    ref = weakref.ref(x32)
    rt.run(x32)
    assert rt.last_path["sparse"]  # the input was indexed (and its counts kept during the run)
    del x32
    assert ref() is None


def test_a_changed_private_scipy_kernel_means_dense_products(monkeypatch):
    """The CSR kernel is SciPy's private csr_matvecs: one that computes something else is not used."""
    import scipy.sparse._sparsetools as st

    from snnc.compiler.primitives import ops as ops_mod
    monkeypatch.setattr(ops_mod, "_KERNEL", [])
    monkeypatch.setattr(st, "csr_matvecs", lambda *a: None, raising=True)  # leaves Y unchanged: wrong
    assert ops_mod._csr_matvecs() is None
    rng = np.random.default_rng(0)
    x = (rng.random((2048, 300)) < 0.02).astype(np.float32)
    W = rng.normal(size=(64, 300)).astype(np.float32)
    ops = ops_mod.NumpyOps("float32", sparse=True)
    np.testing.assert_allclose(ops.matmul(x, W), x @ W.T, rtol=1e-5, atol=1e-5)
    assert ops.sparse_calls == 0
    monkeypatch.setattr(ops_mod, "_KERNEL", [])  # the real one passes its check again
    monkeypatch.undo()
    assert ops_mod._csr_matvecs() is not None


def test_generated_step_loop_sums_edges_in_order_and_calls_what_it_cannot_inline():
    """The stepped stage's generated loop (runtime/numpy/steploop.py): a port fed by edges with delays 2, 0, 1 (first
    edge delayed: zeros before any arrives), three sums whose order shows in float64, a node it cannot trace."""
    @primitive
    class Keeps(Primitive):
        """Test-only primitive: v_t = v_{t-1}/2 + x_t, output v_t; its step inspects a value, so it is not traced."""
        w: np.ndarray
        per_neuron = ("w",)
        ports = {"in": "spike"}
        states = {"v": None}

        def step(self, ops, p, s, x):
            assert x["in"].ndim == 2  # (a value inspected: the kernel is called, not inlined)
            v = ops.add(ops.mul(0.5, s["v"]), ops.mul(p.w, x["in"]))
            return v, {"v": v}

    try:
        rng = np.random.default_rng(3)
        g = Graph()
        g.add("x", Input(4))
        g.add("fc", Dense(rng.normal(0, 1, (5, 4)) * 1e8, rng.normal(0, 1, 5)))
        g.add("n", neuron_of("LIF", 5, rng))
        g.add("rec", Dense.of(rng.normal(0, 0.5, (5, 5))))
        g.add("k", Keeps(rng.uniform(0.5, 1.5, 5)))
        g.connect("fc", "n", delay=2)  # the first edge is delayed: before t = 2 only the others deliver
        g.connect("x", "fc")
        g.connect("rec", "n")
        g.connect("n", "rec", delay=1)
        g.connect("k", "n", delay=1)
        g.connect("n", "k")
        g.outputs = ["n", "k"]
        x = rng.normal(0, 1, (30, 3, 4))
        rt = NumpyRuntime(g, "float64")
        y, _ = rt.run(x)
        assert rt.last_path["loop"] == "fast" and rt.last_path["stepwise"] == ["rec", "n", "k"], rt.last_path
        assert rt.last_path["inlined"] == ["rec", "n"] and rt.last_path["tiled"] == ["n"]
        (fn,) = rt._fast[2].values()
        assert "= kern2(" in fn.source and "if t >= 2 else None" in fn.source and "if t >= 1: " in fn.source
        ref = NumpyRuntime(g, "float64")
        ref.reset(3)
        outs = [ref.step(x[t]) for t in range(30)]
        for o in g.outputs:
            np.testing.assert_array_equal(y[o], np.stack([v[o] for v in outs]), err_msg=o)
        for n in ("n", "k"):  # the states as the step loop leaves them (the inlined node's written back from locals)
            for s, v in ref.state[n].items():
                np.testing.assert_array_equal(rt.state[n][s], v, err_msg=f"{n}.{s}")
        assert np.abs(y["n"]).sum() > 0 and np.abs(y["k"][:3]).sum() > 0
    finally:
        PRIMITIVES.pop("Keeps", None)


@pytest.mark.parametrize("parallel_time", [None, True])
def test_reused_arrays_leave_earlier_results_and_activity_alone(parallel_time):
    """run() reuses its large arrays (runtime/numpy/pool.py): what an earlier run returned stays as it was."""
    g = recurrent_graph("CubaLIF", sizes=(7, 96, 48), delay=2)
    g.add("skip", Dense.of(np.random.default_rng(5).normal(0, 0.3, (48, 96))))
    g.connect("fc1", "skip")
    g.connect("skip", "out", delay=1)  # a delayed whole-sequence edge: its shifted copy is pooled too
    g.outputs = ["out", "n1"]
    T, B = 200, 12  # n1 [T, B, 96] in float64: 1.8 MB, pooled
    x1, x2 = spikes(T, B, 7, seed=1), spikes(T, B, 7, rate=0.6, seed=2)
    rt = NumpyRuntime(g, "float64")
    rt.parallel_time = parallel_time
    y1, act1 = rt.run(x1)
    assert rt.last_path["reused"] == 0
    kept = {o: v.copy() for o, v in y1.items()}
    assert act1.nonzero._fn  # counts still pending when the next run starts
    y2, act2 = rt.run(x2)
    assert rt.last_path["reused"] > 0, rt.last_path
    y2["n1"][:] = 7.0  # what the caller does with a result does not reach the next run
    y3, _ = rt.run(x2)
    for o in g.outputs:
        np.testing.assert_array_equal(y1[o], kept[o], err_msg=o)
    for x, y, act in ((x1, y1, act1), (x2, y3, act2)):
        ref = NumpyRuntime(g, "float64")
        ref.reset(B)
        outs = [ref.step(x[t]) for t in range(T)]
        ref_act = ref.activity()
        for o in g.outputs:
            np.testing.assert_allclose(y[o], np.stack([v[o] for v in outs]), rtol=1e-12, atol=1e-12, err_msg=o)
        for n in ref_act.nonzero:
            np.testing.assert_array_equal(act.nonzero[n], ref_act.nonzero[n], err_msg=n)
    assert not np.array_equal(act1.nonzero["n1"], act2.nonzero["n1"])


def test_products_into_a_given_array_equal_fresh_ones():
    from snnc.compiler.primitives.ops import NumpyOps
    from snnc.runtime.numpy.pool import Pool, SeqOps
    rng = np.random.default_rng(2)
    W = rng.normal(size=(64, 300)).astype(np.float32)
    b = rng.normal(size=64).astype(np.float32)
    for rate in (0.02, 0.5):  # event-driven (the array zeroed first), dense BLAS
        x = (rng.random((5000, 300)) < rate).astype(np.float32)
        ops = NumpyOps("float32", sparse=True)
        want = ops.matmul(x, W)
        assert ops.sparse_calls == (rate < 0.1)
        out = np.full((5000, 64), np.nan, np.float32)
        assert ops.matmul(x, W, out=out) is out
        np.testing.assert_array_equal(out, want)
        pool = Pool()
        for run in range(2):
            seq = SeqOps(ops, pool, "fc")
            y = seq.add(seq.matmul(x, W), b)
            np.testing.assert_array_equal(y, ops.add(want, b))
        assert pool.reused == 2 and pool.holds(y)  # the product and the sum, both taken again by the second call
        assert seq.mul(x, np.float64(2)).dtype == np.float64  # a result of another dtype is computed as it is
