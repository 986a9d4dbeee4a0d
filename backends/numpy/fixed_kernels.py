"""NumPy kernels of the quantized primitives (compiler/primitives/fixed.py), registered into KERNELS.

Integer kernels reproduce Lava 0.10's fixed_pt Dense and LIF bit for bit
(lava/proc/dense/models.py, lava/proc/lif/models.py): int64 products, trunc12
rounding toward zero, the int32 casts Lava applies, 24-bit wrap of u and clip of v.
The runtime feeds float arrays into Input nodes; integer kernels cast what they receive.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from snnc.backends.numpy.lower import PREPARE, default_params, kernel
from snnc.compiler.primitives.fixed import (Affine, Int8Dense, LoihiALIF, LoihiDense, LoihiLI, LoihiLIF,
                                            lava_weights)

UV_MAX = 2**23  # 24-bit states
V_LIM = UV_MAX - 1
DECAY_UNITY = 4096
ACT_SHIFT = VTH_SHIFT = 6


def _int(x: np.ndarray) -> np.ndarray:
    """Inputs as int64 (float spikes and integer graded messages from the runtime; truncates toward zero)."""
    return x if x.dtype == np.int64 else x.astype(np.int64)


def _trunc12(x: np.ndarray) -> np.ndarray:
    """sign(x)·(|x| >> 12): Lava's decay rounding toward zero."""
    return np.sign(x) * (np.abs(x) >> 12)


def _int32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap to int32, as Lava's int32 arithmetic does on overflow."""
    return ((x + 2**31) & (2**32 - 1)) - 2**31


def _shift(x: np.ndarray, e: np.ndarray | int) -> np.ndarray:
    """x << e for e >= 0, arithmetic x >> -e otherwise (elementwise when e is an array)."""
    return np.where(e >= 0, np.left_shift(x, np.maximum(e, 0)), np.right_shift(x, np.maximum(-e, 0)))


def _prepare_int(node, dtype) -> SimpleNamespace:
    p = default_params(node, dtype)
    if hasattr(node, "bias_mant"):
        # Lava's scale_bias: bias_mant (int32) << bias_exp, or >> when negative
        p.bias = _shift(node.bias_mant.astype(np.int64), node.bias_exp.astype(np.int64))[None, :]
    if hasattr(node, "vth"):
        p.vth_eff = (node.vth.astype(np.int64) << VTH_SHIFT)[None, :]
    for f in ("du", "dv", "dr", "beta"):
        if hasattr(node, f):
            setattr(p, f, getattr(node, f).astype(np.int64)[None, :])
    return p


@kernel(LoihiDense)
def _loihi_dense(p, st, inp):
    acc = _int(inp["in"]) @ p.Wt
    return _shift(acc, p.weight_exp)


def _prepare_loihi_dense(node: LoihiDense, dtype) -> SimpleNamespace:
    p = default_params(node, dtype)
    p.Wt = np.ascontiguousarray(lava_weights(node.W, node.sign_mode, int(node.num_weight_bits)).T.astype(np.int64))
    p.weight_exp = int(node.weight_exp)
    return p


def _decay(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    return _int32(_trunc12(x * (DECAY_UNITY - d)))


def _wrap24(u: np.ndarray) -> np.ndarray:
    # Lava wraps once: (2^23, ...) -> subtract 2^24; (..., -2^23] -> add 2^24
    w = np.where(u > UV_MAX, u - 2 * UV_MAX, u)
    return np.where(w <= -UV_MAX, u + 2 * UV_MAX, w)


@kernel(LoihiLIF)
def _loihi_lif(p, st, inp):
    a_in = _int(inp["in"]) << ACT_SHIFT
    u = _wrap24(_int32(_decay(st["u"], p.du + 1) + a_in))  # Lava's ds_offset = 1
    v = np.clip(_int32(_decay(st["v"], p.dv) + u + p.bias), -V_LIM, V_LIM)
    s = v > p.vth_eff
    if p.reset == "zero":
        v = np.where(s, 0, v)
    elif p.reset == "subtract":
        v = v - p.vth_eff * s
    st["u"], st["v"] = u, v
    return s.astype(np.int64)


@kernel(LoihiLI)
def _loihi_li(p, st, inp):
    a_in = _int(inp["in"]) << ACT_SHIFT
    v = np.clip(_decay(st["v"], p.dv) + a_in + p.bias, -V_LIM, V_LIM)
    st["v"] = v
    return v


@kernel(LoihiALIF)
def _loihi_alif(p, st, inp):
    s_prev = st["s"]
    b = _trunc12(st["b"] * (DECAY_UNITY - p.dr)) + (p.dr << ACT_SHIFT) * s_prev
    B = p.vth_eff + _trunc12(p.beta * b)
    a_in = _int(inp["in"]) << ACT_SHIFT
    v = np.clip(_decay(st["v"], p.dv) + a_in + p.bias - B * s_prev, -V_LIM, V_LIM)
    s = (v > B).astype(np.int64)
    st["b"], st["v"], st["s"] = b, v, s
    return s


@kernel(Int8Dense)
def _int8_dense(p, st, inp):
    xq = np.clip(np.rint(inp["in"] / p.x_scale), -127, 127).astype(np.int32)
    acc = xq @ p.Wt  # int32 accumulation
    return acc.astype(p.out_scale.dtype) * p.out_scale + p.b


def _prepare_int8(node: Int8Dense, dtype) -> SimpleNamespace:
    p = default_params(node, dtype)
    p.Wt = np.ascontiguousarray(node.W.T.astype(np.int32))
    p.out_scale = (node.w_scale * float(node.x_scale)).astype(dtype)
    p.x_scale = dtype.type(float(node.x_scale))
    return p


@kernel(Affine)
def _affine(p, st, inp):
    return inp["in"] * p.scale + p.shift


for _t in (LoihiLIF, LoihiLI, LoihiALIF):
    PREPARE[_t] = _prepare_int
PREPARE[LoihiDense] = _prepare_loihi_dense
PREPARE[Int8Dense] = _prepare_int8
