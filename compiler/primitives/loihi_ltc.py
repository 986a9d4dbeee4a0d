"""LoihiLTC and LoihiLTCReadout: snnc's fixed-point LTC, run by the NumPy integer runtime and Lava's fixed_pt models.

Widths and scales (one population has a power-of-two voltage scale S, as LIF/ALIF in loihi_lif.py, loihi_alif.py):

- I = (a_in << 6) + bias: the summed LoihiDense input in voltage units (a_in·64 ≈ I·S),
  bias = bias_mant << bias_exp (a Dense bias moved into the neuron, as for LIF).
- v: 24-bit signed, v_int ≈ v·S, clipped to ±(2^23 − 1).
- b: the adaptation trace b ∈ [0, 1] with 18 fractional bits (b·2^18), as LoihiALIF.
- gate pre-activations z in Q8 (z_int ≈ z·2^8). Each gate's weights [n, 2n] are 8-bit
  mantissas (8 bits plus sign, |m| <= 255, Loihi's synaptic precision) with one exponent
  per half: e_in for the I half, e_state for the v (or b) half. Each half is accumulated
  exactly in int64 and then shifted: rsh(x, e) (`fixedpoint.shift_trunc`) = x << e for e >= 0, else
  sign(x)·(|x| >> −e) (truncation toward zero, like Lava's trunc12):
      z = rsh(W[:, :n]·I, e_in) + rsh(W[:, n:]·state, e_state) + bz,   bz 16-bit signed Q8.
- σ is an exact integer function: sigmoid12(z) = LUT[min(z, 2047)] for z >= 0 and
  4096 − LUT[min(−z, 2047)] for z < 0, LUT[k] = round(4096·σ(k/256)) (2048 13-bit
  entries, `fixedpoint.SIGMOID_LUT`, built once; every backend calls this same function). Gates are
  12-bit fractions g ∈ [1, 4095] meaning g/4096.

Per step (s⁻ the previous spikes; products in int64; trunc12(x) = sign(x)·(|x| >> 12)):

    a = sigmoid12(z_a([I, v]));  r = sigmoid12(z_r([I, b]))
    b = trunc12(r·b) + ((4096 − r) << 6)·s⁻                 ((1 − r)·s⁻ in 2^18 units, exact)
    B = (vth << 6) + trunc12(beta·b)                         (vth, beta 17-bit unsigned, as LoihiALIF)
    v = clip24(trunc12((4096 − a)·v) + trunc12(a·I))
    s = v > B;  v = 0 where s                                (hard reset)

LTCReadout: a = sigmoid12(z_a([I, v])); v = clip24(trunc12((4096 − a)·v) + trunc12(a·I)); output v.

Accuracy traded (against float64): gate weights keep 8 significant bits per half-matrix
(the largest |w| sets the exponent); z has a resolution of 1/256 and saturates at |z| = 8
(σ(8) = 0.99966), so a gate is within about 1/4096 + 0.25·2/256 ≈ 0.0022 of the float gate;
gates never reach exactly 0 or 1 (1/4096 to 4095/4096); v loses at most two LSBs (1/S)
per step to truncation toward zero, and b at most 2^-18.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.fixedpoint import GATE_ONE, sigmoid12
from snnc.compiler.ir import Primitive, primitive
from snnc.compiler.primitives.loihi_base import FixedNeuron, FixedSpiking, _need_range

GATE_MANT = 255  # gate weight mantissas: 8 bits plus sign
GATE_EXP = (-31, 7)  # shift applied to each accumulated gate half
GATE_BIAS = (-(2**15), 2**15 - 1)  # 16-bit signed Q8 gate biases (|bz| < 128)
B_FRAC = 18  # fractional bits of the adaptation trace b
B_MAX = 2**24 - 1


def _gate_params(node: Primitive, g: str) -> dict:
    """Gate g's matrix halves transposed ([n, n] int64 each, I half and state half), exponents and Q8 bias."""
    W, n = getattr(node, "W" + g).astype(np.int64), node.size
    return {f"W{g}_in_t": np.ascontiguousarray(W[:, :n].T), f"W{g}_state_t": np.ascontiguousarray(W[:, n:].T),
            f"e{g}_in": int(getattr(node, f"e{g}_in")), f"e{g}_state": int(getattr(node, f"e{g}_state")),
            f"b{g}": getattr(node, "b" + g).astype(np.int64)}


def gate(fx, I, state, W_in_t, W_state_t, e_in: int, e_state: int, bz):
    """sigmoid12(rsh(I·W_in, e_in) + rsh(state·W_state, e_state) + bz) on int64 [B, n]."""
    z = fx.shift_trunc(fx.accumulate(I, W_in_t), e_in) + fx.shift_trunc(fx.accumulate(state, W_state_t), e_state)
    return fx.sigmoid12(z + bz)


def _check_gates(node: Primitive, *gates: str) -> None:
    name, n = type(node).__name__, node.size
    for g in gates:
        W = getattr(node, "W" + g)
        if W.dtype.kind not in "iu" or W.shape != (n, 2 * n):
            raise PrimitiveError(f"{name}: 'W{g}' must be an integer array of shape ({n}, {2 * n}), got {W.dtype} {W.shape}")
        _need_range(node, "W" + g, -GATE_MANT, GATE_MANT)
        _need_range(node, "b" + g, *GATE_BIAS)
        for half in ("in", "state"):
            e = int(getattr(node, f"e{g}_{half}"))
            if not GATE_EXP[0] <= e <= GATE_EXP[1]:
                raise PrimitiveError(f"{name}: 'e{g}_{half}' must be in {list(GATE_EXP)}, got {e}")


def _check_common(node: FixedNeuron, unsigned: tuple[str, ...] = ()) -> None:
    node.check_fixed(unsigned=unsigned)
    _need_range(node, "v0", -(2**23 - 1), 2**23 - 1)


@primitive
class LoihiLTC(FixedSpiking):
    """Fixed-point LTC: a = σ12(z_a[I, v]); r = σ12(z_r[I, b]); b = trunc12(r·b) + ((4096−r)<<6)·s⁻;
    B = (vth<<6) + trunc12(beta·b); v = clip24(trunc12((4096−a)·v) + trunc12(a·I)); s = v > B; v·(1−s)."""

    Wa: np.ndarray  # membrane gate mantissas [n, 2n] on [I, v]
    ea_in: int  # exponent of Wa's I half
    ea_state: int  # exponent of Wa's v half
    ba: np.ndarray  # membrane gate bias, Q8
    Wr: np.ndarray  # adaptation gate mantissas [n, 2n] on [I, b]
    er_in: int  # exponent of Wr's I half
    er_state: int  # exponent of Wr's b half
    br: np.ndarray  # adaptation gate bias, Q8
    vth: np.ndarray  # 17-bit baseline threshold b0 (compared << 6)
    beta: np.ndarray  # 17-bit adaptation strength in vth units
    bias_mant: np.ndarray = 0  # 13-bit signed input bias mantissa
    bias_exp: np.ndarray = 0  # 3-bit input bias exponent
    v0: np.ndarray = 0  # initial voltage
    b_init: np.ndarray = 0  # initial adaptation trace, b·2^18

    states = {"v": "v0", "b": "b_init", "s": None}
    per_neuron = ("ba", "br", "vth", "beta", "bias_mant", "bias_exp", "v0", "b_init")

    def check(self) -> None:
        _check_common(self, unsigned=("vth", "beta"))
        _check_gates(self, "a", "r")
        _need_range(self, "b_init", 0, B_MAX)

    def prepare(self) -> dict:
        """Both gates' halves, exponents and biases; beta, the input bias and vth_eff = vth << 6 as int64."""
        return {**self.prepare_fixed("beta"), **_gate_params(self, "a"), **_gate_params(self, "r")}

    def step(self, ops, p, s, x):
        """Gates from the previous v and b, adaptation, voltage, spike against B, reset to zero."""
        fx = ops.fx
        I = fx.align(x["in"]) + p.bias
        v, b, s_prev = s["v"], s["b"], s["s"]
        a = gate(fx, I, v, p.Wa_in_t, p.Wa_state_t, p.ea_in, p.ea_state, p.ba)
        r = gate(fx, I, b, p.Wr_in_t, p.Wr_state_t, p.er_in, p.er_state, p.br)
        b = fx.trunc12(r * b) + ((fx.GATE_ONE - r) << (B_FRAC - 12)) * s_prev
        B = p.vth_eff + fx.trunc12(p.beta * b)
        v = fx.clip24(fx.trunc12((fx.GATE_ONE - a) * v) + fx.trunc12(a * I))
        spk = fx.spikes(v > B)
        return spk, {"v": fx.reset(v, spk, B, "zero"), "b": b, "s": spk}

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        i = lambda lo, hi, shape=(n,): rng.integers(lo, hi, shape)  # noqa: E731
        return cls(i(-255, 256, (n, 2 * n)), -8, -12, i(-200, 200), i(-255, 256, (n, 2 * n)), -8, -16, i(-200, 200),
                   i(1, 1000), i(0, 2000), i(-100, 100), i(0, 3), i(-500, 500), i(0, 1 << 18))


@primitive
class LoihiLTCReadout(FixedNeuron):
    """Fixed-point LTC readout: a = σ12(z_a[I, v]); v = clip24(trunc12((4096−a)·v) + trunc12(a·I)); output v."""

    Wa: np.ndarray  # gate mantissas [n, 2n] on [I, v]
    ea_in: int  # exponent of Wa's I half
    ea_state: int  # exponent of Wa's v half
    ba: np.ndarray  # gate bias, Q8
    bias_mant: np.ndarray = 0  # 13-bit signed input bias mantissa
    bias_exp: np.ndarray = 0  # 3-bit input bias exponent
    v0: np.ndarray = 0  # initial voltage

    states = {"v": "v0"}
    per_neuron = ("ba", "bias_mant", "bias_exp", "v0")

    def check(self) -> None:
        _check_common(self)
        _check_gates(self, "a")

    def prepare(self) -> dict:
        """The gate's halves, exponents and bias; the input bias."""
        return {**self.prepare_fixed(), **_gate_params(self, "a")}

    def step(self, ops, p, s, x):
        """v = clip24(trunc12((4096 − a)·v) + trunc12(a·I)) with a from the previous v; output v."""
        fx = ops.fx
        I = fx.align(x["in"]) + p.bias
        a = gate(fx, I, s["v"], p.Wa_in_t, p.Wa_state_t, p.ea_in, p.ea_state, p.ba)
        v = fx.clip24(fx.trunc12((fx.GATE_ONE - a) * s["v"]) + fx.trunc12(a * I))
        return v, {"v": v}

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.integers(-255, 256, (n, 2 * n)), -8, -12, rng.integers(-200, 200, n),
                   rng.integers(-100, 100, n), rng.integers(0, 3, n), rng.integers(-500, 500, n))
