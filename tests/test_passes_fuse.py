"""Each fuse rule on a hand-built graph: the exact expected graph, and the same outputs before and after."""
import numpy as np
import pytest

from factories_passes import spikes, srnn
from snnc.compiler.ir import Edge, Graph
from snnc.compiler.passes.fuse import fuse
from snnc.compiler.primitives import LI, LIF, CubaLIF, Dense, Input
from snnc.compiler.primitives.loihi_dense import LoihiDense
from snnc.compiler.primitives.loihi_lif import LoihiLIF
from snnc.compiler.primitives.quantized import Affine
from snnc.compiler.verify import verify
from snnc.runtime.numpy.runtime import run

R = np.random.default_rng(3)


def _base(n_in=5, n=4, kind="graded") -> Graph:
    g = Graph()
    g.add("x", Input(n_in, kind))
    return g


def _li(n, gain=1.0):
    return LI(alpha=np.full(n, 0.8), gain=np.full(n, gain))


def _same(g0: Graph, g1: Graph, x: np.ndarray, exact: bool = False) -> None:
    verify(g1)
    y0, _ = run(g0, x)
    y1, _ = run(g1, x)
    for o in g0.outputs:
        if exact:
            assert np.array_equal(y0[o], y1[o]), o
        else:
            np.testing.assert_allclose(y1[o], y0[o], rtol=0, atol=1e-9)


def _rules(g: Graph) -> dict:
    return g.meta["passes"][-1]["rules"]


def test_dead_nodes_removed():
    g = _base()
    g.add("fc", Dense.of(R.normal(size=(4, 5))))
    g.add("out", _li(4))
    g.add("side", Dense.of(R.normal(size=(3, 5))))
    g.add("unused", _li(3))
    for a, b in (("x", "fc"), ("fc", "out"), ("x", "side"), ("side", "unused")):
        g.connect(a, b)
    g.outputs = ["out"]
    f = fuse(g)
    assert set(f.nodes) == {"x", "fc", "out"} and f.edges == [Edge("x", "fc"), Edge("fc", "out")]
    assert _rules(f) == {"dead_nodes": 1}
    _same(g, f, R.normal(size=(6, 2, 5)))


def test_identity_removed_and_delays_add():
    g = _base()
    g.add("fc", Dense.of(R.normal(size=(4, 5))))
    g.add("id", Affine(np.ones(4), 0.0))
    g.add("out", _li(4))
    g.connect("x", "fc")
    g.connect("fc", "id", delay=1)
    g.connect("id", "out", delay=2)
    g.outputs = ["out"]
    f = fuse(g)
    assert "id" not in f.nodes and Edge("fc", "out", "in", 3) in f.edges and len(f.edges) == 2
    _same(g, f, R.normal(size=(8, 2, 5)))


def test_affine_folds_into_upstream_dense():
    W, b, s, c = R.normal(size=(4, 5)), R.normal(size=4), R.normal(size=4), R.normal(size=4)
    g = _base()
    g.add("fc", Dense(W, b))
    g.add("bn", Affine(s, c))
    g.add("out", _li(4))
    for a, d in (("x", "fc"), ("fc", "bn"), ("bn", "out")):
        g.connect(a, d)
    g.outputs = ["out"]
    f = fuse(g)
    assert list(f.nodes) == ["x", "fc", "out"] and f.edges == [Edge("x", "fc"), Edge("fc", "out")]
    np.testing.assert_allclose(f.nodes["fc"].W, s[:, None] * W)
    np.testing.assert_allclose(f.nodes["fc"].b, s * b + c)
    _same(g, f, R.normal(size=(6, 3, 5)))


def test_batchnorm_folds_and_output_moves():
    g = _base()
    g.add("fc", Dense.of(R.normal(size=(4, 5))))
    g.add("bn", Affine.batchnorm(R.normal(size=4), R.uniform(0.5, 2, 4), R.normal(size=4), R.normal(size=4)))
    g.connect("x", "fc")
    g.connect("fc", "bn")
    g.outputs = ["bn"]
    f = fuse(g)
    assert f.outputs == ["fc"] and set(f.nodes) == {"x", "fc"}
    y0, _ = run(g, x := R.normal(size=(4, 2, 5)))
    y1, _ = run(f, x)
    np.testing.assert_allclose(y1["fc"], y0["bn"], atol=1e-9)


def test_affine_folds_into_downstream_dense():
    W, b, s, c = R.normal(size=(4, 5)), R.normal(size=4), R.normal(size=5), R.normal(size=5)
    g = _base()
    g.add("norm", Affine(s, c))
    g.add("fc", Dense(W, b))
    g.add("out", _li(4))
    for a, d in (("x", "norm"), ("norm", "fc"), ("fc", "out")):
        g.connect(a, d)
    g.outputs = ["out"]
    f = fuse(g)
    assert set(f.nodes) == {"x", "fc", "out"} and Edge("x", "fc") in f.edges
    np.testing.assert_allclose(f.nodes["fc"].W, W * s[None, :])
    np.testing.assert_allclose(f.nodes["fc"].b, W @ c + b)
    _same(g, f, R.normal(size=(6, 3, 5)))


@pytest.mark.parametrize("neuron", ["lif", "li", "cuba"])
def test_gain_folds_into_dense(neuron):
    W, b, k = R.normal(size=(4, 5)), R.normal(size=4), R.uniform(0.2, 2, 4)
    g = _base(kind="spike")
    g.add("fc", Dense(W, b))
    if neuron == "lif":
        g.add("n", LIF(alpha=np.full(4, 0.9), gain=k, theta=0.5, reset="subtract"))
    elif neuron == "cuba":
        g.add("n", CubaLIF(alpha_syn=np.full(4, 0.6), alpha_mem=0.9, gain=k, theta=0.5, i0=0.3))
    else:
        g.add("n", _li(4, 1.0).replace(gain=k))
    g.connect("x", "fc", delay=1)
    g.connect("fc", "n")
    g.outputs = ["n"]
    f = fuse(g)
    assert _rules(f) == {"gain_into_dense": 1}
    np.testing.assert_allclose(f.nodes["fc"].W, k[:, None] * W)
    assert np.all(f.nodes["n"].gain == 1)
    if neuron == "cuba":
        np.testing.assert_allclose(f.nodes["n"].i0, 0.3 * k)
    _same(g, f, spikes(12, 3, 5, 0.5))


def test_parallel_dense_merge():
    W1, W2 = R.normal(size=(4, 5)), R.normal(size=(4, 5))
    g = _base()
    g.add("a", Dense(W1, np.ones(4)))
    g.add("b", Dense(W2, np.full(4, 2.0)))
    g.add("out", _li(4))
    for s, d in (("x", "a"), ("x", "b"), ("a", "out"), ("b", "out")):
        g.connect(s, d)
    g.outputs = ["out"]
    f = fuse(g)
    assert set(f.nodes) == {"x", "a", "out"} and f.edges == [Edge("x", "a"), Edge("a", "out")]
    np.testing.assert_allclose(f.nodes["a"].W, W1 + W2)
    np.testing.assert_allclose(f.nodes["a"].b, np.full(4, 3.0))
    _same(g, f, R.normal(size=(5, 2, 5)))


def test_dense_chain_merge_only_when_cheaper():
    g = _base(n_in=4)
    g.add("d1", Dense(R.normal(size=(3, 4)), R.normal(size=3)))
    g.add("d2", Dense(R.normal(size=(2, 3)), R.normal(size=2)))
    g.add("out", _li(2))
    for s, d in (("x", "d1"), ("d1", "d2"), ("d2", "out")):
        g.connect(s, d)
    g.outputs = ["out"]
    f = fuse(g)
    assert set(f.nodes) == {"x", "d2", "out"} and f.nodes["d2"].W.shape == (2, 4)
    _same(g, f, R.normal(size=(5, 2, 4)))
    # a bottleneck (100 -> 2 -> 100) is cheaper as two Dense: left alone
    h = _base(n_in=100)
    h.add("d1", Dense.of(R.normal(size=(2, 100))))
    h.add("d2", Dense.of(R.normal(size=(100, 2))))
    h.add("out", _li(100))
    for s, d in (("x", "d1"), ("d1", "d2"), ("d2", "out")):
        h.connect(s, d)
    h.outputs = ["out"]
    assert set(fuse(h).nodes) == set(h.nodes)


def test_integer_rules_bit_exact():
    g = _base(n_in=6, kind="spike")
    g.add("a", LoihiDense(R.integers(-60, 60, (4, 6)) * 2, 1, 8, "mixed"))
    g.add("b", LoihiDense(R.integers(-60, 60, (4, 6)) * 2, 1, 8, "mixed"))
    g.add("n", LoihiLIF(du=np.full(4, 1000), dv=300, vth=40))
    g.add("dead", LoihiDense(np.full((2, 4), 4), 0, 8, "excitatory"))
    for s, d in (("x", "a"), ("x", "b"), ("a", "n"), ("b", "n"), ("n", "dead")):
        g.connect(s, d)
    g.outputs = ["n"]
    f = fuse(g)
    assert set(f.nodes) == {"x", "a", "n"}
    assert _rules(f) == {"dead_nodes": 1, "merge_parallel_dense": 1}
    _same(g, f, spikes(30, 3, 6, 0.4), exact=True)
    # a negative exponent floors each sum separately: merging would change bits, so it is refused
    h = g.copy()
    h.nodes["a"] = h.nodes["a"].replace(weight_exp=-1)
    h.nodes["b"] = h.nodes["b"].replace(weight_exp=-1)
    assert "b" in fuse(h).nodes


def test_fixed_point_and_purity():
    g = srnn()
    before = (dict(g.nodes), list(g.edges), dict(g.meta))
    f = fuse(g)
    assert (dict(g.nodes), list(g.edges), dict(g.meta)) == before  # input untouched
    assert fuse(f).meta["passes"][-1]["rules"] == {}  # nothing left to rewrite
    r = f.meta["passes"][-1]
    assert r["ops_before"]["synaptic_macs"] == r["ops_after"]["synaptic_macs"] == 12 * 16 + 16 * 16 + 16 * 4
    _same(g, f, spikes(20, 4, 12))
