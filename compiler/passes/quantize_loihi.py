"""quantize(loihi): float Dense + LIF/CubaLIF/ALIF/LI -> Loihi fixed point (DESIGN §6).

Each neuron population n gets one voltage scale S_n, a power of two: v_int ≈ v·S_n,
chosen so that the largest value its membrane must hold (threshold, measured
|v| and input when a calibration set is given, else an estimate from the
weights) times a headroom uses the 24-bit range, and its largest synaptic
weight still fits an 8-bit mantissa with exponent <= 7. Then

- every Dense d feeding n becomes a LoihiDense whose effective weights
  mant·2^exp ≈ k·W·S_n/64, where k is the neuron's input factor (gain for
  LIF/CubaLIF/LI, (1 − alpha)·R for ALIF); the exponent is the smallest in
  [-8, 7] that fits the mantissas, the sign mode is Lava's (mixed, excitatory,
  inhibitory), mixed mantissas are even (Lava truncates one bit);
- a Dense bias b moves into the neuron's bias k·b·S_n (exact: the bias adds
  to the input every step); for CubaLIF it would enter the current, which Loihi
  cannot do, so it is refused;
- decays become 12-bit: dv = round(4096·(1 − alpha)), du = round(4096·(1 −
  alpha_syn)) − 1 (Lava adds 1), LIF without a current uses du = 4095; ALIF's
  dr = round(4096·(1 − rho));
- thresholds vth = round(theta·S_n/64) (17 bits), ALIF beta likewise; biases
  as a 13-bit mantissa with a 3-bit exponent.

The formulas of the fixed-point neurons (including snnc's ALIF) are in
snnc/compiler/primitives/fixed.py.
"""
from __future__ import annotations

import math

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.passes.common import consumers, type_name
from snnc.compiler.primitives import ALIF, LI, LIF, CubaLIF, Dense, Input
from snnc.compiler.primitives.fixed import (BIAS_EXP, BIAS_MANT, DECAY_MAX, WEIGHT_EXP, LoihiALIF, LoihiDense,
                                            LoihiLI, LoihiLIF, weight_range)

V_LIM = 2**23 - 1
B_FRAC = 18  # fractional bits of ALIF's adaptation trace
W_MAX_EFF = 254 * 2 ** WEIGHT_EXP[1]  # largest effective weight (a_in units)
NEURONS = (LIF, CubaLIF, ALIF, LI)


def input_factor(node) -> np.ndarray:
    """Per-neuron factor k multiplying the summed input I in the float equations."""
    if isinstance(node, ALIF):
        return (1 - node.alpha) * node.R
    return np.asarray(node.gain, float)


def threshold_bound(name: str, node) -> float:
    if isinstance(node, (LIF, CubaLIF)):
        if node.theta.min() < 0:
            raise SnncError(f"quantize loihi: node '{name}' has negative theta {node.theta.min():g}; Loihi thresholds are unsigned")
        return float(node.theta.max())
    if isinstance(node, ALIF):
        return float((node.b0 + np.maximum(node.beta, 0)).max())
    return 0.0


def _decay(alpha: np.ndarray, name: str, what: str, offset: int = 0) -> np.ndarray:
    if alpha.min() < 0 or alpha.max() > 1:
        raise SnncError(f"node '{name}': {what} must lie in [0, 1] for Loihi's 12-bit decays, got [{alpha.min():g}, {alpha.max():g}]")
    return np.clip(np.rint(4096 * (1 - alpha)) - offset, 0, DECAY_MAX).astype(np.int64)


def quantize_weights(w_eff: np.ndarray) -> tuple[np.ndarray, int, str]:
    """(mantissas, exponent, sign mode) with mant·2^exp ≈ w_eff (a_in units)."""
    if not np.any(w_eff):
        return np.zeros(w_eff.shape, np.int64), 0, "excitatory"
    mode = "excitatory" if w_eff.min() >= 0 else "inhibitory" if w_eff.max() <= 0 else "mixed"
    lo, hi, k = weight_range(mode)
    lim = max(abs(lo), abs(hi)) if mode != "mixed" else hi
    e = max(WEIGHT_EXP[0], math.ceil(math.log2(np.abs(w_eff).max() / lim)))
    if e > WEIGHT_EXP[1]:
        raise SnncError(f"weights need exponent {e} > {WEIGHT_EXP[1]}")
    step = 2 ** (e + k)  # mixed mantissas are multiples of 2
    mant = np.clip(np.rint(w_eff / step) * (1 << k), lo, hi).astype(np.int64)
    return mant, e, mode


def quantize_bias(bias_v: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron (mantissa, exponent) with mant << exp ≈ bias_v (voltage units)."""
    mag = np.abs(bias_v)
    e = np.zeros(mag.shape, np.int64)
    while True:
        over = np.rint(mag / 2.0 ** e) > BIAS_MANT[1]
        if not over.any():
            break
        if (e[over] >= BIAS_EXP[1]).any():
            raise SnncError(f"node '{name}': bias {bias_v[over].max():g} exceeds Loihi's 13-bit mantissa << {BIAS_EXP[1]}")
        e[over] += 1
    mant = np.clip(np.rint(bias_v / 2.0 ** e), *BIAS_MANT).astype(np.int64)
    return mant, e


def _voltage_scale(name: str, node, dense: list[tuple[str, Dense]], traces: dict | None) -> float:
    """The power-of-two voltage scale S of population `name`."""
    k = input_factor(node)
    w_abs = max((float(np.abs(k[:, None] * d.W).max()) for _, d in dense), default=0.0)
    thr = threshold_bound(name, node)
    if traces is not None:
        v = float(np.abs(traces[name]["v"]).max())
        inp = sum(float(np.abs(traces[d]["out"]).max()) for d, _ in dense) * float(np.abs(k).max())
        if isinstance(node, CubaLIF):
            inp = max(inp, float(np.abs(k * traces[name]["i"]).max()))
        bound, headroom = max(thr, v, inp, thr + inp if isinstance(node, (LIF, ALIF)) else 0.0), 1.5
    else:
        rows = sum(np.abs(k[:, None] * d.W).sum(1) + np.abs(k * d.b) for _, d in dense) if dense else np.zeros(1)
        inp = 0.25 * float(np.max(rows))  # guess: a quarter of the fan-in active at once
        if isinstance(node, LI):
            inp /= max(1 - float(node.alpha.max()), 1 / 64)  # a leaky integrator accumulates its input
        bias = float(np.abs(getattr(node, "bias", 0.0)).max()) if hasattr(node, "bias") else 0.0
        bound, headroom = max(thr, inp + thr, bias), 2.0
    if bound <= 0:
        return 64.0
    S = 2.0 ** math.floor(math.log2(V_LIM / (bound * headroom)))
    if w_abs > 0:
        S = min(S, 2.0 ** math.floor(math.log2(W_MAX_EFF * 64 / w_abs)))
    return S


def quantize_loihi(graph: Graph, traces: dict | None) -> tuple[Graph, dict]:
    """The pure rewrite; returns (new graph, {"formats", "scales", "weight_error"})."""
    g = graph.copy()
    formats: dict[str, str] = {}
    scales: dict[str, float] = {}
    werr: dict[str, float] = {}
    out_scale: dict[str, np.ndarray | float] = {}
    out_offset: dict[str, np.ndarray] = {}
    dense_of: dict[str, list[tuple[str, Dense]]] = {}
    for name, node in graph.nodes.items():
        if isinstance(node, Input):
            formats[name] = "input (" + ("binary spikes" if node.kind == "spike" else "graded, taken as integers") + ")"
        elif isinstance(node, Dense):
            users = consumers(graph, name)
            if len(users) != 1 or not isinstance(graph.nodes[users[0]], NEURONS):
                raise SnncError(f"quantize loihi: Dense '{name}' must feed exactly one LIF/CubaLIF/ALIF/LI node "
                                f"(it feeds {', '.join(users) or 'nothing'})")
            dense_of.setdefault(users[0], []).append((name, node))
        elif not isinstance(node, NEURONS):
            raise SnncError(f"quantize loihi: node '{name}' ({type_name(node)}) has no Loihi fixed-point formulation "
                            f"(supported: Input, Dense, LIF, CubaLIF, ALIF, LI)")
    for name, node in graph.nodes.items():
        if not isinstance(node, NEURONS):
            continue
        for e in graph.in_edges(name):
            if not isinstance(graph.nodes[e.src], Dense):
                raise SnncError(f"quantize loihi: edge {e}: Loihi neurons take input only through a Dense")
        dense = dense_of.get(name, [])
        S = _voltage_scale(name, node, dense, traces)
        scales[name] = out_scale[name] = S
        k = input_factor(node)
        bias_f = sum((k * d.b for _, d in dense), np.zeros(node.size))
        for dname, d in dense:
            if isinstance(node, CubaLIF) and np.any(d.b):
                raise SnncError(f"quantize loihi: Dense '{dname}' has a bias feeding CubaLIF '{name}'; Loihi adds "
                                f"biases to the voltage, not the current: fold it into CubaLIF.bias or remove it")
            w_eff = k[:, None] * d.W * (S / 64)
            try:
                mant, e, mode = quantize_weights(w_eff)
            except SnncError as err:
                raise SnncError(f"quantize loihi: Dense '{dname}': {err}") from None
            g.nodes[dname] = LoihiDense(mant, e, 8, mode)
            werr[dname] = _rel(mant * 2.0 ** e, w_eff)
            out_scale[dname], out_offset[dname] = k * S / 64, d.b  # LoihiDense output units per unit of the float Dense output
            formats[dname] = f"LoihiDense 8-bit {mode} mantissa, weight_exp {e}"
        if isinstance(node, CubaLIF):
            bias_f = node.bias
        bm, be = quantize_bias(bias_f * S, name)
        v0 = _state(node.v0 * S)
        if isinstance(node, (LIF, CubaLIF)):
            vth = np.rint(node.theta * S / 64).astype(np.int64)
            if isinstance(node, LIF):
                du, u0 = np.full(node.size, DECAY_MAX, np.int64), np.zeros(node.size, np.int64)
                dv = _decay(node.alpha, name, "alpha")
            else:
                du = _decay(node.alpha_syn, name, "alpha_syn", offset=1)
                dv = _decay(node.alpha_mem, name, "alpha_mem")
                u0 = _state(node.gain * node.i0 * S)
            g.nodes[name] = LoihiLIF(du, dv, vth, bm, be, node.reset, u0, v0)
            formats[name] = f"LoihiLIF 24-bit u,v; 12-bit du,dv; vth 17-bit; scale 2^{int(math.log2(S))}"
        elif isinstance(node, ALIF):
            vth = np.rint(node.b0 * S / 64).astype(np.int64)
            beta = np.rint(node.beta * S / 64).astype(np.int64)
            if vth.min() < 0 or beta.min() < 0:
                raise SnncError(f"quantize loihi: ALIF '{name}': b0 and beta must be non-negative for unsigned thresholds")
            b0 = np.rint(node.b_init * 2**B_FRAC).astype(np.int64)
            g.nodes[name] = LoihiALIF(_decay(node.alpha, name, "alpha"), _decay(node.rho, name, "rho"), vth, beta,
                                      bm, be, v0, b0)
            formats[name] = f"LoihiALIF 24-bit v, b·2^{B_FRAC}; 12-bit dv,dr; vth,beta 17-bit; scale 2^{int(math.log2(S))}"
        else:
            g.nodes[name] = LoihiLI(_decay(node.alpha, name, "alpha"), bm, be, v0)
            formats[name] = f"LoihiLI 24-bit v (output v / 2^{int(math.log2(S))}); 12-bit dv"
    return g, {"formats": formats, "scales": scales, "weight_error": werr, "out_scale": out_scale, "out_offset": out_offset}


def _state(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), -V_LIM, V_LIM).astype(np.int64)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    den = float(np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / den) if den > 0 else float(np.linalg.norm(a))
