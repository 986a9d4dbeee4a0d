"""quantize(loihi) rules for seed 003's LTC and LTCReadout (formulation: compiler/primitives/loihi_ltc.py).

Registered into quantize_loihi.QUANT_RULES. The population's voltage scale S is
chosen there as for LIF (I enters with factor 1, so incoming Dense weights become
mantissas of W·S/64 and Dense biases fold into bias_mant << bias_exp ≈ b·S).
Here each gate half gets its own exponent: the I and v halves act on voltage
units (z·2^8 per v·S, effective weight W·2^8/S), the b half on the 2^18-scaled
adaptation trace (W·2^8/2^18); the exponent is the smallest that keeps every
|mantissa| <= 255. Gate biases become Q8 integers; b0 and beta 17-bit threshold
mantissas as for ALIF. Anything that does not fit is an error naming the node
and the value.
"""
from __future__ import annotations

import math

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Primitive
from snnc.compiler.passes.quantize_loihi import Neuron, quant_rule
from snnc.compiler.primitives import LTC, LTCReadout
from snnc.compiler.fixedpoint import Z_FRAC
from snnc.compiler.primitives.loihi_ltc import B_FRAC, B_MAX, GATE_BIAS, GATE_EXP, GATE_MANT, LoihiLTC, LoihiLTCReadout


def _ones(node: Primitive) -> np.ndarray:
    return np.ones(node.size)


def _ltc_threshold(name: str, node: LTC) -> np.ndarray:
    return node.b0 + np.maximum(node.beta, 0)


def gate_half(W: np.ndarray, scale: float, where: str) -> tuple[np.ndarray, int, float]:
    """(mantissas, exponent, relative error) with mant·2^e ≈ W·2^8/scale; `where` names node and half for errors."""
    w_eff = W * 2.0**Z_FRAC / scale
    top = float(np.abs(w_eff).max()) if w_eff.size else 0.0
    if top == 0:
        return np.zeros(W.shape, np.int64), 0, 0.0
    e = max(GATE_EXP[0], math.ceil(math.log2(top / GATE_MANT)))
    if e > GATE_EXP[1]:
        raise SnncError(f"quantize loihi: {where}: gate weight {float(np.abs(W).max()):g} needs exponent {e} > "
                        f"{GATE_EXP[1]} at scale 2^{int(math.log2(scale))}")
    mant = np.clip(np.rint(w_eff / 2.0**e), -GATE_MANT, GATE_MANT).astype(np.int64)
    err = float(np.linalg.norm(mant * 2.0**e - w_eff) / np.linalg.norm(w_eff))
    return mant, e, err


def _gate(q: Neuron, g: str, state_scale: float) -> tuple[dict, float]:
    """Fields W{g}, e{g}_in, e{g}_state, b{g} of one gate and its worst relative weight error."""
    W, bias, n = getattr(q.node, "W" + g), getattr(q.node, "b" + g), q.node.size
    where = f"{type(q.node).__name__} '{q.name}' W{g}"
    m_in, e_in, err_in = gate_half(W[:, :n], q.S, where + " (input half)")
    m_st, e_st, err_st = gate_half(W[:, n:], state_scale, where + " (state half)")
    bq = np.rint(bias * 2.0**Z_FRAC).astype(np.int64)
    bad = (bq < GATE_BIAS[0]) | (bq > GATE_BIAS[1])
    if bad.any():
        i = int(np.argmax(bad))
        raise SnncError(f"quantize loihi: {type(q.node).__name__} '{q.name}': gate bias b{g}[{i}] = {bias[i]:g} "
                        f"exceeds the 16-bit Q8 range (|b| < {2**15 / 2**Z_FRAC:g})")
    fields = {"W" + g: np.concatenate([m_in, m_st], axis=1), f"e{g}_in": e_in, f"e{g}_state": e_st, "b" + g: bq}
    return fields, max(err_in, err_st)


def _b_init(q: Neuron) -> np.ndarray:
    b = np.rint(q.node.b_init * 2.0**B_FRAC).astype(np.int64)
    if b.min() < 0 or b.max() > B_MAX:
        i = int(np.argmax((b < 0) | (b > B_MAX)))
        raise SnncError(f"quantize loihi: LTC '{q.name}': b_init[{i}] = {q.node.b_init[i]:g} outside [0, {B_MAX / 2**B_FRAC:g}]")
    return b


@quant_rule(LTC, factor=_ones, threshold=_ltc_threshold)
def _ltc(q: Neuron) -> tuple[Primitive, str]:
    ga, err_a = _gate(q, "a", q.S)
    gr, err_r = _gate(q, "r", 2.0**B_FRAC)
    bm, be = q.bias()
    out = LoihiLTC(**ga, **gr, vth=q.mant(q.node.b0, "b0"), beta=q.mant(q.node.beta, "beta"), bias_mant=bm,
                   bias_exp=be, v0=q.state(q.node.v0), b_init=_b_init(q))
    return out, (f"LoihiLTC 24-bit v, b·2^{B_FRAC}; gates 8-bit mantissas (exps a {ga['ea_in']}/{ga['ea_state']}, "
                 f"r {gr['er_in']}/{gr['er_state']}, rel. error {max(err_a, err_r):.2g}), Q8 pre-activations, "
                 f"12-bit table sigmoid; vth,beta 17-bit; scale 2^{q.log2S}")


@quant_rule(LTCReadout, factor=_ones)
def _ltc_readout(q: Neuron) -> tuple[Primitive, str]:
    ga, err = _gate(q, "a", q.S)
    bm, be = q.bias()
    out = LoihiLTCReadout(**ga, bias_mant=bm, bias_exp=be, v0=q.state(q.node.v0))
    return out, (f"LoihiLTCReadout 24-bit v (output v / 2^{q.log2S}); gate 8-bit mantissas (exps {ga['ea_in']}/"
                 f"{ga['ea_state']}, rel. error {err:.2g}), Q8 pre-activation, 12-bit table sigmoid")
