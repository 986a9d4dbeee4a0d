"""LoihiSPSN: snnc's fixed-point stochastic parallelizable neuron, run by NumPy's integer runtime and Lava.

Float: i = alpha·i + I; v = beta·v + (1 − beta)·i; no reset; s = 1[u < σ(v)] or H(v).
i and v are 24-bit in one scale S = 2^v_frac (v_int ≈ v·2^v_frac); a Dense bias
enters the current each step, as I does:

    i = clip24(trunc12(i·(4096 − di)) + (a_in << 6) + bias)
    v = clip24(trunc12(v·(4096 − dv)) + trunc12(i·dv))        (the same dv: 1 − beta ≈ dv/4096)
    deterministic:  s = v > 0
    stochastic:     s = floor(u·2^16) < sigmoid_q16(v, v_frac)

The noise input stays float uniform u ∈ [0, 1) in the graph; both integer backends
read it as the 16-bit integer floor(u·2^16) (`fixedpoint.noise_int`), so
floor(u·2^16) < p ⟺ u < p/2^16 exactly. sigmoid_q16 (compiler/fixedpoint.py) is an
exact integer function: v is brought to 16 fractional bits (vq = v << (16 − v_frac),
or an arithmetic >> when v_frac > 16, i.e. floor), then interpolated linearly between
the knots of SIGMOID_TABLE, P[j] = round(2^16·σ(j/16 − 16)) for j = 0..512 (σ sampled
every 1/16 on [−16, 16], computed with Python's math.exp and held as ints):

    pos = clip(vq + 16·2^16, 0, 32·2^16);  j = pos >> 12;  f = pos & 4095
    p   = P[j] + ((P[j+1] − P[j])·f >> 12)                 (P[513] = P[512])

Its error against σ is at most 4.3·2^−16 ≈ 6.6e−5 (interpolation σ''·(1/16)²/8, the
table's rounding and the floor of the interpolation), so Bernoulli draws agree with
the float model except when u falls within that distance of σ(v).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.fixedpoint import noise_int, sigmoid_q16
from snnc.compiler.ir import ANY, GRADED, primitive
from snnc.compiler.primitives.loihi_base import FixedSpiking

V_FRAC_MAX = 40  # v_frac is a shift; beyond this the Q16 argument would lose every bit of v


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

    def prepare(self) -> dict:
        """di, dv as int64, the bias, v_frac and stochastic as plain Python values."""
        p = self.prepare_fixed("di", "dv")
        p["v_frac"], p["stochastic"] = int(self.v_frac), bool(self.stochastic)
        return p

    def step(self, ops, p, s, x):
        """Current, then voltage (no reset), then a spike against the noise (or v > 0)."""
        fx = ops.fx
        i = fx.clip24(fx.decay(s["i"], p.di) + fx.align(x["in"]) + p.bias)
        v = fx.clip24(fx.decay(s["v"], p.dv) + fx.trunc12(i * p.dv))
        if p.stochastic:
            spk = fx.spikes(fx.noise_int(x["noise"]) < fx.sigmoid_q16(v, p.v_frac))
        else:
            spk = fx.spikes(v > 0)
        return spk, {"i": i, "v": v}

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        i = lambda lo, hi: rng.integers(lo, hi, n)  # noqa: E731
        return cls(i(0, 4096), i(0, 4096), i(-100, 100), i(0, 3), 12, True)
