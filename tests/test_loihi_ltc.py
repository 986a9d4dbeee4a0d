"""LTC and LTCReadout on Loihi: the fixed-point formulation, quantize(loihi), Lava floating_pt and fixed_pt runs."""
from __future__ import annotations

import math

import numpy as np
import pytest

from snnc.backends.lava import target as lava_target
from snnc.compiler.errors import SnncError
from snnc.compiler.ir import SPIKE, Graph
from snnc.compiler.passes.quantize import quantize
from snnc.compiler.primitives import LTC, Dense, Input, LTCReadout
from snnc.compiler.fixedpoint import SIGMOID_LUT, sigmoid12
from snnc.compiler.primitives.loihi_ltc import LoihiLTC, LoihiLTCReadout
from snnc.compiler.verify import verify
from snnc.runtime.lava.runner import lava_python
from snnc.runtime.numpy.runtime import NumpyRuntime


def ltc_net(seed: int = 0, n_in: int = 6, n: int = 5, n_out: int = 3) -> Graph:
    """x -> fc1 -> LTC (+ recurrent Dense, delay 1) -> fc2 -> LTCReadout, plus a skip x -> skip -> readout."""
    rng = np.random.default_rng(seed)
    g = Graph()
    g.add("x", Input(n_in, "spike"))
    g.add("fc1", Dense.of(rng.normal(0.3, 0.8, (n, n_in)), rng.normal(0, 0.1, n)))
    g.add("l1", LTC(rng.normal(0, 0.8, (n, 2 * n)), rng.normal(0, 0.5, n), rng.normal(0, 0.8, (n, 2 * n)),
                    rng.normal(0, 0.5, n), 0.1, 0.5, v0=rng.uniform(0, 0.05, n), b_init=rng.uniform(0, 0.2, n)))
    g.add("rec", Dense.of(rng.normal(0, 0.5, (n, n))))
    g.add("fc2", Dense.of(rng.normal(0, 0.8, (n_out, n)), rng.normal(0, 0.1, n_out)))
    g.add("skip", Dense.of(rng.normal(0, 0.3, (n_out, n_in))))
    g.add("out", LTCReadout(rng.normal(0, 0.8, (n_out, 2 * n_out)), rng.normal(0, 0.5, n_out), v0=0.1))
    for s, d, dl in [("x", "fc1", 0), ("fc1", "l1", 0), ("l1", "rec", 1), ("rec", "l1", 0), ("l1", "fc2", 0),
                     ("fc2", "out", 0), ("x", "skip", 0), ("skip", "out", 0)]:
        g.connect(s, d, delay=dl)
    g.outputs = ["out", "l1"]
    return g


def spikes(T: int, B: int, F: int, rate: float = 0.4, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).random((T, B, F)) < rate).astype(np.float64)


@pytest.fixture(scope="module")
def lava_env():
    """Fails (never skips) with the setup message when the Lava environment is missing."""
    return lava_python()


# -- the formulation ----------------------------------------------------------------

def test_sigmoid12_is_an_exact_symmetric_table():
    z = np.arange(-4000, 4001)
    g = sigmoid12(z)
    assert g.dtype == np.int64 and g.min() == 1 and g.max() == 4095
    assert np.all(np.diff(g) >= 0)
    assert np.array_equal(g + sigmoid12(-z), np.full(z.shape, 4096))  # σ(−z) = 1 − σ(z) exactly
    assert sigmoid12(np.array([0]))[0] == 2048 and len(SIGMOID_LUT) == 2048
    assert np.abs(g / 4096 - 1 / (1 + np.exp(-z / 256))).max() < 2.5e-4


def _tz(x: int, k: int) -> int:
    """Shift right by k rounding toward zero, on Python ints."""
    return (abs(x) >> k) * (1 if x >= 0 else -1)


def _dot(w: np.ndarray, x: list[int]) -> int:
    return sum(int(a) * b for a, b in zip(w, x))


def _lut(z: int) -> int:
    k = min(abs(z), 2047)
    t = math.floor(4096 / (1 + math.exp(-k / 256)) + 0.5)
    return t if z >= 0 else 4096 - t


def test_integer_ltc_kernel_follows_the_documented_formulas():
    """One LoihiLTC and one LoihiLTCReadout step recomputed with Python ints from loihi_ltc's docstring."""
    # pre-activations land near 0, where one LSB of z moves the gate, with negative inexact shifts (trunc != floor)
    node = LoihiLTC(np.array([[200, -37, 15, -255], [-90, 64, -3, 120]]), -16, -18, np.array([1400, -800]),
                    np.array([[-180, 33, 77, 255], [12, -250, 9, -64]]), -16, -15, np.array([-2400, 1400]),
                    np.array([500, 700]), np.array([1500, 900]), np.array([-77, 31]), np.array([2, 0]),
                    np.array([-123457, 654321]), np.array([91011, 200000]))
    ro = LoihiLTCReadout(node.Wa, -16, -18, np.array([1400, -800]), np.array([-77, 31]), np.array([2, 0]),
                         np.array([-123457, 654321]))
    g = Graph()
    g.add("x", Input(2, "graded"))
    g.add("n", node)
    g.add("r", ro)
    g.connect("x", "n")
    g.connect("x", "r")
    g.outputs = ["n", "r"]
    a_in = [-3001, 4242]
    out, act = NumpyRuntime(g, "float64", record=True).run(np.array(a_in, float).reshape(1, 1, 2))
    I = [(a_in[i] << 6) + (int(node.bias_mant[i]) << int(node.bias_exp[i])) for i in range(2)]
    v, b = [int(x) for x in node.v0], [int(x) for x in node.b_init]
    for i in range(2):
        za = _tz(_dot(node.Wa[i, :2], I), 16) + _tz(_dot(node.Wa[i, 2:], v), 18) + int(node.ba[i])
        zr = _tz(_dot(node.Wr[i, :2], I), 16) + _tz(_dot(node.Wr[i, 2:], b), 15) + int(node.br[i])
        a, r = _lut(za), _lut(zr)
        b_new = _tz(r * b[i], 12)  # s⁻ = 0 at the first step
        B = (int(node.vth[i]) << 6) + _tz(int(node.beta[i]) * b_new, 12)
        v_new = max(-(2**23 - 1), min(2**23 - 1, _tz((4096 - a) * v[i], 12) + _tz(a * I[i], 12)))
        s = int(v_new > B)
        assert act.traces["n"]["b"][0, 0, i] == b_new
        assert act.traces["n"]["v"][0, 0, i] == (0 if s else v_new)
        assert out["n"][0, 0, i] == s
        assert out["r"][0, 0, i] == v_new  # the readout shares Wa, ba, bias and v0


# -- Lava ---------------------------------------------------------------------------

def test_float_lava_matches_numpy(lava_env):
    g, x = ltc_net(), spikes(25, 2, 6)
    ref, ract = NumpyRuntime(g, "float64", record=True).run(x)
    out, act = lava_target.run_graph(g, x, {"record": list(g.nodes), "dtype": "float64"})
    assert ract.nonzero["l1"].sum() > 20 and (ract.nonzero["l1"] < 5).any()  # real, not saturated, spiking
    for n, node in g.nodes.items():
        r, y = ract.traces[n]["out"], act.traces[n]["out"]
        if node.out_kind == SPIKE:
            assert np.mean(r == y) >= 0.999, n
        for var in ract.traces[n]:
            np.testing.assert_allclose(act.traces[n][var], ract.traces[n][var], rtol=1e-9, atol=1e-9, err_msg=f"{n}.{var}")
    np.testing.assert_allclose(out["out"], ref["out"], rtol=1e-9, atol=1e-9)


def test_fixed_lava_bit_exact(lava_env):
    g, x = ltc_net(), spikes(25, 2, 6)
    q = quantize(g, "loihi", calib=x)
    verify(q)
    assert {type(q.nodes[n]).__name__ for n in ("l1", "out")} == {"LoihiLTC", "LoihiLTCReadout"}
    ref, ract = NumpyRuntime(q, "float64", record=True).run(x)
    out, act = lava_target.run_graph(q, x, {"record": list(q.nodes)})
    assert ract.nonzero["l1"].sum() > 20
    assert q.meta["passes"][-1]["layers"]["l1"]["spike_mismatch"] < 0.05  # integer vs float on the calibration set
    for n in q.nodes:
        for var, r in ract.traces[n].items():
            y = act.traces[n][var]
            assert y.dtype == np.int64, (n, var, y.dtype)
            assert np.array_equal(y, r), f"{n}.{var} differs"
    for o in q.outputs:
        assert np.array_equal(out[o], ref[o])


def test_zoo_ltc_quantized_tracks_float_and_runs_bit_exact_in_lava(lava_env):
    import torch

    import snnc
    from snnc.frontends import zoo

    m, _ = zoo.build("ltc")
    g = snnc.trace(m, torch.zeros(5, 2, 40))
    x = spikes(60, 6, 40, rate=0.3, seed=0)
    q = quantize(g, "loihi", calib=x[:, :3])
    verify(q)
    n, o = "layer1.ltc", g.outputs[0]
    _, af = NumpyRuntime(g, "float64", record=True).run(x)
    yq, aq = NumpyRuntime(q, "float64", record=True).run(x)
    sf, sq = af.traces[n]["out"], aq.traces[n]["out"]
    # measured: no mismatch in steps 0-1, then it grows (0.5 %, 1.6 %, 2.9 %, ...) to 13.9 % over 60 steps, the same
    # as the 8-bit Dense weights alone cause: the untrained recurrent net (b0 = 0.01) is chaotic
    assert np.array_equal(sf[:2], sq[:2])
    assert np.mean(sf != sq) < 0.2
    assert abs(sq.mean() - sf.mean()) < 0.05 * sf.mean()
    layers = q.meta["passes"][-1]["layers"]
    assert layers[n]["spike_mismatch"] < 0.2
    S = q.meta["output_scale"][o]
    yf = af.traces[o]["out"]
    assert np.abs(yq[o][:2] / S - yf[:2]).max() < 0.02 * np.abs(yf).max()
    xs = x[:20, :2]
    ref, ract = NumpyRuntime(q, "float64", record=True).run(xs)
    out, act = lava_target.run_graph(q, xs, {"record": [n, o]})
    assert ract.nonzero[n].sum() > 20
    for var in ("v", "b", "s"):
        assert np.array_equal(act.traces[n][var], ract.traces[n][var]), var
    assert np.array_equal(out[o], ref[o])


# -- unrepresentable parameters -------------------------------------------------------

@pytest.mark.parametrize("change, match", [
    (lambda n: n.replace(Wa=n.Wa * 1e9), r"LTC 'l1' Wa \(input half\): gate weight .* needs exponent \d+ > 7"),
    (lambda n: n.replace(br=np.full(5, 300.0)), r"LTC 'l1': gate bias br\[0\] = 300 exceeds the 16-bit Q8 range"),
    (lambda n: n.replace(b0=np.full(5, -0.2)), r"LTC 'l1': b0 -0.2 -> mantissa -?\d+ outside \[0, 131071\]"),
    (lambda n: n.replace(b_init=np.full(5, 100.0)), r"LTC 'l1': b_init\[0\] = 100 outside \[0, 64\]"),
])
def test_unrepresentable_ltc_parameters_name_node_and_value(change, match):
    g = ltc_net()
    g.nodes["l1"] = change(g.nodes["l1"])
    with pytest.raises(SnncError, match=match):
        quantize(g, "loihi")


def test_unrepresentable_readout_gate_names_node():
    g = ltc_net()
    g.nodes["out"] = g.nodes["out"].replace(Wa=g.nodes["out"].Wa * 1e9)
    with pytest.raises(SnncError, match=r"LTCReadout 'out' Wa .*needs exponent"):
        quantize(g, "loihi")
