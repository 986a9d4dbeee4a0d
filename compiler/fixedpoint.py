"""Loihi fixed-point helpers (DESIGN §6): the integer arithmetic every fixed-point primitive's `step` is written in.

Each function is plain NumPy on int64 arrays (np.abs, np.sign, np.where, shifts,
arithmetic) and calls no other helper, so the NumPy integer runtime, Lava's fixed_pt
process models and a compiled backend (numba.njit compiles each function as it is, except
`accumulate`, an int64 matmul numba lacks) run the same code. `ops.fx` is this module.

Lava 0.10's conventions (lava/proc/dense/models.py, lava/proc/lif/models.py):
products in int64, trunc12(x) = sign(x)·(|x| >> 12) rounds toward zero, states
are 24-bit, synaptic input a_in and threshold mantissas are MSB-aligned by << 6,
and Lava's int32 state arithmetic wraps on overflow.
"""
from __future__ import annotations

import math

import numpy as np

DECAY_ONE = 4096  # a 12-bit decay d multiplies by (4096 − d) / 4096
ALIGN = 6  # a_in and thresholds are MSB-aligned into the 24-bit state: << 6
V_MAX = 2**23 - 1  # 24-bit states are clipped to ±(2^23 − 1)
WRAP24 = 2**23  # ... or wrapped once into (−2^23, 2^23] (Lava's u)

# -- integers and shifts ---------------------------------------------------------


def to_int(x: np.ndarray) -> np.ndarray:
    """x as int64 (float spikes or integer graded messages; floats truncate toward zero)."""
    return x.astype(np.int64)


def shift(x: np.ndarray, e: np.ndarray | int) -> np.ndarray:
    """x << e where e >= 0, arithmetic x >> −e (floor) where e < 0; elementwise when e is an array (Lava's scale_bias)."""
    e = np.asarray(e, np.int64)
    return np.where(e >= 0, np.left_shift(x, np.maximum(e, 0)), np.right_shift(x, np.maximum(-e, 0)))


def shift_trunc(x: np.ndarray, e: int) -> np.ndarray:
    """x << e for e >= 0, else sign(x)·(|x| >> −e): a shift that rounds toward zero."""
    return x << e if e >= 0 else np.sign(x) * (np.abs(x) >> -e)


def align(a_in: np.ndarray) -> np.ndarray:
    """Synaptic input MSB-aligned into the 24-bit state: to_int(a_in) << 6."""
    return a_in.astype(np.int64) << ALIGN


def threshold(vth: np.ndarray) -> np.ndarray:
    """A 17-bit threshold mantissa in state units: vth << 6 (Lava's vth_eff)."""
    return vth.astype(np.int64) << ALIGN


def bias(bias_mant: np.ndarray, bias_exp: np.ndarray) -> np.ndarray:
    """bias_mant << bias_exp (>> when negative) in int64."""
    m, e = bias_mant.astype(np.int64), bias_exp.astype(np.int64)
    return np.where(e >= 0, np.left_shift(m, np.maximum(e, 0)), np.right_shift(m, np.maximum(-e, 0)))


# -- rounding, wraps and clips ----------------------------------------------------


def trunc12(x: np.ndarray) -> np.ndarray:
    """sign(x)·(|x| >> 12): Loihi's rounding toward zero of a 12-bit fraction product."""
    return np.sign(x) * (np.abs(x) >> 12)


def decay(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """trunc12(x·(4096 − d)): one step of a 12-bit decay d."""
    y = x * (DECAY_ONE - d)
    return np.sign(y) * (np.abs(y) >> 12)


def wrap32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap to int32, as Lava's int32 state arithmetic does on overflow."""
    return ((x + 2**31) & (2**32 - 1)) - 2**31


def wrap24(u: np.ndarray) -> np.ndarray:
    """Lava LIF's one wrap of u into 24 bits: > 2^23 subtracts 2^24, <= −2^23 adds 2^24."""
    w = np.where(u > WRAP24, u - 2 * WRAP24, u)
    return np.where(w <= -WRAP24, u + 2 * WRAP24, w)


def clip24(x: np.ndarray) -> np.ndarray:
    """x clipped to the 24-bit state range ±(2^23 − 1)."""
    return np.clip(x, -V_MAX, V_MAX)


def spikes(c: np.ndarray) -> np.ndarray:
    """A boolean condition as 0/1 int64 spikes."""
    return c.astype(np.int64)


def reset(v: np.ndarray, s: np.ndarray, vth_eff: np.ndarray, mode: str) -> np.ndarray:
    """v after spikes s: zero (0 where s), subtract (v − vth_eff·s) or none."""
    if mode == "zero":
        return np.where(s > 0, 0, v)
    if mode == "subtract":
        return v - vth_eff * s
    return v


def accumulate(x: np.ndarray, Wt: np.ndarray) -> np.ndarray:
    """Exact int64 weighted sums x @ Wt per sample (Wt is W transposed, [in, out])."""
    return x.astype(np.int64) @ Wt


# -- Lava Dense weights -----------------------------------------------------------


def weight_range(sign_mode: str, num_weight_bits: int = 8) -> tuple[int, int, int]:
    """(lowest, highest, truncated low bits) of weight mantissas in `sign_mode` (Lava's clip + truncate)."""
    mixed = int(sign_mode == "mixed")
    k = 8 - num_weight_bits + mixed
    if sign_mode == "mixed":
        return -256, 255 >> k << k, k
    if sign_mode == "excitatory":
        return 0, 255 >> k << k, k
    return -(255 >> k << k), 0, k


def lava_weights(W: np.ndarray, sign_mode: str, num_weight_bits: int = 8) -> np.ndarray:
    """What Lava's fixed_pt Dense does to W: int cast (toward zero), clip to the sign mode, truncate low bits."""
    mixed = int(sign_mode == "mixed")
    w = np.asarray(W).astype(np.int64)
    if sign_mode == "inhibitory":
        w = -w
    w = np.clip(w, -256 * mixed, 255)
    k = 8 - num_weight_bits + mixed
    w = (w >> k) << k  # arithmetic shift: negative mixed weights round toward -inf, as in Lava
    return -w if sign_mode == "inhibitory" else w


# -- sigmoid tables ---------------------------------------------------------------

GATE_ONE = 4096  # a 12-bit gate g means g / 4096
Z_FRAC = 8  # fractional bits of LTC gate pre-activations
LUT_SIZE = 2048  # sigmoid12's table over z ∈ [0, 8) in steps of 2^-8


def _lut() -> np.ndarray:
    # math.exp in float64, rounded half-up once: the table is data afterwards (no libm at run time)
    t = [int(math.floor(GATE_ONE / (1.0 + math.exp(-k / 2**Z_FRAC)) + 0.5)) for k in range(LUT_SIZE)]
    lut = np.array(t, np.int64)
    lut.setflags(write=False)
    return lut


SIGMOID_LUT = _lut()


def sigmoid12(z: np.ndarray) -> np.ndarray:
    """σ(z / 2^8) as a 12-bit fraction (int64 in [1, 4095]) by table lookup, integer arithmetic only."""
    z = np.asarray(z, np.int64)
    m = SIGMOID_LUT[np.minimum(np.abs(z), LUT_SIZE - 1)]
    return np.where(z >= 0, m, GATE_ONE - m)


NOISE_BITS = 16  # the noise input u ∈ [0, 1) is read as floor(u·2^16)
SIG_FRAC = 16  # fractional bits of sigmoid_q16's argument and value
SIG_STEP = 12  # knots every 2^(SIG_STEP − SIG_FRAC) = 1/16
SIG_RANGE = 16  # knots cover [−16, 16]; σ is 0 or 1 to 2^−16 beyond
SIGMOID_TABLE = np.array([round((1 << SIG_FRAC) / (1 + math.exp(-(j / 16 - SIG_RANGE))))
                          for j in range(2 * SIG_RANGE * 16 + 1)] + [1 << SIG_FRAC], dtype=np.int64)
SIGMOID_TABLE.setflags(write=False)


def sigmoid_q16(v: np.ndarray, v_frac: np.ndarray | int) -> np.ndarray:
    """2^16·σ(v / 2^v_frac) as an exact integer (int64), piecewise linear between SIGMOID_TABLE's knots."""
    v = np.asarray(v, np.int64)
    sh = SIG_FRAC - np.asarray(v_frac, np.int64)
    vq = np.where(sh >= 0, np.left_shift(v, np.maximum(sh, 0)), np.right_shift(v, np.maximum(-sh, 0)))
    pos = np.clip(vq + (SIG_RANGE << SIG_FRAC), 0, (2 * SIG_RANGE) << SIG_FRAC)
    j, f = pos >> SIG_STEP, pos & ((1 << SIG_STEP) - 1)
    lo = SIGMOID_TABLE[j]
    return lo + (((SIGMOID_TABLE[j + 1] - lo) * f) >> SIG_STEP)


def noise_int(u: np.ndarray) -> np.ndarray:
    """The integer noise floor(u·2^16) of uniform u ∈ [0, 1) (int64)."""
    return np.floor(np.asarray(u, np.float64) * (1 << NOISE_BITS)).astype(np.int64)
