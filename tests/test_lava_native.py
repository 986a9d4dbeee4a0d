"""Independent oracle for the integer steps: Lava's own Dense and LIF processes, run directly (no snnc code in Lava).

tests/lava_native_run.py wires lava.proc.io.source.RingBuffer -> lava.proc.dense.Dense ->
lava.proc.lif.LIF under Loihi2SimCfg(fixed_pt) and records the LIF's u and v after every
Lava step. The NumPy integer runtime runs the same network as Input -> LoihiDense ->
LoihiLIF (or LoihiLI, which DESIGN §6 defines as a LIF with du = 4095 whose threshold is
never reached) through the primitives' own `step`. Lava's Dense sends at step t what it
accumulated at t − 1 (zeros at the first step, where the LIF already integrates its bias),
so snnc runs [0, x] and its step t is Lava's step t + 1, from the very first.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from snnc.compiler.ir import Graph
from snnc.compiler.primitives import Input, LoihiDense, LoihiLI, LoihiLIF
from snnc.runtime.lava.runner import lava_python
from snnc.runtime.numpy.runtime import NumpyRuntime

HERE = Path(__file__).resolve().parent
A = np.array


def _lava(tmp_path: Path, x: np.ndarray, W: np.ndarray, weight_exp: int, graded: bool, lif: dict) -> dict:
    """u and v of Lava's own LIF after each of T + 1 Lava steps, [T + 1, n] int64 each."""
    cfg = {"x": x.astype(int).tolist(), "W": W.astype(int).tolist(), "weight_exp": weight_exp,
           "message_bits": 24 if graded else 0, "lif": {k: np.asarray(v).astype(int).tolist() for k, v in lif.items()}}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    subprocess.run([lava_python(), str(HERE / "lava_native_run.py"), str(tmp_path / "cfg.json"),
                    str(tmp_path / "out.json")], check=True, timeout=300, capture_output=True)
    return {k: np.array(v, np.int64) for k, v in json.loads((tmp_path / "out.json").read_text()).items()}


def _snnc(x: np.ndarray, W: np.ndarray, weight_exp: int, neuron) -> dict:
    """States of `neuron` after each step of Input -> LoihiDense -> neuron on [0, x] in the NumPy integer runtime."""
    x = np.concatenate([np.zeros_like(x[:1]), x])  # Lava's first step: the Dense buffer is still empty
    g = Graph()
    g.add("x", Input(W.shape[1], "graded"))
    g.add("fc", LoihiDense(W, weight_exp, 8, "mixed"))
    g.add("n", neuron)
    g.connect("x", "fc")
    g.connect("fc", "n")
    g.outputs = ["n"]
    rt = NumpyRuntime(g, "float64")
    rt.reset(1)
    rec = {k: [] for k in neuron.states}
    for t in range(x.shape[0]):
        rt.step(x[t][None, :].astype(np.float64))
        for k in rec:
            rec[k].append(rt.state["n"][k][0].copy())
    return {k: np.array(v) for k, v in rec.items()}


def test_loihi_dense_and_lif_match_lavas_own_processes(tmp_path):
    """Per-neuron du/dv/vth/bias, graded input, spikes and resets, u's 24-bit wrap and v's clip."""
    rng = np.random.default_rng(7)
    T, F, n = 14, 3, 5
    W = A([[254, -256, 16], [120, 64, -2], [-200, 10, 88], [2, 4, 6], [254, 254, 254]])
    x = rng.integers(-60, 200, (T, F))
    x[3] = [600, 0, 0]  # 254·600 << 6 = 9753600 > 2^23: u wraps on neuron 0 (and on the all-254 neuron 4)
    lif = dict(du=A([0, 400, 4095, 1000, 4095]), dv=A([2048, 100, 0, 4000, 0]), vth=A([300, 2000, 131071, 50, 131071]),
               bias_mant=A([0, -37, 100, 5, 4095]), bias_exp=A([0, 2, 7, 1, 7]))
    node = LoihiLIF(lif["du"], lif["dv"], lif["vth"], lif["bias_mant"], lif["bias_exp"], "zero")
    want = _lava(tmp_path, x, W, 1, True, lif)
    got = _snnc(x, W, 1, node)
    np.testing.assert_array_equal(got["u"], want["u"])
    np.testing.assert_array_equal(got["v"], want["v"])
    assert (want["v"] == 0).any() and (np.diff(want["u"][1:, 0]) < -2**23).any(), "no reset or no wrap exercised"
    assert (want["v"] == -(2**23 - 1)).any(), "no clip exercised"


def test_loihi_dense_binary_spikes_negative_exponent_match_lava(tmp_path):
    """Binary spikes through Lava's Dense with weight_exp = −2 (arithmetic shift of negative sums) into LIF."""
    rng = np.random.default_rng(3)
    T, F, n = 12, 6, 4
    W = (rng.integers(-128, 128, (n, F)) * 2).astype(np.int64)  # mixed 8-bit mantissas are even
    x = (rng.random((T, F)) < 0.5).astype(np.int64)
    lif = dict(du=A([10, 2000, 4095, 0]), dv=A([500, 0, 3000, 4095]), vth=A([5, 20, 8, 1]),
               bias_mant=A([0, 0, -3, 7]), bias_exp=A([0, 0, 1, 3]))
    node = LoihiLIF(lif["du"], lif["dv"], lif["vth"], lif["bias_mant"], lif["bias_exp"], "zero")
    want = _lava(tmp_path, x, W, -2, False, lif)
    got = _snnc(x, W, -2, node)
    np.testing.assert_array_equal(got["u"], want["u"])
    np.testing.assert_array_equal(got["v"], want["v"])


def test_loihi_li_is_lavas_lif_with_du_4095_and_an_unreached_threshold(tmp_path):
    """LoihiLI's v equals Lava's LIF v with du = 4095 (u = a_in << 6) and vth at the 17-bit maximum."""
    rng = np.random.default_rng(11)
    T, F, n = 15, 4, 4
    W = (rng.integers(-128, 128, (n, F)) * 2).astype(np.int64)
    x = rng.integers(-40, 80, (T, F))
    dv, bias_mant, bias_exp = A([0, 1000, 3333, 4095]), A([0, -100, 77, 4095]), A([0, 3, 1, 0])
    lif = dict(du=A([4095] * n), dv=dv, vth=A([2**17 - 1] * n), bias_mant=bias_mant, bias_exp=bias_exp)
    want = _lava(tmp_path, x, W, 0, True, lif)
    got = _snnc(x, W, 0, LoihiLI(dv, bias_mant, bias_exp))
    assert np.abs(want["v"]).max() < (2**17 - 1) << 6, "the threshold was reached: not an LI any more"
    np.testing.assert_array_equal(got["v"], want["v"])
    assert np.abs(got["v"]).max() > 10000, "inputs too small to be a test"

