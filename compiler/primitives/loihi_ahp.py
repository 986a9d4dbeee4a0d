"""LoihiAHP: snnc's fixed-point AHP neuron, run by the NumPy integer runtime and the Lava fixed_pt model.

Float: aux = alpha_aux·aux + w_ahp·s⁻; v = alpha·v + gain·I + aux; s = H(v − theta);
v = v·(1 − s). v and aux are 24-bit in the same voltage scale S (v_int ≈ v·S); w_ahp is
a signed 17-bit mantissa in threshold units (w_ahp·S/64, added << 6), so one spike
moves aux by exactly (w_ahp << 6):

    aux = clip24(trunc12(aux·(4096 − da)) + (w_ahp << 6)·s⁻)
    v   = clip24(trunc12(v·(4096 − dv)) + (a_in << 6) + bias + aux)
    s   = v > (vth << 6);  v = 0 where s
"""
from __future__ import annotations

import numpy as np

from snnc.compiler import fixedpoint as fx
from snnc.compiler.ir import primitive
from snnc.compiler.primitives.loihi_base import VTH_MAX, FixedSpiking, _need_range


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

    def prepare(self) -> dict:
        """dv, da as int64, the bias, vth_eff = vth << 6 and w_eff = w_ahp << 6."""
        p = self.prepare_fixed("dv", "da")
        p["w_eff"] = self.w_ahp.astype(np.int64) << fx.ALIGN
        return p

    def step(self, ops, p, s, x):
        """The AHP current from the previous spike, then the voltage, spike and reset to zero."""
        fx = ops.fx
        aux = fx.clip24(fx.decay(s["aux"], p.da) + p.w_eff * s["s"])
        v = fx.clip24(fx.decay(s["v"], p.dv) + fx.align(x["in"]) + p.bias + aux)
        spk = fx.spikes(v > p.vth_eff)
        return spk, {"v": fx.reset(v, spk, p.vth_eff, "zero"), "aux": aux, "s": spk}

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        i = lambda lo, hi: rng.integers(lo, hi, n)  # noqa: E731
        return cls(i(0, 4096), i(0, 4096), i(1, 1000), i(-2000, 1), i(-100, 100), i(0, 3), i(-50, 50), i(-50, 1))
