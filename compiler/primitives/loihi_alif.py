"""LoihiALIF: snnc's fixed-point adaptive LIF, run by the NumPy integer runtime and the Lava fixed_pt model.

v is in LIF's scale (threshold units << 6); the adaptation trace b ∈ [0, 1] is held
with 18 fractional bits (b·2^18); s⁻ is the previous step's spike:
    b = trunc12(b·(4096 − dr)) + (dr << 6)·s⁻          (rho ≈ 1 − dr/4096)
    B = (vth << 6) + trunc12(beta·b)                    (beta in vth units)
    v = clip24(trunc12(v·(4096 − dv)) + (a_in << 6) + bias − B·s⁻)
    s = v > B
dr, dv are 12-bit unsigned, vth and beta 17-bit unsigned, products in int64.
(1 − alpha)·R is folded into the incoming weights, as gain is for LIF.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import primitive
from snnc.compiler.primitives.loihi_base import FixedSpiking


@primitive
class LoihiALIF(FixedSpiking):
    """Fixed-point ALIF: b = trunc12(b·(4096−dr)) + (dr<<6)·s⁻; B = (vth<<6) + trunc12(beta·b); v = clip24(trunc12(v·(4096−dv)) + (a_in<<6) + bias − B·s⁻); s = v > B."""

    dv: np.ndarray  # 12-bit voltage decay, alpha ≈ 1 − dv/4096
    dr: np.ndarray  # 12-bit adaptation decay, rho ≈ 1 − dr/4096
    vth: np.ndarray  # 17-bit baseline threshold mantissa b0 (compared << 6)
    beta: np.ndarray  # 17-bit adaptation strength in vth units
    bias_mant: np.ndarray = 0  # 13-bit signed bias mantissa
    bias_exp: np.ndarray = 0  # 3-bit bias exponent
    v0: np.ndarray = 0  # initial voltage
    b_init: np.ndarray = 0  # initial adaptation trace, b·2^18

    states = {"v": "v0", "b": "b_init", "s": None}
    per_neuron = ("dv", "dr", "vth", "beta", "bias_mant", "bias_exp", "v0", "b_init")

    def check(self) -> None:
        self.check_fixed(decays=("dv", "dr"), unsigned=("vth", "beta"))

    def prepare(self) -> dict:
        """dv, dr, beta as int64, the bias and vth_eff = vth << 6."""
        return self.prepare_fixed("dv", "dr", "beta")

    def step(self, ops, p, s, x):
        """Adaptation from the previous spike, then the voltage (reset by subtracting B), then the spike."""
        fx = ops.fx
        s_prev = s["s"]
        b = fx.decay(s["b"], p.dr) + (p.dr << fx.ALIGN) * s_prev
        B = p.vth_eff + fx.trunc12(p.beta * b)
        v = fx.clip24(fx.wrap32(fx.decay(s["v"], p.dv)) + fx.align(x["in"]) + p.bias - B * s_prev)
        spk = fx.spikes(v > B)
        return spk, {"v": v, "b": b, "s": spk}

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        i = lambda lo, hi: rng.integers(lo, hi, n)  # noqa: E731
        return cls(i(0, 4096), i(0, 4096), i(1, 1000), i(0, 2000), i(-100, 100), i(0, 3), i(-50, 50), i(0, 1 << 18))
