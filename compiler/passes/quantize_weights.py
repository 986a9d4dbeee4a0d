"""Loihi synaptic weights for quantize(loihi): 8-bit mantissas with one exponent per Dense, the exponent chosen from
the weight distribution, and the per-layer report of what flushed to zero.

The exponent is the one, among the exponent that fits the largest weight and up to CLIP_TRIES smaller ones, with the
least squared error over all weights: a smaller exponent clips a few outliers to the largest mantissa but gives every
other weight a finer step (DESIGN §6: mant·2^exp in a_in units, mixed mantissas even).
"""
from __future__ import annotations

import math

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.fixedpoint import weight_range
from snnc.compiler.primitives.loihi_base import WEIGHT_EXP

CLIP_TRIES = 2  # smaller exponents tried below the one that fits the largest |weight|
MIN_MANT_BITS = 4  # fewer bits in the largest |mantissa| is a precision warning
FLUSH_WARN = 0.10  # more than this fraction of nonzero weights flushing to zero is a precision warning


def _mantissas(w_eff: np.ndarray, e: int, mode: str) -> np.ndarray:
    lo, hi, k = weight_range(mode)
    return np.clip(np.rint(w_eff / 2.0 ** (e + k)) * (1 << k), lo, hi).astype(np.int64)


def quantize_weights(w_eff: np.ndarray) -> tuple[np.ndarray, int, str]:
    """(mantissas, exponent, sign mode) with mant·2^exp ≈ w_eff (a_in units), least squared error."""
    if not np.any(w_eff):
        return np.zeros(w_eff.shape, np.int64), 0, "excitatory"
    mode = "excitatory" if w_eff.min() >= 0 else "inhibitory" if w_eff.max() <= 0 else "mixed"
    lo, hi, _ = weight_range(mode)
    lim = max(abs(lo), abs(hi)) if mode != "mixed" else hi
    top = max(WEIGHT_EXP[0], math.ceil(math.log2(float(np.abs(w_eff).max()) / lim)))
    if top > WEIGHT_EXP[1]:
        raise SnncError(f"weights need exponent {top} > {WEIGHT_EXP[1]}")
    best = None
    for e in range(top, max(WEIGHT_EXP[0], top - CLIP_TRIES) - 1, -1):
        mant = _mantissas(w_eff, e, mode)
        err = float(np.sum((mant * 2.0**e - w_eff) ** 2))
        if best is None or err < best[0]:
            best = (err, mant, e)
    return best[1], best[2], mode


def weight_step(mode: str, e: int) -> float:
    """The smallest nonzero effective weight (a_in units) at exponent e in sign mode `mode`."""
    return 2.0 ** (e + weight_range(mode)[2])


def flush_counts(W: np.ndarray, mant: np.ndarray) -> dict[str, int]:
    """Nonzero float weights, how many of them became mantissa 0, and the rows (neurons) that lost every input."""
    nz = W != 0
    lost = nz.any(1) & ~(nz & (mant != 0)).any(1)
    return {"nonzero": int(nz.sum()), "flushed": int(np.count_nonzero(nz & (mant == 0))),
            "neurons_without_input": int(lost.sum())}


def _scale_text(S: np.ndarray) -> str:
    lo, hi = math.log2(float(np.min(S))), math.log2(float(np.max(S)))
    return f"2^{lo:.3g}" if hi - lo < 0.05 else f"2^{lo:.3g}..2^{hi:.3g} (per neuron)"


def check_weights(dname: str, where: str, W: np.ndarray, k: np.ndarray, S: np.ndarray, w_eff: np.ndarray,
                  mant: np.ndarray, e: int, mode: str) -> str | None:
    """An error if every nonzero weight flushed to zero; a warning (returned) if precision is badly lost."""
    nz = w_eff != 0
    if not nz.any():
        return None
    c = flush_counts(np.where(nz, W, 0), mant)
    step = weight_step(mode, WEIGHT_EXP[0])
    kS = float(np.max(np.abs(np.asarray(k, float) * S)))  # the row whose float weights quantize finest
    wmax = float(np.abs(np.where(nz, W, 0)).max())
    if c["flushed"] == c["nonzero"]:
        raise SnncError(f"quantize loihi: Dense '{dname}' (feeding {where}): all its nonzero weights quantize to zero: "
                        f"largest |weight| {wmax:g} is {float(np.abs(w_eff).max()):.3g} in a_in units at voltage scale "
                        f"{_scale_text(S)}, below the smallest representable effective weight {step:g} "
                        f"(float weight {step * 64 / kS:.3g}); scale the weights up or lower the threshold")
    bits = int(np.abs(mant).max()).bit_length()
    if bits < MIN_MANT_BITS or c["flushed"] > FLUSH_WARN * c["nonzero"] or c["neurons_without_input"]:
        return (f"warning: Dense '{dname}' (feeding {where}) loses precision: largest |mantissa| "
                f"{int(np.abs(mant).max())} uses {bits} bit(s) at weight_exp {e} ({mode}), {c['flushed']} of "
                f"{c['nonzero']} nonzero weights flush to zero (below float weight {weight_step(mode, e) * 32 / kS:.3g}), "
                f"{c['neurons_without_input']} neuron(s) lose all inputs; largest |weight| {wmax:g}, "
                f"voltage scale {_scale_text(S)}")
    return None
