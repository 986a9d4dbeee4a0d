"""Liquid-time-constant spiking neuron and readout of seed 003 (Yin, Corradi, Bohté 2023, FPTT).

The decays are not fixed: they are gates computed each step from the input
current and the neuron's own state. σ is the logistic function.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import GRADED, SPIKE, Primitive, primitive


def _gate(ops, W, b, I, state):
    """σ(W·[I, state] + b)."""
    return ops.sigmoid(ops.add(ops.matmul(ops.concat(I, state), W), b))


def _check_gate(name: str, W: np.ndarray, b: np.ndarray, n: int, what: str) -> None:
    if W.shape != (n, 2 * n):
        raise PrimitiveError(f"{name}: {what} must be [n, 2n] = ({n}, {2 * n}) (it acts on [I, state]), got {W.shape}")
    if b.shape != (n,):
        raise PrimitiveError(f"{name}: bias of {what} has shape {b.shape}, expected ({n},)")


@primitive
class LTC(Primitive):
    """a = σ(Wa·[I, v] + ba); r = σ(Wr·[I, b] + br); b = r·b + (1−r)·s⁻; B = b0 + beta·b;
    v = (1−a)·v + a·I; s = H(v − B); v = v·(1−s)  (hard reset)."""

    Wa: np.ndarray  # membrane gate weights [n, 2n] on the concatenation [I, v]
    ba: np.ndarray  # membrane gate bias [n]
    Wr: np.ndarray  # adaptation gate weights [n, 2n] on the concatenation [I, b]
    br: np.ndarray  # adaptation gate bias [n]
    b0: np.ndarray = 0.01  # baseline threshold
    beta: np.ndarray = 1.8  # adaptation strength
    v0: np.ndarray = 0.0  # initial membrane potential
    b_init: np.ndarray = 0.0  # initial adaptation variable

    states = {"v": "v0", "b": "b_init", "s": None}
    per_neuron = ("ba", "br", "b0", "beta", "v0", "b_init")

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.normal(0, 0.5, (n, 2 * n)), rng.normal(0, 0.5, n), rng.normal(0, 0.5, (n, 2 * n)),
                   rng.normal(0, 0.5, n), 0.1, 1.8, rng.uniform(0, 0.05, n), rng.uniform(0, 0.1, n))

    @property
    def out_kind(self) -> str:
        return SPIKE

    def check(self) -> None:
        _check_gate("LTC", self.Wa, self.ba, self.size, "Wa")
        _check_gate("LTC", self.Wr, self.br, self.size, "Wr")

    def step(self, ops, p, s, x):
        I, s_prev, b_old, v_old = x["in"], s["s"], s["b"], s["v"]
        a = _gate(ops, p.Wa, p.ba, I, v_old)
        r = _gate(ops, p.Wr, p.br, I, b_old)
        b = ops.add(ops.mul(r, b_old), ops.mul(ops.sub(1, r), s_prev))
        B = ops.add(p.b0, ops.mul(p.beta, b))
        v = ops.add(ops.mul(ops.sub(1, a), v_old), ops.mul(a, I))
        spk = ops.heaviside(v, B)
        return spk, {"v": ops.mul(v, ops.sub(1, spk)), "b": b, "s": spk}


@primitive
class LTCReadout(Primitive):
    """a = σ(Wa·[I, v] + ba); v = (1−a)·v + a·I (graded readout; the output is v)."""

    Wa: np.ndarray  # gate weights [n, 2n] on the concatenation [I, v]
    ba: np.ndarray  # gate bias [n]
    v0: np.ndarray = 0.0  # initial state

    states = {"v": "v0"}
    per_neuron = ("ba", "v0")

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.normal(0, 0.5, (n, 2 * n)), rng.normal(0, 0.5, n), rng.uniform(0, 0.5, n))

    @property
    def out_kind(self) -> str:
        return GRADED

    def check(self) -> None:
        _check_gate("LTCReadout", self.Wa, self.ba, self.size, "Wa")

    def step(self, ops, p, s, x):
        I, v_old = x["in"], s["v"]
        a = _gate(ops, p.Wa, p.ba, I, v_old)
        v = ops.add(ops.mul(ops.sub(1, a), v_old), ops.mul(a, I))
        return v, {"v": v}
