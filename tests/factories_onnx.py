"""Graphs and the NumPy-vs-onnxruntime comparison shared by the ONNX backend tests."""
from __future__ import annotations

import numpy as np

from snnc.backends.onnx.lower import lower
from snnc.compiler.ir import Graph
from snnc.compiler.primitives import AHP, ALIF, LI, LIF, LSTM, LTC, SPSN, CubaLIF, Dense, Input, LTCReadout
from snnc.runtime.numpy.runtime import NumpyRuntime
from snnc.runtime.onnx.runtime import OnnxRuntime

T, B, F = 120, 3, 12


def neuron(kind: str, n: int, rng: np.random.Generator):
    """One population of each primitive flavour, with per-neuron parameters."""
    a = rng.uniform(0.7, 0.95, n)
    if kind.startswith("LIF-"):
        return LIF(alpha=a, gain=1 - a, theta=rng.uniform(0.3, 0.6, n), reset=kind[4:])
    if kind.startswith("CubaLIF-"):
        return CubaLIF(alpha_syn=rng.uniform(0.5, 0.8, n), alpha_mem=a, gain=(1 - a) * 0.5, theta=0.4,
                       bias=rng.uniform(0, 0.02, n), reset=kind[8:], v0=rng.uniform(0, 0.2, n))
    if kind == "ALIF":
        return ALIF(alpha=a, rho=rng.uniform(0.9, 0.99, n), b0=0.3, beta=1.8, R=1.5, v0=rng.uniform(0, 0.1, n))
    if kind == "LI":
        return LI(alpha=a, gain=1 - a, v0=0.1)
    gate = lambda: (rng.normal(0, 0.4, (n, 2 * n)), rng.normal(0, 0.5, n))  # noqa: E731
    if kind == "LTC":
        (Wa, ba), (Wr, br) = gate(), gate()
        return LTC(Wa, ba, Wr, br, b0=0.1, beta=0.5, v0=rng.uniform(0, 0.1, n))
    if kind == "LTCReadout":
        return LTCReadout(*gate(), v0=0.05)
    if kind == "AHP":
        return AHP(alpha=a, alpha_aux=rng.uniform(0.5, 0.9, n), w_ahp=-rng.uniform(0.1, 0.5, n), gain=1 - a, theta=0.3)
    if kind.startswith("SPSN"):
        return SPSN(alpha=rng.uniform(0.5, 0.9, n), beta=a, stochastic=kind == "SPSN-stochastic")
    if kind == "LSTM":
        return LSTM(rng.normal(0, 0.4, (4 * n, n)), rng.normal(0, 0.3, (4 * n, n)), rng.normal(0, 0.2, 4 * n))
    raise ValueError(kind)


KINDS = ([f"LIF-{r}" for r in ("zero", "subtract", "none")] + [f"CubaLIF-{r}" for r in ("zero", "subtract", "none")]
         + ["ALIF", "LI", "LTC", "LTCReadout", "AHP", "SPSN-stochastic", "SPSN-deterministic", "LSTM"])
GRADED_ONLY = ("LI", "LTCReadout", "LSTM")  # no recurrent Dense in their single-node test graph


def single(kind: str, seed: int = 0) -> Graph:
    """in -> fc -> <primitive> (spiking ones with a delay-1 recurrent Dense)."""
    rng = np.random.default_rng(seed)
    g = Graph()
    g.add("in", Input(F))
    g.add("fc", Dense.of(rng.normal(0, 0.8, (16, F)), rng.normal(0.1, 0.1, 16)))
    g.add("pop", neuron(kind, 16, rng))
    g.connect("in", "fc")
    g.connect("fc", "pop")
    if kind == "SPSN-stochastic":  # the uniform noise is a model input, so every backend sees the same numbers
        g.add("noise", Input(16))
        g.connect("noise", "pop", port="noise")
    if kind not in GRADED_ONLY:
        g.add("rec", Dense.of(rng.normal(0, 0.3, (16, 16))))
        g.connect("pop", "rec", delay=1)
        g.connect("rec", "pop")
    g.outputs = ["pop"]
    return g


def multilayer(seed: int = 1) -> Graph:
    """Three recurrent layers (ALIF, LIF-subtract, CubaLIF), delay-1 and delay-2 edges, a skip, an LI readout."""
    rng = np.random.default_rng(seed)
    g = Graph()
    g.add("in", Input(F, "spike"))
    prev, width = "in", F
    for i, kind in enumerate(["ALIF", "LIF-subtract", "CubaLIF-zero"], 1):
        g.add(f"fc{i}", Dense.of(rng.normal(0, 1.2, (24, width)), rng.normal(0.05, 0.05, 24)))
        g.add(f"n{i}", neuron(kind, 24, rng))
        g.add(f"rec{i}", Dense.of(rng.normal(0, 0.4, (24, 24))))
        g.connect(prev, f"fc{i}")
        g.connect(f"fc{i}", f"n{i}")
        g.connect(f"n{i}", f"rec{i}", delay=i % 2 + 1)  # delay 2, 1, 2
        g.connect(f"rec{i}", f"n{i}")
        prev, width = f"n{i}", 24
    g.add("skip", Dense.of(rng.normal(0, 0.5, (24, 24))))
    g.connect("n1", "skip", delay=2)
    g.connect("skip", "n3")
    g.add("out", Dense.of(rng.normal(0, 1, (5, 24))))
    g.add("readout", LI(alpha=np.full(5, 0.9), gain=0.1))
    g.connect("n3", "out")
    g.connect("out", "readout")
    g.outputs = ["readout", "n2"]
    return g


def inputs(g: Graph, T: int = T, B: int = B, seed: int = 2) -> np.ndarray | dict[str, np.ndarray]:
    """Spikes or Gaussian currents for "in", uniform noise for a "noise" input."""
    rng = np.random.default_rng(seed)
    if g.nodes["in"].kind == "spike":
        x = (rng.random((T, B, F)) < 0.3).astype(np.float32)
    else:
        x = rng.normal(0.3, 0.8, (T, B, F)).astype(np.float32)
    if "noise" in g.nodes:
        return {"in": x, "noise": rng.random((T, B, g.nodes["noise"].size)).astype(np.float32)}
    return x


def compare(g: Graph, x: np.ndarray, dtype: str = "float32", tol: float = 1e-5) -> None:
    """onnxruntime (loop model) vs the NumPy runtime: graded within tol, spikes and counts ~identical."""
    ref, ref_act = NumpyRuntime(g, dtype).run(x)
    out, act = OnnxRuntime(lower(g, dtype=dtype)).run(x)
    for o in g.outputs:
        assert out[o].shape == ref[o].shape and out[o].dtype == np.dtype(dtype)
        if g.nodes[o].out_kind == "spike":
            assert ref[o].mean() > 0.01, f"{o} hardly spikes: the test would prove nothing"
            assert (out[o] == ref[o]).mean() >= 0.999, o
        else:
            np.testing.assert_allclose(out[o], ref[o], atol=tol, rtol=0, err_msg=o)
    for n, nz in act.nonzero.items():
        assert (nz == ref_act.nonzero[n]).mean() >= 0.999, n
    assert set(act.nonzero) >= {n for n, v in g.nodes.items() if v.out_kind == "spike"}
