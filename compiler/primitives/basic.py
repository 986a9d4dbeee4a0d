"""Graph inputs and synapses."""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import GRADED, SPIKE, Primitive, Synapse, primitive


@primitive
class Input(Primitive):
    """A graph input: x[t] of shape [B, size] at every step t."""

    n: int  # features per sample
    kind: str = GRADED  # "spike" (0/1 values) or "graded"

    ports = {}

    @property
    def size(self) -> int:
        return int(self.n)

    @property
    def out_kind(self) -> str:
        return self.kind

    def check(self) -> None:
        if int(self.n) <= 0:
            raise PrimitiveError(f"Input: size must be positive, got {self.n}")
        if self.kind not in (SPIKE, GRADED):
            raise PrimitiveError(f"Input: kind must be 'spike' or 'graded', got {self.kind!r}")

    @classmethod
    def example(cls, n=4, rng=None):
        return cls(n, SPIKE)

    def step(self, ops, p, s, x):
        return x["x"], {}  # the executor hands this step's data x[t] over as x["x"]


@primitive
class Dense(Synapse):
    """y = W·x + b (a synapse population; no state)."""

    W: np.ndarray  # weights [out, in]
    b: np.ndarray  # bias [out] (zeros for none)

    def check(self) -> None:
        if self.W.ndim != 2:
            raise PrimitiveError(f"Dense: W must be 2-D [out, in], got shape {self.W.shape}")
        if self.b.shape != (self.W.shape[0],):
            raise PrimitiveError(f"Dense: b has shape {self.b.shape}, expected ({self.W.shape[0]},)")

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.normal(0, 1, (n, n + 2)), rng.normal(0, 0.1, n))

    def step(self, ops, p, s, x):
        y = ops.matmul(x["in"], p.W)
        return (ops.add(y, p.b) if self.b.any() else y), {}  # x + 0 == x: no add for bias-free synapses

    @classmethod
    def of(cls, W: np.ndarray, b: np.ndarray | None = None) -> "Dense":
        W = np.asarray(W)
        return cls(W, np.zeros(W.shape[0]) if b is None else b)
