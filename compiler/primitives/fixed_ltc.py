"""snnc's fixed-point LTC and LTCReadout (seed 003), shared by the NumPy integer kernels and Lava's fixed_pt models.

Widths and scales (one population has a power-of-two voltage scale S, as LIF/ALIF in fixed.py):

- I = (a_in << 6) + bias: the summed LoihiDense input in voltage units (a_in·64 ≈ I·S),
  bias = bias_mant << bias_exp (a Dense bias moved into the neuron, as for LIF).
- v: 24-bit signed, v_int ≈ v·S, clipped to ±(2^23 − 1).
- b: the adaptation trace b ∈ [0, 1] with 18 fractional bits (b·2^18), as LoihiALIF.
- gate pre-activations z in Q8 (z_int ≈ z·2^8). Each gate's weights [n, 2n] are 8-bit
  mantissas (8 bits plus sign, |m| <= 255, Loihi's synaptic precision) with one exponent
  per half: e_in for the I half, e_state for the v (or b) half. Each half is accumulated
  exactly in int64 and then shifted: rsh(x, e) = x << e for e >= 0, else
  sign(x)·(|x| >> −e) (truncation toward zero, like Lava's trunc12):
      z = rsh(W[:, :n]·I, e_in) + rsh(W[:, n:]·state, e_state) + bz,   bz 16-bit signed Q8.
- σ is an exact integer function: sigmoid12(z) = LUT[min(z, 2047)] for z >= 0 and
  4096 − LUT[min(−z, 2047)] for z < 0, LUT[k] = round(4096·σ(k/256)) (2048 13-bit
  entries, built once below; both backends call this same function). Gates are
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

import math

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import Primitive, primitive
from snnc.compiler.primitives.fixed import FixedNeuron, FixedSpiking, _need_range

GATE_ONE = 4096  # a 12-bit gate g means g / 4096
Z_FRAC = 8  # fractional bits of gate pre-activations
LUT_SIZE = 2048  # sigmoid table over z ∈ [0, 8) in steps of 2^-8
GATE_MANT = 255  # gate weight mantissas: 8 bits plus sign
GATE_EXP = (-31, 7)  # shift applied to each accumulated gate half
GATE_BIAS = (-(2**15), 2**15 - 1)  # 16-bit signed Q8 gate biases (|bz| < 128)
B_FRAC = 18  # fractional bits of the adaptation trace b
B_MAX = 2**24 - 1


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


def rsh(x: np.ndarray, e: int) -> np.ndarray:
    """x << e for e >= 0, else sign(x)·(|x| >> −e): a shift rounding toward zero."""
    e = int(e)
    return x << e if e >= 0 else np.sign(x) * (np.abs(x) >> -e)


def trunc12(x: np.ndarray) -> np.ndarray:
    """sign(x)·(|x| >> 12): Lava's decay rounding toward zero."""
    return np.sign(x) * (np.abs(x) >> 12)


def gate(I: np.ndarray, state: np.ndarray, W_t: np.ndarray, e_in: int, e_state: int, bias: np.ndarray) -> np.ndarray:
    """sigmoid12(rsh(I·W_in, e_in) + rsh(state·W_state, e_state) + bias) for [B, n] int64 inputs; W_t is W.T [2n, n]."""
    n = I.shape[1]
    z = rsh(I @ W_t[:n], e_in) + rsh(state @ W_t[n:], e_state) + bias
    return sigmoid12(z)


def ltc_step(I: np.ndarray, v: np.ndarray, b: np.ndarray, s_prev: np.ndarray, p) -> tuple[np.ndarray, ...]:
    """One LoihiLTC step on int64 [B, n] arrays; p has Wa_t, Wr_t, ea_in, ea_state, er_in, er_state, ba, br,
    vth_eff (vth << 6) and beta. Returns (v after reset, b, s)."""
    a = gate(I, v, p.Wa_t, p.ea_in, p.ea_state, p.ba)
    r = gate(I, b, p.Wr_t, p.er_in, p.er_state, p.br)
    b = trunc12(r * b) + ((GATE_ONE - r) << (B_FRAC - 12)) * s_prev
    B = p.vth_eff + trunc12(p.beta * b)
    v = np.clip(trunc12((GATE_ONE - a) * v) + trunc12(a * I), -(2**23 - 1), 2**23 - 1)
    s = (v > B).astype(np.int64)
    return np.where(s > 0, 0, v), b, s


def readout_step(I: np.ndarray, v: np.ndarray, p) -> np.ndarray:
    """One LoihiLTCReadout step on int64 [B, n] arrays; returns the new v."""
    a = gate(I, v, p.Wa_t, p.ea_in, p.ea_state, p.ba)
    return np.clip(trunc12((GATE_ONE - a) * v) + trunc12(a * I), -(2**23 - 1), 2**23 - 1)


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


def _check_common(node: "FixedNeuron", unsigned: tuple[str, ...] = ()) -> None:
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

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.integers(-255, 256, (n, 2 * n)), -8, -12, rng.integers(-200, 200, n),
                   rng.integers(-100, 100, n), rng.integers(0, 3, n), rng.integers(-500, 500, n))
