"""The voltage scale S of each neuron population for quantize(loihi): v_int ≈ v·S.

A population's bound (the largest |value| its membrane must hold: threshold, input, measured |v| with a calibration
set) times a headroom must fit 24 bits. Without a calibration set the input per step is bounded from the weights,
the largest input each Dense reads (1 for spikes; a graded input's declared, recorded or assumed range) and the
biases, accumulated over the leak's time constant. Rules with per-neuron scales (LIF, CubaLIF, ALIF, LI, AHP) get one S_j per
neuron, so that a per-neuron input factor k (gain, (1 − alpha)·R) folded into the weights never shrinks some rows of a
Dense against its one shared exponent; the others (LTC, SPSN, whose gates or sigmoid read v across neurons) one power
of two.
"""
from __future__ import annotations

import math

import numpy as np

from snnc.compiler.primitives import Dense
from snnc.compiler.primitives.loihi_base import BIAS_EXP, BIAS_MANT, WEIGHT_EXP

V_LIM = 2**23 - 1
W_MAX_EFF = 254 * 2 ** WEIGHT_EXP[1]  # largest effective weight (a_in units)
ACTIVE = 0.25  # uncalibrated: the fraction of a neuron's weighted fan-in taken to arrive at once
HEADROOM = 2.0  # uncalibrated: the membrane bound's margin (1.5 over the measured peak with a calibration set)
SPREAD = 4  # a per-neuron scale is lowered at most 2^SPREAD below what its 24-bit bound allows
VTH_BITS = 3  # nor so far that the threshold mantissa theta·S/64 falls below 2^VTH_BITS (its rounding <= 6 %)


def per(x, n: int) -> np.ndarray:
    """x broadcast to one float per neuron."""
    return np.broadcast_to(np.asarray(x, float), (n,)).astype(float)


def _bound(name: str, node, r, dense: list[tuple[str, Dense]], traces: dict | None,
           x_max: dict[str, float]) -> tuple[np.ndarray, float]:
    """(per neuron: the largest |value| the membrane must hold in float units, headroom factor)."""
    n = node.size
    k = np.abs(per(r.factor(node), n))
    thr = per(r.threshold(name, node), n)
    if traces is not None:
        peak = lambda a: np.abs(np.asarray(a, float)).reshape(-1, n).max(0)  # noqa: E731  (over steps and samples)
        v = peak(traces[name]["v"])
        inp = sum((peak(traces[d]["out"]) for d, _ in dense), np.zeros(n)) * k
        if r.calib_input is not None:
            inp = np.maximum(inp, per(r.calib_input(name, node, traces, k), n))
        bound = np.maximum.reduce([thr, v, inp, thr + inp if r.thr_plus_input else np.zeros(n)])
        return bound, 1.5
    # per step: the weights times the largest input each Dense reads (1 for spikes, the range of a graded input),
    # of which a fraction ACTIVE arrives at once, and every bias
    syn = sum((np.abs(k[:, None] * d.W).sum(1) * x_max.get(dn, 1.0) for dn, d in dense), np.zeros(n))
    bias = sum((np.abs(k * d.b) for _, d in dense), np.zeros(n)) + np.abs(per(getattr(node, "bias", 0.0), n))
    inp = ACTIVE * syn + bias
    if r.leak is not None:
        inp = inp / r.leak(node)
    return np.maximum.reduce([thr, inp + thr, bias]), HEADROOM


def _bias_cap(node, r, dense: list[tuple[str, Dense]]) -> np.ndarray:
    """log2 of the largest S whose per-step bias fits Loihi's 13-bit mantissa << 7 (+inf without a bias)."""
    n = node.size
    k = np.abs(per(r.factor(node), n))
    b = np.maximum(sum((np.abs(k * d.b) for _, d in dense), np.zeros(n)), np.abs(per(getattr(node, "bias", 0.0), n)))
    return np.where(b > 0, math.log2(BIAS_MANT[1] * 2.0 ** BIAS_EXP[1]) - np.log2(np.where(b > 0, b, 1.0)), np.inf)


def voltage_scale(name: str, node, r, dense: list[tuple[str, Dense]], traces: dict | None,
                  per_neuron: bool, x_max: dict[str, float] | None = None) -> float | np.ndarray:
    """The voltage scale of population `name`: a power of two, or with `per_neuron` one value per neuron.

    Per neuron, S_j is the largest that keeps neuron j's bound in 24 bits (Smax_j) and its per-step bias in 13 bits
    << 7, lowered where its incoming effective weights k_j·|W_j|·S_j would stand above the weakest neuron's (T):
    every row then spans the shared exponent's mantissas alike, instead of a per-neuron factor k shrinking some rows
    towards zero. With several Denses (input and recurrent) each row is measured against its own Dense's typical
    row, since each Dense has its own exponent. S_j stays within 2^-SPREAD of Smax_j and keeps VTH_BITS in its
    threshold mantissa; with one Dense T is raised to the level where exponent −8 still fills the mantissas (no
    row is lowered for nothing)."""
    k = np.abs(per(r.factor(node), node.size))
    bound, headroom = _bound(name, node, r, dense, traces, x_max or {})
    rows = [np.abs(d.W).max(1) for _, d in dense if d.W.size]
    kw = k * np.max(rows, axis=0) if rows else np.zeros(node.size)
    # in logs: a huge bound (theta 1e300) must not overflow bound·headroom to inf; nothing to hold: 2^6
    pos = bound > 0
    lg_max = np.where(pos, math.log2(V_LIM / headroom) - np.log2(np.where(pos, bound, 1.0)), 6.0)
    lg_max = np.clip(np.minimum(lg_max, _bias_cap(node, r, dense)), -1000.0, 1000.0)  # float64's range; at -1000 every weight flushes (an error later)
    has = kw > 0
    lkw = np.log2(np.where(has, kw, 1.0))
    w_top = math.log2(W_MAX_EFF * 64) - 1e-9  # the largest effective weight at exponent 7 (less float rounding)
    if not per_neuron:
        lg = float(lg_max.min())
        if has.any():
            lg = min(lg, w_top - float(lkw[has].max()))
        return 2.0 ** math.floor(lg)
    lg = lg_max
    if has.any():
        lkn = lkw
        if len(rows) > 1:
            # each Dense's rows relative to its own typical row (geometric mean): a neuron's level is set by its
            # most demanding row among its Denses, which have one exponent each
            rel = [np.where(m > 0, m / 2.0 ** np.mean(np.log2(m[m > 0])), 0.0) for m in rows if np.any(m > 0)]
            lkn = np.log2(np.where(has, k * np.max(rel, axis=0), 1.0))
        T = max(float((lg_max + lkn)[has].min()), math.log2(64 * 254) + WEIGHT_EXP[0] if lkn is lkw else -np.inf)
        thr = per(r.threshold(name, node), node.size)
        keep = np.log2(np.where(thr > 0, thr, 1.0))  # log2 theta_j: the scale whose mantissa has VTH_BITS bits
        floor = np.where(thr > 0, np.maximum(lg_max - SPREAD, VTH_BITS + 6 - keep), lg_max - SPREAD)
        lg = np.where(has, np.clip(T - lkn, np.minimum(floor, lg_max), lg_max), lg_max)
        over = float((lg + lkw)[has].max()) - w_top
        if over > 0:  # the weights would need an exponent above 7: lower every scale alike
            lg = lg - over
    return 2.0 ** lg
