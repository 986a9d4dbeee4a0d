"""Stochastic parallelizable spiking neuron (SPSN) of seed 004: CUBA integration without reset.

Without a reset the membrane is a linear function of the input, so training can
integrate all steps in parallel (frontends/spsn.py); spiking is Bernoulli with
probability σ(v), drawn against a uniform noise input u ~ U(0, 1) that the
caller supplies (port `noise`) so every backend sees the same numbers.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import ANY, GRADED, SPIKE, Primitive, primitive


@primitive
class SPSN(Primitive):
    """i = alpha·i + I; v = beta·v + (1−beta)·i; s = 1[u < σ(v)] (stochastic, u from port noise) or H(v)."""

    alpha: np.ndarray  # synaptic current decay per step
    beta: np.ndarray  # membrane decay per step
    stochastic: bool = True  # Bernoulli spikes against the noise input; False: s = H(v)

    states = {"i": None, "v": None}
    per_neuron = ("alpha", "beta")
    linear_states = (("i", "alpha"), ("v", "beta"))  # no reset: both integrate without reading the spikes
    elementwise = True

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.uniform(0.5, 0.95, n), rng.uniform(0.8, 0.99, n), True)

    @property
    def ports(self) -> dict[str, str]:  # type: ignore[override]
        # the noise port exists only in stochastic mode, so a deterministic node needs no noise edge
        return {"in": ANY, "noise": GRADED} if self.stochastic else {"in": ANY}

    @property
    def out_kind(self) -> str:
        return SPIKE

    def check(self) -> None:
        if not isinstance(self.stochastic, (bool, np.bool_)):
            raise PrimitiveError(f"SPSN: stochastic must be True or False, got {self.stochastic!r}")
        # the decays alpha, beta are checked in (0, 1] by verify (compiler/verify.py), which names the node

    def step(self, ops, p, s, x):
        i = ops.add(ops.mul(p.alpha, s["i"]), x["in"])
        v = ops.add(ops.mul(p.beta, s["v"]), ops.mul(ops.sub(1, p.beta), i))
        # Bernoulli against the noise the caller feeds: s = 1[u < σ(v)]
        spk = ops.heaviside(ops.sigmoid(v), x["noise"]) if self.stochastic else ops.heaviside(v, 0)
        return spk, {"i": i, "v": v}
