"""Rank-coded recurrent networks of seed 001 (Jeffares et al. 2022): an LSTM and the EarlyExit decision node.

EarlyExit turns a readout into a rank-coded decision: per sample, the first step
at which the confidence max_k p_k exceeds theta fixes the decision argmax_k p_k
and the decision time; samples that never cross decide at the last step. The
runtime stops computing a sample once it has decided, and reports decisions and
decision times as extra outputs named `<node>:decision` and `<node>:time` [B].
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import GRADED, Primitive, primitive

READOUTS = ("softmax", "sigmoid")
DECISION, TIME = ":decision", ":time"  # suffixes of the per-sample outputs an EarlyExit node adds


@primitive
class LSTM(Primitive):
    """PyTorch's LSTM cell, gate order i, f, g, o:  z = W_ih·x + W_hh·h + b;  i, f, o = σ(z_i), σ(z_f), σ(z_o);
    g = tanh(z_g);  c = f·c + i·g;  h = o·tanh(c)  (graded output h)."""

    W_ih: np.ndarray  # input weights [4n, in]
    W_hh: np.ndarray  # recurrent weights [4n, n]
    b: np.ndarray  # b_ih + b_hh [4n]

    states = {"h": None, "c": None}

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.normal(0, 0.5, (4 * n, n + 2)), rng.normal(0, 0.5, (4 * n, n)), rng.normal(0, 0.1, 4 * n))

    @property
    def size(self) -> int:
        return int(self.W_hh.shape[1])

    def in_size(self, port: str) -> int:
        return int(self.W_ih.shape[1])

    def check(self) -> None:
        n = self.W_hh.shape[1] if self.W_hh.ndim == 2 else -1
        if self.W_hh.ndim != 2 or self.W_hh.shape != (4 * n, n):
            raise PrimitiveError(f"LSTM: W_hh must be [4n, n], got shape {self.W_hh.shape}")
        if self.W_ih.ndim != 2 or self.W_ih.shape[0] != 4 * n:
            raise PrimitiveError(f"LSTM: W_ih must be [4n, in] = [{4 * n}, in], got shape {self.W_ih.shape}")
        if self.b.shape != (4 * n,):
            raise PrimitiveError(f"LSTM: b must have shape ({4 * n},), got {self.b.shape}")

    def step(self, ops, p, s, x):
        n = self.size
        z = ops.add(ops.add(ops.matmul(x["in"], p.W_ih), ops.matmul(s["h"], p.W_hh)), p.b)
        i, f, o = (ops.sigmoid(ops.slice(z, k * n, (k + 1) * n)) for k in (0, 1, 3))  # PyTorch gate order i, f, g, o
        g = ops.tanh(ops.slice(z, 2 * n, 3 * n))
        c = ops.add(ops.mul(f, s["c"]), ops.mul(i, g))
        h = ops.mul(o, ops.tanh(c))
        return h, {"h": h, "c": c}


@primitive
class EarlyExit(Primitive):
    """p = readout(x) (softmax or sigmoid); conf = max_k p_k; the first step with conf > theta fixes
    decision = argmax_k p and its time; the output p is held at its decision-step value afterwards."""

    n: int  # number of classes (input and output features)
    theta: float  # confidence threshold in (0, 1]; 1 never exits early
    readout: str = "softmax"  # "softmax" or "sigmoid", applied to the input logits

    ports = {"in": GRADED}

    @classmethod
    def example(cls, n=4, rng=None):
        return cls(n, 0.6, "softmax")

    @property
    def size(self) -> int:
        return int(self.n)

    @property
    def out_kind(self) -> str:
        return GRADED

    def check(self) -> None:
        if int(self.n) <= 0:
            raise PrimitiveError(f"EarlyExit: number of classes must be positive, got {self.n}")
        th = float(self.theta)
        if not (0.0 < th <= 1.0):
            raise PrimitiveError(f"EarlyExit: theta must lie in (0, 1], got {self.theta}")
        if self.readout not in READOUTS:
            raise PrimitiveError(f"EarlyExit: readout must be one of {', '.join(READOUTS)}, got {self.readout!r}")

    def step(self, ops, p, s, x):
        # which samples cross theta is the executor's bookkeeping (the ONNX Loop condition, the runtime's batch)
        return (ops.sigmoid(x["in"]) if self.readout == "sigmoid" else ops.softmax(x["in"])), {}
