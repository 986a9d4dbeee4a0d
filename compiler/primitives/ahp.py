"""Neuron with an after-hyperpolarizing (AHP) current of seed 002: spike-triggered self-inhibition."""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import SPIKE, Primitive, primitive


@primitive
class AHP(Primitive):
    """aux = alpha_aux·aux + w_ahp·s⁻ (w_ahp < 0); v = alpha·v + gain·I + aux; s = H(v − theta); v = v·(1−s)."""

    alpha: np.ndarray  # membrane decay per step, exp(-dt/tau_m)
    alpha_aux: np.ndarray  # AHP current decay per step, exp(-dt/tau_ahp)
    w_ahp: np.ndarray  # AHP weight of the neuron's own spike (negative: hyperpolarizing)
    gain: np.ndarray  # input gain, e.g. (1 − alpha)·R
    theta: np.ndarray  # firing threshold
    v0: np.ndarray = 0.0  # initial membrane potential
    aux0: np.ndarray = 0.0  # initial AHP current

    states = {"v": "v0", "aux": "aux0", "s": None}
    per_neuron = ("alpha", "alpha_aux", "w_ahp", "gain", "theta", "v0", "aux0")

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        u = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
        return cls(u(0.8, 0.99), u(0.8, 0.95), u(-1.0, -0.1), u(0.1, 1), u(0.3, 1.0), u(0, 0.2), u(-0.2, 0))

    @property
    def out_kind(self) -> str:
        return SPIKE

    def check(self) -> None:
        if np.any(self.w_ahp > 0):
            i = int(np.argmax(self.w_ahp > 0))
            raise PrimitiveError(f"AHP: w_ahp must be <= 0 (an after-hyperpolarizing current), got {self.w_ahp[i]} at neuron {i}")

    def step(self, ops, p, s, x):
        aux = ops.add(ops.mul(p.alpha_aux, s["aux"]), ops.mul(p.w_ahp, s["s"]))
        v = ops.add(ops.add(ops.mul(p.alpha, s["v"]), ops.mul(p.gain, x["in"])), aux)
        spk = ops.heaviside(v, p.theta)
        return spk, {"v": ops.mul(v, ops.sub(1, spk)), "aux": aux, "s": spk}
