"""quantize(loihi): float Dense + spiking neurons -> Loihi fixed point (DESIGN §6).

Each neuron population gets a voltage scale S, v_int ≈ v·S (quantize_scale.py): one value per neuron for LIF,
CubaLIF, ALIF, LI and AHP, a power of two for LTC and SPSN, chosen so that what the membrane must hold (threshold,
input, measured |v| when a calibration set is given, else an estimate from the weights and the leak) times a
headroom fits 24 bits and the largest synaptic weight an 8-bit mantissa with exponent <= 7. Per-neuron scales keep
a per-neuron input factor k out of the Dense's one shared exponent: every row's largest weight spans the mantissas
alike, and the factor lives on in the per-neuron thresholds, biases and states. Then

- every Dense d feeding n becomes a LoihiDense whose effective weights
  mant·2^exp ≈ k·W·S/64, where k is the neuron's input factor (gain for
  LIF/CubaLIF/LI, (1 − alpha)·R for ALIF); the exponent, in [-8, 7], is the one of
  least squared error among the one that fits the largest weight and two below it
  (quantize_weights.py), the sign mode is Lava's (mixed, excitatory, inhibitory),
  mixed mantissas are even (Lava truncates one bit);
- a Dense bias b moves into the neuron's bias k·b·S (exact: the bias adds
  to the input every step); for CubaLIF it would enter the current, which Loihi
  cannot do, so it is refused;
- decays become 12-bit: dv = round(4096·(1 − alpha)), du = round(4096·(1 −
  alpha_syn)) − 1 (Lava adds 1), LIF without a current uses du = 4095; ALIF's
  dr = round(4096·(1 − rho));
- thresholds vth = round(theta·S/64) (17 bits, per neuron), ALIF beta likewise;
  biases as a 13-bit mantissa with a 3-bit exponent.

The pass reports per Dense how many nonzero weights flushed to zero and how many neurons lost all their inputs.
What Loihi cannot represent is an error naming the node and the value, never a
silent change: a non-finite parameter; a decay outside [0, 1] (alpha = 0, i.e.
dv = 4096, is the one clamp: it becomes 4095, leaving v·2^-12, and the pass
report notes it); a threshold whose mantissa theta·S/64 does not fit 17 bits; a
weight range that needs an exponent above 7; and a Dense whose nonzero float
weights would all quantize to zero: the network could never receive them. Lesser
precision loss is a warning in the pass report (`snnc inspect`, note lines) naming
the Dense and the figures: the largest |mantissa| uses fewer than MIN_MANT_BITS
bits, more than FLUSH_WARN of the nonzero weights flush to zero, or a neuron loses
all its inputs.

Each neuron family is one `QuantRule` in `QUANT_RULES[FloatPrimitiveType]`
(its input factor, threshold bound and the builder of its fixed-point node);
other modules add families with the `quant_rule` decorator (quantize_ltc.py,
quantize_ahp_spsn.py). The formulas of the fixed-point neurons are in
snnc/compiler/primitives/loihi_*.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import SPIKE, Graph, Primitive
from snnc.compiler.passes.common import consumers, type_name
from snnc.compiler.passes.quantize_inputs import encode_inputs
from snnc.compiler.passes.quantize_scale import per as _per, voltage_scale
from snnc.compiler.passes.quantize_weights import check_weights, flush_counts, quantize_weights, weight_step  # noqa: F401
from snnc.compiler.primitives import ALIF, LI, LIF, CubaLIF, Dense, Input
from snnc.compiler.primitives.loihi_alif import LoihiALIF
from snnc.compiler.primitives.loihi_base import BIAS_EXP, BIAS_MANT, DECAY_MAX, VTH_MAX
from snnc.compiler.primitives.loihi_dense import LoihiDense
from snnc.compiler.primitives.loihi_lif import LoihiLI, LoihiLIF

V_LIM = 2**23 - 1
B_FRAC = 18  # fractional bits of ALIF's adaptation trace


@dataclass
class Neuron:
    """What a rule's builder gets: the float node, its scale S and its inputs, with quantizing helpers."""

    name: str
    node: Primitive
    S: float | np.ndarray  # voltage scale, v_int ≈ v·S: one power of two, or one value per neuron (per_neuron_scale)
    bias_f: np.ndarray  # Dense biases folded in, k·Σb (float voltage units per step)
    graph: Graph  # the float graph (read only)
    formats: dict[str, str] = field(default_factory=dict)  # the pass's format report (a rule may annotate inputs)
    notes: list[str] = field(default_factory=list)  # the pass's notes and warnings (clamps, precision loss)

    @property
    def log2S(self) -> int:
        """log2 of a population-wide power-of-two scale (the rules without per-neuron scales)."""
        return int(math.log2(float(self.S)))

    @property
    def scale_text(self) -> str:
        lo, hi = (math.log2(float(f(self.S))) for f in (np.min, np.max))
        return f"scale 2^{lo:.3g}" if hi - lo < 0.05 else f"per-neuron scales 2^{lo:.3g}..2^{hi:.3g}"

    def decay(self, alpha: np.ndarray, what: str, offset: int = 0) -> np.ndarray:
        """12-bit decay of `what`; the documented clamp (decay 4096 -> 4095) is reported in the notes."""
        d = _decay(alpha, f"{type_name(self.node)} node '{self.name}'", what, offset)
        n = int(np.count_nonzero(np.rint(4096 * (1 - np.asarray(alpha, float))) - offset > DECAY_MAX))
        if n:
            self.notes.append(f"{type_name(self.node)} '{self.name}': {what} = 0 on {n} neuron(s) clamped to decay "
                              f"{DECAY_MAX}/4096 (Loihi's 12-bit maximum; 4096 would zero the state every step)")
        return d

    def state(self, x: np.ndarray) -> np.ndarray:
        """A float state (voltage units) as a 24-bit integer."""
        return _state(x * self.S)

    def bias(self, bias_v: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(mantissa, exponent) of a per-step bias (default: the folded Dense biases)."""
        return quantize_bias((self.bias_f if bias_v is None else bias_v) * self.S, self.name)

    def mant(self, x: np.ndarray, what: str, signed: bool = False) -> np.ndarray:
        """x in threshold units (x·S/64, compared << 6) as a 17-bit mantissa; an error names node and value."""
        m = np.rint(np.asarray(x, float) * self.S / 64).astype(np.int64)
        S = np.broadcast_to(self.S, m.shape)
        lo = -VTH_MAX if signed else 0
        bad = (m < lo) | (m > VTH_MAX)
        if bad.any():
            i = int(np.argmax(bad))
            raise SnncError(f"quantize loihi: {type_name(self.node)} '{self.name}': {what} {np.ravel(x)[i]:g} -> mantissa "
                            f"{m.flat[i]} outside [{lo}, {VTH_MAX}] at scale 2^{math.log2(float(S.flat[i])):.3g}")
        return m


Builder = Callable[[Neuron], tuple[Primitive, str]]


def _zero_threshold(name: str, node: Primitive) -> np.ndarray:
    return np.zeros(node.size)


@dataclass(frozen=True)
class QuantRule:
    """How one float neuron family becomes Loihi fixed point."""

    build: Builder  # the fixed-point node and its format string
    factor: Callable[[Primitive], np.ndarray]  # per-neuron k multiplying the summed input I
    threshold: Callable[[str, Primitive], float] = _zero_threshold  # largest value the voltage must reach
    thr_plus_input: bool = False  # calibrated bound includes threshold + input (integrate up to theta)
    leak: Callable[[Primitive], float] | None = None  # uncalibrated: the input accumulates 1/leak times (integrators)
    calib_input: Callable[[str, Primitive, dict, np.ndarray], float] | None = None  # more calibrated bounds
    no_dense_bias: str | None = None  # why a Dense bias cannot feed this family (None: it folds into the bias)
    free_ports: tuple[str, ...] = ()  # ports that take non-Dense sources (e.g. noise)
    per_neuron_scale: bool = False  # one voltage scale per neuron (thresholds, states and biases are per neuron)


QUANT_RULES: dict[type, QuantRule] = {}


def quant_rule(*types: type, **opts) -> Callable[[Builder], Builder]:
    """Register a builder (and the QuantRule options) for float neuron types."""
    def deco(fn: Builder) -> Builder:
        for t in types:
            QUANT_RULES[t] = QuantRule(fn, **opts)
        return fn
    return deco


def _gain(node) -> np.ndarray:
    return np.asarray(node.gain, float)


def input_factor(node) -> np.ndarray:
    """Per-neuron factor k multiplying the summed input I in the float equations."""
    return QUANT_RULES[type(node)].factor(node)


def threshold_bound(name: str, node) -> np.ndarray:
    """Per neuron: the largest value the voltage must reach (threshold and adaptation)."""
    return _per(QUANT_RULES[type(node)].threshold(name, node), node.size)





def _theta(name: str, node) -> np.ndarray:
    if node.theta.min() < 0:
        raise SnncError(f"quantize loihi: node '{name}' has negative theta {node.theta.min():g}; Loihi thresholds are unsigned")
    return np.asarray(node.theta, float)


def _decay(alpha: np.ndarray, where: str, what: str, offset: int = 0) -> np.ndarray:
    """12-bit decay 4096·(1 − alpha) − offset; `where` names the node ("LIF node 'h'")."""
    alpha = np.asarray(alpha, float)
    bad = ~((alpha >= 0) & (alpha <= 1))  # also catches NaN
    if bad.any():
        i = int(np.argmax(bad.ravel()))
        raise SnncError(f"quantize loihi: {where}: {what} must lie in [0, 1] for Loihi's 12-bit decays "
                        f"4096·(1 − {what}), got {alpha.ravel()[i]:g} (neuron {i})")
    return np.clip(np.rint(4096 * (1 - alpha)) - offset, 0, DECAY_MAX).astype(np.int64)


def check_finite(where: str, node: Primitive) -> None:
    """Every float array parameter of `node` must be finite (Loihi parameters are fixed-width integers)."""
    for f in node.array_fields():
        a = np.asarray(getattr(node, f))
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            i = int(np.argmax(~np.isfinite(a.ravel())))
            raise SnncError(f"quantize loihi: {where}: {f} {a.ravel()[i]:g} (element {i}) is not finite; "
                            f"Loihi cannot represent it")


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


def quantize_loihi(graph: Graph, traces: dict | None) -> tuple[Graph, dict]:
    """The pure rewrite; returns (new graph, {"formats", "scales", "weight_error", "out_scale", "out_offset", "notes"})."""
    g = graph.copy()
    neurons = tuple(QUANT_RULES)
    formats: dict[str, str] = {}
    scales: dict[str, float] = {}
    werr: dict[str, float] = {}
    notes: list[str] = []  # precision warnings (printed by the pass report)
    out_scale: dict[str, np.ndarray | float] = {}
    out_offset: dict[str, np.ndarray] = {}
    dense_of: dict[str, list[tuple[str, Dense]]] = {}
    flush: dict[str, dict[str, int]] = {}  # per Dense: nonzero weights, flushed to zero, neurons left without input
    for name, node in graph.nodes.items():
        if isinstance(node, Input):
            if node.kind == "spike":
                formats[name] = "input (binary spikes)"
        elif isinstance(node, Dense):
            users = consumers(graph, name)
            if len(users) != 1 or not isinstance(graph.nodes[users[0]], neurons):
                raise SnncError(f"quantize loihi: Dense '{name}' must feed exactly one "
                                f"{'/'.join(t.__name__ for t in neurons)} node (it feeds {', '.join(users) or 'nothing'})")
            dense_of.setdefault(users[0], []).append((name, node))
        elif type(node) not in QUANT_RULES:
            raise SnncError(f"quantize loihi: node '{name}' ({type_name(node)}) has no Loihi fixed-point formulation "
                            f"(supported: Input, Dense, {', '.join(t.__name__ for t in neurons)})")
    in_scale, x_max = encode_inputs(graph, g, traces, formats, notes)
    # a Dense fed by an encoded input (x·2^q) gets its weights divided by 2^q (W·x unchanged)
    dense_of = {n: [(d, node if d not in in_scale else Dense(node.W * in_scale[d], node.b)) for d, node in lst]
                for n, lst in dense_of.items()}
    for name, node in graph.nodes.items():
        r = QUANT_RULES.get(type(node))
        if r is None:
            continue
        for e in graph.in_edges(name):
            if e.port not in r.free_ports and not isinstance(graph.nodes[e.src], Dense):
                raise SnncError(f"quantize loihi: edge {e}: Loihi neurons take input only through a Dense")
        dense = dense_of.get(name, [])
        where = f"{type_name(node)} '{name}'"
        check_finite(where, node)
        for dname, d in dense:
            check_finite(f"Dense '{dname}'", d)
        per_neuron = r.per_neuron_scale and (node.out_kind == SPIKE or not consumers(graph, name))
        S = voltage_scale(name, node, r, dense, traces, per_neuron, x_max)
        scales[name] = out_scale[name] = S
        k = _per(r.factor(node), node.size)
        bias_f = sum((k * d.b for _, d in dense), np.zeros(node.size))
        for dname, d in dense:
            if r.no_dense_bias is not None and np.any(d.b):
                raise SnncError(f"quantize loihi: Dense '{dname}' has a bias feeding {type_name(node)} '{name}'; "
                                f"{r.no_dense_bias}")
            w_eff = (k * S / 64)[:, None] * d.W
            try:
                mant, e, mode = quantize_weights(w_eff)
            except SnncError as err:
                raise SnncError(f"quantize loihi: Dense '{dname}': {err}") from None
            warn = check_weights(dname, where, d.W, k, np.broadcast_to(S, k.shape), w_eff, mant, e, mode)
            if warn:
                notes.append(warn)
            g.nodes[dname] = LoihiDense(mant, e, 8, mode)
            werr[dname] = _rel(mant * 2.0 ** e, w_eff)
            flush[dname] = flush_counts(np.where(w_eff != 0, d.W, 0), mant)
            out_scale[dname], out_offset[dname] = k * S / 64, d.b  # LoihiDense output units per unit of the float Dense output
            formats[dname] = f"LoihiDense 8-bit {mode} mantissa, weight_exp {e}"
        g.nodes[name], formats[name] = r.build(Neuron(name, node, S, bias_f, graph, formats, notes))
    return g, {"formats": formats, "scales": scales, "weight_error": werr, "out_scale": out_scale, "out_offset": out_offset,
               "notes": notes, "flush": flush}


# -- the neuron families of Lava's LIF and snnc's ALIF/LI ----------------------------

def _leak(alpha) -> np.ndarray:
    """Uncalibrated: a leaky membrane accumulates a steady input 1/(1 − alpha) times (a reset bounds it only above)."""
    return np.maximum(1 - np.asarray(alpha, float), 1 / 64)


def _li_leak(node) -> np.ndarray:
    return _leak(node.alpha)


def _cuba_leak(node: CubaLIF) -> np.ndarray:
    return _leak(node.alpha_syn) * _leak(node.alpha_mem)


@quant_rule(LIF, factor=_gain, threshold=_theta, thr_plus_input=True, leak=_li_leak, per_neuron_scale=True)
def _lif(q: Neuron) -> tuple[Primitive, str]:
    node = q.node
    bm, be = q.bias()
    vth = q.mant(node.theta, "theta")
    du, u0 = np.full(node.size, DECAY_MAX, np.int64), np.zeros(node.size, np.int64)
    out = LoihiLIF(du, q.decay(node.alpha, "alpha"), vth, bm, be, node.reset, u0, q.state(node.v0))
    return out, f"LoihiLIF 24-bit u,v; 12-bit du,dv; vth 17-bit; {q.scale_text}"


def _cuba_current(name: str, node: CubaLIF, traces: dict, k: np.ndarray) -> np.ndarray:
    return np.abs(k * np.asarray(traces[name]["i"], float)).reshape(-1, node.size).max(0)


@quant_rule(CubaLIF, factor=_gain, threshold=_theta, calib_input=_cuba_current, leak=_cuba_leak, per_neuron_scale=True,
            no_dense_bias="Loihi adds biases to the voltage, not the current: fold it into CubaLIF.bias or remove it")
def _cuba(q: Neuron) -> tuple[Primitive, str]:
    node = q.node
    bm, be = q.bias(node.bias)
    vth = q.mant(node.theta, "theta")
    du = q.decay(node.alpha_syn, "alpha_syn", offset=1)
    dv = q.decay(node.alpha_mem, "alpha_mem")
    out = LoihiLIF(du, dv, vth, bm, be, node.reset, q.state(node.gain * node.i0), q.state(node.v0))
    return out, f"LoihiLIF 24-bit u,v; 12-bit du,dv; vth 17-bit; {q.scale_text}"


def _alif_factor(node: ALIF) -> np.ndarray:
    return (1 - node.alpha) * node.R


def _alif_threshold(name: str, node: ALIF) -> np.ndarray:
    return node.b0 + np.maximum(node.beta, 0)


@quant_rule(ALIF, factor=_alif_factor, threshold=_alif_threshold, thr_plus_input=True, leak=_li_leak,
            per_neuron_scale=True)
def _alif(q: Neuron) -> tuple[Primitive, str]:
    node, name = q.node, q.name
    bm, be = q.bias()
    if node.b0.min() < 0 or node.beta.min() < 0:
        raise SnncError(f"quantize loihi: ALIF '{name}': b0 and beta must be non-negative for unsigned thresholds")
    vth, beta = q.mant(node.b0, "b0"), q.mant(node.beta, "beta")
    b0 = np.rint(node.b_init * 2**B_FRAC).astype(np.int64)
    out = LoihiALIF(q.decay(node.alpha, "alpha"), q.decay(node.rho, "rho"), vth, beta, bm, be, q.state(node.v0), b0)
    return out, f"LoihiALIF 24-bit v, b·2^{B_FRAC}; 12-bit dv,dr; vth,beta 17-bit; {q.scale_text}"


@quant_rule(LI, factor=_gain, leak=_li_leak, per_neuron_scale=True)
def _li(q: Neuron) -> tuple[Primitive, str]:
    bm, be = q.bias()
    out = LoihiLI(q.decay(q.node.alpha, "alpha"), bm, be, q.state(q.node.v0))
    return out, f"LoihiLI 24-bit v (output v / S, {q.scale_text}); 12-bit dv"


def _state(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), -V_LIM, V_LIM).astype(np.int64)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    den = float(np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / den) if den > 0 else float(np.linalg.norm(a))
import snnc.compiler.passes.quantize_ltc  # noqa: E402,F401  (LTC, LTCReadout: quantize_ltc.py)


import snnc.compiler.passes.quantize_ahp_spsn  # noqa: E402,F401  (AHP, SPSN rules)
