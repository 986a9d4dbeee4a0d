"""Fixed-point AHP (seed 002) and SPSN (seed 004): snnc's Loihi formulations, shared by NumPy and Lava.

Conventions as for LoihiLIF/LoihiALIF (fixed.py): trunc12(x) = sign(x)·(|x| >> 12)
rounds toward zero, products in int64, states clipped to 24 bits
(clip24(x) = clip(x, −(2^23 − 1), 2^23 − 1)), synaptic input a_in and
threshold-unit mantissas are MSB-aligned by << 6, decays are 12-bit
(d ≈ 4096·(1 − alpha)), biases bias_mant << bias_exp.

LoihiAHP (float: aux = alpha_aux·aux + w_ahp·s⁻; v = alpha·v + gain·I + aux;
s = H(v − theta); v = v·(1 − s)). v and aux are 24-bit in the same voltage scale
S (v_int ≈ v·S); w_ahp is a signed 17-bit mantissa in threshold units (w_ahp·S/64,
added << 6), so one spike moves aux by exactly (w_ahp << 6):

    aux = clip24(trunc12(aux·(4096 − da)) + (w_ahp << 6)·s⁻)
    v   = clip24(trunc12(v·(4096 − dv)) + (a_in << 6) + bias + aux)
    s   = v > (vth << 6);  v = 0 where s

LoihiSPSN (float: i = alpha·i + I; v = beta·v + (1 − beta)·i; no reset;
s = 1[u < σ(v)] or H(v)). i and v are 24-bit in one scale S = 2^v_frac (v_int ≈
v·2^v_frac); a Dense bias enters the current each step, as I does:

    i = clip24(trunc12(i·(4096 − di)) + (a_in << 6) + bias)
    v = clip24(trunc12(v·(4096 − dv)) + trunc12(i·dv))        (the same dv: 1 − beta ≈ dv/4096)
    deterministic:  s = v > 0
    stochastic:     s = floor(u·2^16) < sigmoid_q16(v, v_frac)

The noise input stays float uniform u ∈ [0, 1) in the graph; both integer
backends read it as the 16-bit integer floor(u·2^16) (`noise_int`), so
floor(u·2^16) < p ⟺ u < p/2^16 exactly. sigmoid_q16 is an exact integer
function: v is brought to 16 fractional bits (vq = v << (16 − v_frac), or an
arithmetic >> when v_frac > 16, i.e. floor), then interpolated linearly between
the knots of SIGMOID_TABLE, P[j] = round(2^16·σ(j/16 − 16)) for j = 0..512
(σ sampled every 1/16 on [−16, 16], computed with Python's math.exp and held as
ints, so both environments hold the same table):

    pos = clip(vq + 16·2^16, 0, 32·2^16);  j = pos >> 12;  f = pos & 4095
    p   = P[j] + ((P[j+1] − P[j])·f >> 12)                 (P[513] = P[512])

Its error against σ is at most 4.3·2^−16 ≈ 6.6e−5 (interpolation σ''·(1/16)²/8,
the table's rounding and the floor of the interpolation), so Bernoulli draws agree
with the float model except when u falls within that distance of σ(v).
"""
from __future__ import annotations

import math

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import ANY, GRADED, primitive
from snnc.compiler.primitives.fixed import VTH_MAX, FixedSpiking, _need_range

NOISE_BITS = 16  # the noise input u ∈ [0, 1) is read as floor(u·2^16)
SIG_FRAC = 16  # fractional bits of the sigmoid's argument and value
SIG_STEP = 12  # knots every 2^(SIG_STEP − SIG_FRAC) = 1/16
SIG_RANGE = 16  # knots cover [−16, 16]; σ is 0 or 1 to 2^−16 beyond
V_FRAC_MAX = 40  # v_frac is a shift; beyond this the Q16 argument would lose every bit of v
SIGMOID_TABLE = np.array([round((1 << SIG_FRAC) / (1 + math.exp(-(j / 16 - SIG_RANGE))))
                          for j in range(2 * SIG_RANGE * 16 + 1)] + [1 << SIG_FRAC], dtype=np.int64)


def noise_int(u: np.ndarray) -> np.ndarray:
    """The integer noise floor(u·2^16) of uniform u ∈ [0, 1) (int64)."""
    return np.floor(np.asarray(u, np.float64) * (1 << NOISE_BITS)).astype(np.int64)


def sigmoid_q16(v: np.ndarray, v_frac: np.ndarray | int) -> np.ndarray:
    """2^16·σ(v / 2^v_frac) as an exact integer (int64), piecewise linear between SIGMOID_TABLE's knots."""
    v = np.asarray(v, np.int64)
    sh = SIG_FRAC - np.asarray(v_frac, np.int64)
    vq = np.where(sh >= 0, np.left_shift(v, np.maximum(sh, 0)), np.right_shift(v, np.maximum(-sh, 0)))
    pos = np.clip(vq + (SIG_RANGE << SIG_FRAC), 0, (2 * SIG_RANGE) << SIG_FRAC)
    j, f = pos >> SIG_STEP, pos & ((1 << SIG_STEP) - 1)
    lo = SIGMOID_TABLE[j]
    return lo + (((SIGMOID_TABLE[j + 1] - lo) * f) >> SIG_STEP)


@primitive
class LoihiAHP(FixedSpiking):
    """Fixed-point AHP: aux = clip24(trunc12(aux·(4096−da)) + (w_ahp<<6)·s⁻); v = clip24(trunc12(v·(4096−dv)) + (a_in<<6) + bias + aux); s = v > vth<<6; v = 0 where s."""

    dv: np.ndarray  # 12-bit voltage decay, alpha ≈ 1 − dv/4096
    da: np.ndarray  # 12-bit AHP-current decay, alpha_aux ≈ 1 − da/4096
    vth: np.ndarray  # 17-bit threshold mantissa (compared << 6)
    w_ahp: np.ndarray  # signed 17-bit AHP weight mantissa (<= 0, added << 6 per own spike)
    bias_mant: np.ndarray = 0  # 13-bit signed bias mantissa
    bias_exp: np.ndarray = 0  # 3-bit bias exponent
    v0: np.ndarray = 0  # initial voltage
    aux0: np.ndarray = 0  # initial AHP current

    states = {"v": "v0", "aux": "aux0", "s": None}
    per_neuron = ("dv", "da", "vth", "w_ahp", "bias_mant", "bias_exp", "v0", "aux0")

    def check(self) -> None:
        self.check_fixed(decays=("dv", "da"), unsigned=("vth",))
        _need_range(self, "w_ahp", -VTH_MAX, 0)

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        i = lambda lo, hi: rng.integers(lo, hi, n)  # noqa: E731
        return cls(i(0, 4096), i(0, 4096), i(1, 1000), i(-2000, 1), i(-100, 100), i(0, 3), i(-50, 50), i(-50, 1))


@primitive
class LoihiSPSN(FixedSpiking):
    """Fixed-point SPSN: i = clip24(trunc12(i·(4096−di)) + (a_in<<6) + bias); v = clip24(trunc12(v·(4096−dv)) + trunc12(i·dv)); s = floor(u·2^16) < sigmoid_q16(v, v_frac) or v > 0."""

    di: np.ndarray  # 12-bit current decay, alpha ≈ 1 − di/4096
    dv: np.ndarray  # 12-bit voltage decay, beta ≈ 1 − dv/4096
    bias_mant: np.ndarray = 0  # 13-bit signed bias mantissa (enters the current)
    bias_exp: np.ndarray = 0  # 3-bit bias exponent
    v_frac: int = 0  # fractional bits of v (v_int ≈ v·2^v_frac): where σ's argument sits
    stochastic: bool = True  # Bernoulli spikes against the noise input; False: s = v > 0

    states = {"i": None, "v": None}
    per_neuron = ("di", "dv", "bias_mant", "bias_exp")

    @property
    def ports(self) -> dict[str, str]:  # type: ignore[override]
        # as SPSN: the noise port exists only in stochastic mode
        return {"in": ANY, "noise": GRADED} if self.stochastic else {"in": ANY}

    def check(self) -> None:
        self.check_fixed(decays=("di", "dv"))
        if not isinstance(self.stochastic, (bool, np.bool_)):
            raise PrimitiveError(f"LoihiSPSN: stochastic must be True or False, got {self.stochastic!r}")
        if not isinstance(self.v_frac, (int, np.integer)) or not 0 <= int(self.v_frac) <= V_FRAC_MAX:
            raise PrimitiveError(f"LoihiSPSN: v_frac must be an integer in [0, {V_FRAC_MAX}], got {self.v_frac!r}")

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        i = lambda lo, hi: rng.integers(lo, hi, n)  # noqa: E731
        return cls(i(0, 4096), i(0, 4096), i(-100, 100), i(0, 3), 12, True)
