"""quantize(loihi) keeps per-neuron input factors out of the shared weight exponent, picks exponents from the weight
distribution and reports what flushed to zero (issue 12.2)."""
from __future__ import annotations

import numpy as np

from factories_passes import spikes, srnn
from snnc.compiler.passes.quantize import quantize
from snnc.compiler.passes.quantize_weights import quantize_weights
from snnc.compiler.pipeline import report
from snnc.compiler.primitives import ALIF, Dense
from snnc.runtime.numpy.runtime import NumpyRuntime


def spread_srnn(seed: int = 3):
    """An SRNN whose ALIF input factor (1 − alpha) spans 19x across neurons (tau_m from 1.5 to 39 steps)."""
    g = srnn(n_in=12, n_h=24, seed=seed)
    a = g.nodes["alif1"]
    tau = np.geomspace(1.5, 39.0, 24)
    g.nodes["alif1"] = ALIF(alpha=np.exp(-1 / tau), rho=a.rho, b0=a.b0, beta=a.beta, R=a.R)
    return g


def test_a_19x_input_factor_spread_keeps_every_row_precise():
    g = spread_srnn()
    k = 1 - g.nodes["alif1"].alpha
    assert k.max() / k.min() > 19
    for calib in (None, spikes(60, 8, 12, 0.3)):
        q = quantize(g, "loihi", calib=calib)
        rep = q.meta["passes"][-1]
        for d in ("fc1", "rec1"):
            W, m = g.nodes[d].W, q.nodes[d].W
            # each neuron's largest weight uses the top bits of the mantissa (>= 64 of 254), whatever its k
            # (a shared scale leaves the rows of the fastest neurons 19x smaller: largest mantissas of about 6)
            top = np.abs(m).max(1)
            assert top.min() >= {"fc1": 64, "rec1": 32}[d], (d, top)
            # flushed weights are only those small against their own row (below 2^-6 of the row's largest)
            lost = (W != 0) & (m == 0)
            assert np.all(np.abs(W[lost]) < 2**-6 * np.abs(W).max(1, keepdims=True).repeat(W.shape[1], 1)[lost])
            assert rep["layers"][d]["flushed"] == int(lost.sum()) and rep["layers"][d]["neurons_without_input"] == 0
        assert rep["notes"] == [], rep["notes"]
        # thresholds follow the per-neuron scale: B = b0 + beta·b in each neuron's own units
        S = np.asarray(rep["scales"]["alif1"])
        assert S.max() / S.min() > 8
        np.testing.assert_array_equal(q.nodes["alif1"].vth, np.rint(g.nodes["alif1"].b0 * S / 64))


def test_19x_spread_integer_run_tracks_float():
    g = spread_srnn()
    x = spikes(80, 8, 12, 0.3, seed=1)
    q = quantize(g, "loihi")
    _, af = NumpyRuntime(g, "float64", record=["alif1", "out"]).run(x)
    _, aq = NumpyRuntime(q, "float64", record=["alif1", "out"]).run(x)
    sf, sq = af.traces["alif1"]["out"], aq.traces["alif1"]["out"]
    assert sf.mean() > 0.02  # the net spikes
    assert np.mean(sf != sq) < 0.03  # a recurrent net amplifies every rounding: spikes drift apart slowly
    assert np.array_equal(sf[:5], sq[:5])
    S = np.asarray(q.meta["passes"][-1]["scales"]["alif1"])
    vf, vq = af.traces["alif1"]["v"][:5], aq.traces["alif1"]["v"][:5] / S  # dequantized per neuron
    assert np.abs(vq - vf).max() < 0.02 * np.abs(vf).max()


def test_exponent_from_the_distribution_clips_an_outlier():
    rng = np.random.default_rng(0)
    w = rng.uniform(-1, 1, (8, 16))
    w[0, 0] = 1.02  # just past 254·2^-8: fitting it would double every other weight's step
    mant, e, mode = quantize_weights(w)
    assert mode == "mixed" and e == -8 and mant[0, 0] == 254  # the outlier saturates instead
    err = lambda m, ee: float(np.sum((m * 2.0**ee - w) ** 2))  # noqa: E731
    m_fit = np.clip(np.rint(w / 2.0**-6) * 2, -256, 254)  # exponent -7 (mixed: steps of 2^-6) fits 1.02
    assert err(mant, e) < err(m_fit, -7)
    g = rng.normal(0, 10, (8, 16))  # without an outlier, the exponent that fits the largest weight
    assert quantize_weights(g)[1] == int(np.ceil(np.log2(np.abs(g).max() / 254)))


def test_flushed_weights_and_neurons_without_input_are_reported_with_a_warning():
    g = srnn(n_in=12, n_h=16, seed=0)
    W = g.nodes["fc1"].W.copy()
    W[3] *= 1e-7  # one neuron's input row far below every other row
    W[5, :6] *= 1e-5  # and a few weights far below their own row
    g.nodes["fc1"] = Dense(W, g.nodes["fc1"].b)
    q = quantize(g, "loihi")
    rep = q.meta["passes"][-1]
    lay = rep["layers"]["fc1"]
    m = q.nodes["fc1"].W
    assert lay["nonzero"] == int(np.count_nonzero(W)) == 192
    assert lay["flushed"] == int(np.count_nonzero((W != 0) & (m == 0))) >= 18
    assert lay["neurons_without_input"] == 1 and not m[3].any()
    warn = [n for n in rep["notes"] if n.startswith("warning: Dense 'fc1'")]
    assert len(warn) == 1 and f"{lay['flushed']} of 192 nonzero weights flush to zero" in warn[0], rep["notes"]
    assert "1 neuron(s) lose all inputs" in warn[0]
    text = report(q)
    assert f"fc1: weight" in text and f"{lay['flushed']} of 192 weights flush to zero, 1 neuron(s) without input" in text
