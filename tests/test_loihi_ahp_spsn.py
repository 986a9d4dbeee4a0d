"""AHP (seed 002) and SPSN (seed 004) on Loihi: fixed-point formulations, NumPy integer kernels, Lava float and fixed."""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import LoweringError, SnncError
from snnc.compiler.ir import SPIKE, Graph
from snnc.compiler.passes.quantize import quantize
from snnc.compiler.primitives import AHP, LI, SPSN, Dense, Input
from snnc.compiler.fixedpoint import SIGMOID_TABLE, noise_int, sigmoid_q16
from snnc.compiler.primitives.loihi_ahp import LoihiAHP
from snnc.compiler.primitives.loihi_spsn import LoihiSPSN
from snnc.compiler.verify import verify
from snnc.runtime.numpy.runtime import NumpyRuntime

T, B = 30, 2


def seed_net(seed: int = 0) -> Graph:
    """x -> AHP (+ recurrent Dense) -> stochastic SPSN (noise u) -> LI, and x -> deterministic SPSN (a skip path)."""
    rng = np.random.default_rng(seed)
    n_in, n_a, n_s, n_d = 6, 5, 4, 3
    g = Graph()
    g.add("x", Input(n_in, "spike"))
    g.add("u", Input(n_s, "graded"))
    g.add("fc1", Dense.of(rng.normal(0.3, 0.6, (n_a, n_in)), rng.normal(0.05, 0.05, n_a)))
    g.add("ahp", AHP(rng.uniform(0.8, 0.95, n_a), rng.uniform(0.85, 0.95, n_a), rng.uniform(-0.6, -0.2, n_a),
                     rng.uniform(0.3, 0.6, n_a), rng.uniform(0.3, 0.6, n_a)))
    g.add("rec", Dense.of(rng.normal(0, 0.4, (n_a, n_a))))
    g.add("fc2", Dense.of(rng.normal(0.2, 1.5, (n_s, n_a)), rng.normal(0, 0.2, n_s)))
    g.add("sp", SPSN(rng.uniform(0.5, 0.9, n_s), rng.uniform(0.7, 0.95, n_s), True))
    g.add("fc3", Dense.of(rng.normal(0, 0.8, (2, n_s))))
    g.add("out", LI(np.full(2, 0.8), np.full(2, 0.3)))
    g.add("skip", Dense.of(rng.normal(0, 0.8, (n_d, n_in)), rng.normal(0, 0.1, n_d)))
    g.add("det", SPSN(rng.uniform(0.5, 0.9, n_d), rng.uniform(0.7, 0.95, n_d), False))
    for s, d, dl in [("x", "fc1", 0), ("fc1", "ahp", 0), ("ahp", "rec", 1), ("rec", "ahp", 0), ("ahp", "fc2", 0),
                     ("fc2", "sp", 0), ("sp", "fc3", 0), ("fc3", "out", 0), ("x", "skip", 0), ("skip", "det", 0)]:
        g.connect(s, d, delay=dl)
    g.connect("u", "sp", port="noise")
    g.outputs = ["out", "ahp", "sp", "det"]
    return g


def inputs(g: Graph, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x": (rng.random((T, B, 6)) < 0.4).astype(np.float64), "u": rng.random((T, B, g.nodes["u"].size))}


@pytest.fixture(scope="module")
def lava():
    """The Lava target; fails (never skips) with the setup message when the Lava environment is missing."""
    from snnc.backends.lava import target as lava_target
    from snnc.runtime.lava.runner import lava_python

    lava_python()
    return lava_target


def _neurons(g: Graph) -> list[str]:
    return [n for n, v in g.nodes.items() if not isinstance(v, Input)]


def test_float_lava_matches_numpy_float64(lava):
    g, x = seed_net(), inputs(seed_net())
    _, ract = NumpyRuntime(g, "float64", record=True).run(x)
    _, act = lava.run_graph(g, x, {"record": list(g.nodes), "dtype": "float64"})
    for n in _neurons(g):
        r, y = ract.traces[n]["out"], act.traces[n]["out"]
        if g.nodes[n].out_kind == SPIKE:
            assert np.mean(r == y) >= 0.999, n
        for var in ract.traces[n]:
            np.testing.assert_allclose(act.traces[n][var], ract.traces[n][var], rtol=1e-9, atol=1e-9, err_msg=f"{n}.{var}")
    for n in ("ahp", "sp", "det"):  # every family really spikes, and not always
        assert 0.02 < ract.traces[n]["out"].mean() < 0.98, n


def test_fixed_lava_bit_exact_with_numpy_integer_mode(lava):
    g, x = seed_net(), inputs(seed_net())
    q = quantize(g, "loihi")
    verify(q)
    assert {type(q.nodes[n]).__name__ for n in ("ahp", "sp", "det")} == {"LoihiAHP", "LoihiSPSN"}
    assert q.nodes["sp"].stochastic and not q.nodes["det"].stochastic
    _, ract = NumpyRuntime(q, "float64", record=True).run(x)
    _, act = lava.run_graph(q, x, {"record": list(q.nodes)})
    for n in _neurons(q):
        for var, r in ract.traces[n].items():
            assert np.array_equal(np.asarray(act.traces[n][var], np.int64), np.asarray(r, np.int64)), f"{n}.{var} differs"
    assert ract.traces["ahp"]["aux"].min() < 0  # the AHP current was exercised
    for n in ("ahp", "sp", "det"):
        assert 0.02 < ract.traces[n]["out"].mean() < 0.98, n


def test_sigmoid_q16_is_an_exact_integer_sigmoid():
    v = np.arange(-20 << 12, 20 << 12, 7)
    p = sigmoid_q16(v, 12)
    assert p.dtype == np.int64 and np.all(np.diff(p) >= 0) and p.min() == 0 and p.max() == 1 << 16
    assert np.abs(p / 2**16 - 1 / (1 + np.exp(-v / 2**12))).max() < 6.6e-5
    assert SIGMOID_TABLE[256] == 1 << 15 and np.array_equal(sigmoid_q16(v << 4, 16), p)  # v_frac only moves the point
    u = np.random.default_rng(0).random(10000)
    k = noise_int(u)
    assert k.min() >= 0 and k.max() < 1 << 16
    for thr in (0, 1, 32768, 65535, 65536):  # floor(u·2^16) < p  ⟺  u < p/2^16
        assert np.array_equal(k < thr, u < thr / 2**16)


def _one(node, a_in: list[int], noise: list[float] | None = None) -> dict[str, np.ndarray]:
    """Run a single fixed-point neuron on integer inputs a_in[t] (through an identity LoihiDense)."""
    from snnc.compiler.primitives.loihi_dense import LoihiDense

    g = Graph()
    g.add("x", Input(1, "graded"))
    g.add("w", LoihiDense(np.array([[2]]), -1, 8, "mixed"))  # 2·x >> 1 = x
    g.add("n", node)
    g.connect("x", "w")
    g.connect("w", "n")
    xs = {"x": np.array(a_in, float)[:, None, None]}
    if noise is not None:
        g.add("u", Input(1, "graded"))
        g.connect("u", "n", port="noise")
        xs["u"] = np.array(noise, float)[:, None, None]
    g.outputs = ["n"]
    return NumpyRuntime(g, "float64", record=True).run(xs)[1].traces["n"]


def test_integer_kernels_follow_the_documented_formulas():
    tr = _one(LoihiAHP(np.array([1024]), np.array([2048]), np.array([100]), np.array([-50]), np.array([3]), np.array([1])),
              [120, 0, 0])
    # step 0: v = 0 + (120 << 6) + (3 << 1) = 7686 > 6400 spikes, v = 0; step 1: aux = −50 << 6 = −3200, v = aux + 6
    # step 2: aux = trunc12(−3200·2048) = −1600, v = trunc12(−3194·3072) + 6 − 1600 = −2395 + 6 − 1600
    assert tr["out"][:, 0, 0].tolist() == [1, 0, 0]
    assert tr["aux"][:, 0, 0].tolist() == [0, -3200, -1600]
    assert tr["v"][:, 0, 0].tolist() == [0, -3194, -2395 + 6 - 1600]
    det = _one(LoihiSPSN(np.array([2048]), np.array([1024]), v_frac=12, stochastic=False), [10, 0, -40])
    # i = 640, v = trunc12(640·1024) = 160; i = 320, v = 120 + 80; i = 160 − 2560, v = 150 − 600
    assert det["i"][:, 0, 0].tolist() == [640, 320, -2400] and det["v"][:, 0, 0].tolist() == [160, 200, -450]
    assert det["out"][:, 0, 0].tolist() == [1, 1, 0]
    sto = _one(LoihiSPSN(np.array([0]), np.array([4095]), v_frac=6, stochastic=True), [1, 0, 0], [0.72, 0.73, 0.5])
    # i = 1 << 6 = 64 (kept: di = 0), v = trunc12(64·4095) = 63 = 0.984 at v_frac 6, σ(0.984) = 0.7279
    assert sto["v"][:, 0, 0].tolist() == [63, 63, 63]
    assert abs(sigmoid_q16(np.array(63), 6) / 2**16 - 1 / (1 + np.exp(-63 / 64))) < 6.6e-5
    assert sto["out"][:, 0, 0].tolist() == [1, 0, 1]


@pytest.mark.parametrize("family", ["ahp", "spsn"])
def test_quantized_zoo_model_tracks_float(family):
    import torch  # the zoo needs torch: this test runs in the main environment
    from snnc.frontends import trace, zoo

    model, cfg = zoo.build(family)
    rng = np.random.default_rng(3)
    x = (rng.random((40, 4, cfg["sizes"][0])) < 0.3).astype(np.float64)
    from snnc.compiler.inputkinds import resolve
    g = resolve(trace(model, torch.tensor(x[:4])), "spike")  # x is binary spikes: no input encoder
    xs = {g.inputs[0]: x, **{n: rng.random((40, 4, g.nodes[n].size)) for n in g.inputs[1:]}}
    q = quantize(g, "loihi")
    verify(q)
    fam = {"ahp": "LoihiAHP", "spsn": "LoihiSPSN"}[family]
    spiking = [n for n, v in q.nodes.items() if type(v).__name__ == fam]
    assert spiking and all(q.nodes[n].integer for n in q.nodes if not isinstance(q.nodes[n], Input))
    _, af = NumpyRuntime(g, "float64", record=True).run(xs)
    _, aq = NumpyRuntime(q, "float64", record=True).run(xs)
    for n in spiking:
        sf, sq = af.traces[n]["out"], aq.traces[n]["out"]
        mismatch = float(np.mean(sf != sq))
        print(f"{family} {n}: rate float {sf.mean():.4f} int {sq.mean():.4f}, spike mismatch {mismatch:.4%}")
        assert sf.mean() > 0.005 and mismatch <= 0.01, (n, mismatch)


def _ahp_graph(**kw) -> Graph:
    g = Graph()
    g.add("x", Input(3, "spike"))
    g.add("fc", Dense.of(np.full((2, 3), 0.5)))
    p = dict(alpha=np.full(2, 0.9), alpha_aux=np.full(2, 0.9), w_ahp=np.full(2, -0.3), gain=np.full(2, 0.5),
             theta=np.full(2, 0.4))
    g.add("n1", AHP(**{**p, **kw}))
    g.connect("x", "fc")
    g.connect("fc", "n1")
    g.outputs = ["n1"]
    return g


def test_unrepresentable_parameters_name_node_and_value():
    with pytest.raises(SnncError, match=r"node 'n1' has negative theta -0\.2"):
        quantize(_ahp_graph(theta=np.array([0.4, -0.2])), "loihi")
    with pytest.raises(SnncError, match=r"node 'n1': alpha_aux must lie in \[0, 1\].*1\.5"):
        quantize(_ahp_graph(alpha_aux=np.array([0.9, 1.5])), "loihi")
    g = seed_net()
    g.nodes["fc2"] = Dense.of(np.full((4, 5), 3e6))
    with pytest.raises(SnncError, match=r"SPSN 'sp': voltage scale 2\^-\d+ gives v_frac -\d+ outside \[0, 40\]"):
        quantize(g, "loihi")
    g = seed_net()
    g.connect("ahp", "sp", port="noise")  # spikes are no uniform noise
    with pytest.raises(SnncError, match=r"edge ahp -> sp\.noise: the noise of a fixed-point SPSN must come from a graph Input"):
        quantize(g, "loihi")


def test_lava_lowering_of_spsn_noise_routes_and_refuses(lava):
    from snnc.backends.lava.lower import lower

    q = quantize(seed_net(), "loihi")
    net = lower(q)
    assert net.procs["sp"]["params"]["noise_input"] == "u" and net.procs["det"]["params"].get("noise_input") is None
    into_sp = [c for c in net.conns if c[2] == "sp"]
    assert sorted(c[3] for c in into_sp) == ["a_in", "u_in"]
    g = seed_net()
    g.add("u2", Input(4, "graded"))
    g.connect("u2", "sp", port="noise")
    with pytest.raises(LoweringError, match=r"sp.*SPSN.*exactly one graph Input"):
        lower(g)
