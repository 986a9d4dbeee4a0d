"""LoihiLIF and LoihiLI: Lava 0.10's fixed_pt LIF (lava/proc/lif/models.py), bit for bit, and its leaky readout.

LoihiLIF (covers snnc LIF with du = 4095 and CubaLIF):
    u = wrap24(trunc12(u·(4096 − (du + 1))) + (a_in << 6))   (Lava's ds_offset = 1: du = 0 still decays)
    v = clip24(trunc12(v·(4096 − dv)) + u + bias),  bias = bias_mant << bias_exp
    s = v > vth << 6;  reset zero (Lava's only mode), subtract (v − (vth << 6)·s) or none
with Lava's int32 casts (wrap32) where its models store int32 intermediates.
LoihiLI: v = clip24(trunc12(v·(4096 − dv)) + (a_in << 6) + bias); the output is v
(Lava: a LIF with du = 4095 whose threshold is never reached).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import primitive
from snnc.compiler.primitives.loihi_base import FixedNeuron, FixedSpiking

LIF_RESETS = ("zero", "subtract", "none")


@primitive
class LoihiLIF(FixedSpiking):
    """Lava's fixed_pt LIF: u = wrap24(trunc12(u·(4096−du−1)) + (a_in<<6)); v = clip24(trunc12(v·(4096−dv)) + u + bias); s = v > vth<<6."""

    du: np.ndarray  # 12-bit current decay (Lava adds 1: 4095 means u forgets everything)
    dv: np.ndarray  # 12-bit voltage decay
    vth: np.ndarray  # 17-bit threshold mantissa (compared << 6)
    bias_mant: np.ndarray = 0  # 13-bit signed bias mantissa
    bias_exp: np.ndarray = 0  # 3-bit bias exponent
    reset: str = "zero"  # zero (Lava's), subtract or none
    u0: np.ndarray = 0  # initial current
    v0: np.ndarray = 0  # initial voltage

    states = {"u": "u0", "v": "v0"}
    per_neuron = ("du", "dv", "vth", "bias_mant", "bias_exp", "u0", "v0")

    def check(self) -> None:
        self.check_fixed(decays=("du", "dv"), unsigned=("vth",))
        if self.reset not in LIF_RESETS:
            raise PrimitiveError(f"LoihiLIF: reset must be one of {', '.join(LIF_RESETS)}, got {self.reset!r}")

    def prepare(self) -> dict:
        """du, dv as int64, bias and vth_eff = vth << 6."""
        return self.prepare_fixed("du", "dv")

    def step(self, ops, p, s, x):
        """One step of Lava's PyLifModelBitAcc (plus the subtract/none resets)."""
        fx = ops.fx
        u = fx.wrap24(fx.wrap32(fx.wrap32(fx.decay(s["u"], p.du + 1)) + fx.align(x["in"])))
        v = fx.clip24(fx.wrap32(fx.wrap32(fx.decay(s["v"], p.dv)) + u + p.bias))
        spk = fx.spikes(v > p.vth_eff)
        return spk, {"u": u, "v": fx.reset(v, spk, p.vth_eff, p.reset)}

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        i = lambda lo, hi: rng.integers(lo, hi, n)  # noqa: E731
        return cls(i(0, 4096), i(0, 4096), i(1, 1000), i(-100, 100), i(0, 3), "zero", i(-50, 50), i(-50, 50))


@primitive
class LoihiLI(FixedNeuron):
    """Fixed-point leaky readout: v = clip24(trunc12(v·(4096−dv)) + (a_in<<6) + bias); output v (integer, graded)."""

    dv: np.ndarray  # 12-bit voltage decay
    bias_mant: np.ndarray = 0  # 13-bit signed bias mantissa
    bias_exp: np.ndarray = 0  # 3-bit bias exponent
    v0: np.ndarray = 0  # initial voltage

    states = {"v": "v0"}
    per_neuron = ("dv", "bias_mant", "bias_exp", "v0")

    def check(self) -> None:
        self.check_fixed(decays=("dv",))

    def prepare(self) -> dict:
        """dv as int64 and the bias."""
        return self.prepare_fixed("dv")

    def step(self, ops, p, s, x):
        """v = clip24(trunc12(v·(4096 − dv)) + (a_in << 6) + bias); output v."""
        fx = ops.fx
        v = fx.clip24(fx.wrap32(fx.decay(s["v"], p.dv)) + fx.align(x["in"]) + p.bias)
        return v, {"v": v}

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.integers(0, 4096, n), rng.integers(-100, 100, n), rng.integers(0, 3, n), rng.integers(-50, 50, n))
