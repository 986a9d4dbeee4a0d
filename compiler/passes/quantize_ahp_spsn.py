"""quantize(loihi) rules for the seed families AHP (002) and SPSN (004), registered into QUANT_RULES.

The fixed-point formulations are documented in compiler/primitives/loihi_ahp.py and loihi_spsn.py. Per population:

- AHP: input factor gain (folded into the weights as for LIF); S bounds the
  threshold plus one AHP kick |w_ahp| (and, calibrated, the measured |aux|);
  vth = round(theta·S/64) and w_ahp = round(w_ahp·S/64) as 17-bit mantissas
  (unsigned and signed), dv = round(4096·(1 − alpha)), da = round(4096·(1 − alpha_aux)).
- SPSN: input factor 1 (I enters the current unscaled); i and v share S,
  which bounds the current's accumulated input (1/(1 − alpha) times the weight
  estimate, or the measured |i|); di, dv from alpha, beta; a Dense bias becomes
  the current's bias; v_frac = log2 S tells the integer sigmoid where the binary
  point of v is. The noise input must come straight from a graph Input.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Primitive
from snnc.compiler.passes.quantize_loihi import Neuron, _gain, _li_leak, _theta, quant_rule
from snnc.compiler.primitives import AHP, SPSN, Input
from snnc.compiler.fixedpoint import NOISE_BITS
from snnc.compiler.primitives.loihi_ahp import LoihiAHP
from snnc.compiler.primitives.loihi_spsn import LoihiSPSN, V_FRAC_MAX


def _ahp_threshold(name: str, node: AHP) -> np.ndarray:
    # the membrane must hold the threshold and the hyperpolarization of one spike below zero
    return _theta(name, node) + np.abs(node.w_ahp)


def _ahp_aux(name: str, node: AHP, traces: dict, k: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(traces[name]["aux"], float)).reshape(-1, node.size).max(0)


@quant_rule(AHP, factor=_gain, threshold=_ahp_threshold, thr_plus_input=True, calib_input=_ahp_aux, leak=_li_leak,
            per_neuron_scale=True)
def _ahp(q: Neuron) -> tuple[Primitive, str]:
    node = q.node
    bm, be = q.bias()
    out = LoihiAHP(q.decay(node.alpha, "alpha"), q.decay(node.alpha_aux, "alpha_aux"), q.mant(node.theta, "theta"),
                   q.mant(node.w_ahp, "w_ahp", signed=True), bm, be, q.state(node.v0), q.state(node.aux0))
    return out, f"LoihiAHP 24-bit v,aux; 12-bit dv,da; vth, w_ahp 17-bit; {q.scale_text}"


def _unit(node: SPSN) -> np.ndarray:
    return np.ones(node.size)


def _spsn_current(name: str, node: SPSN, traces: dict, k: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(traces[name]["i"], float)).reshape(-1, node.size).max(0)


def _spsn_leak(node: SPSN) -> float:
    return max(1 - float(node.alpha.max()), 1 / 64)  # the current accumulates its input


@quant_rule(SPSN, factor=_unit, calib_input=_spsn_current, leak=_spsn_leak, free_ports=("noise",))
def _spsn(q: Neuron) -> tuple[Primitive, str]:
    node, name = q.node, q.name
    if not 0 <= q.log2S <= V_FRAC_MAX:
        raise SnncError(f"quantize loihi: SPSN '{name}': voltage scale 2^{q.log2S} gives v_frac {q.log2S} outside "
                        f"[0, {V_FRAC_MAX}] (input range too large for 24-bit states)")
    for e in q.graph.in_edges(name):
        if e.port == "noise":
            if not isinstance(q.graph.nodes[e.src], Input):
                raise SnncError(f"quantize loihi: edge {e}: the noise of a fixed-point SPSN must come from a graph Input")
            q.formats[e.src] = f"input (uniform noise u, read as floor(u·2^{NOISE_BITS}))"
    bm, be = q.bias()
    out = LoihiSPSN(q.decay(node.alpha, "alpha"), q.decay(node.beta, "beta"), bm, be, q.log2S, bool(node.stochastic))
    mode = "s = floor(u·2^16) < sigmoid_q16(v)" if node.stochastic else "s = v > 0"
    return out, f"LoihiSPSN 24-bit i,v (v_frac {q.log2S}); 12-bit di,dv; {mode}"
