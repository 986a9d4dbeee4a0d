"""Quantized float-domain primitives: Int8Dense (`quantize int8`) and Affine (`fuse` folds it into Dense).

int8 (`Int8Dense`): y = (W_q · q(x)) · w_scale · x_scale + b with int8 weights,
q(x) = clip(rint(x / x_scale), −127, 127) and int32 accumulation; states stay float.
Affine: y = scale·x + shift per feature (eval batch norm, constant scales).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import ANY, Primitive, Synapse, primitive


@primitive
class Int8Dense(Synapse):
    """y = (W·q(x))·w_scale·x_scale + b, q(x) = clip(rint(x/x_scale), −127, 127), int32 accumulation."""

    W: np.ndarray  # int8 weights [out, in], symmetric per output channel
    w_scale: np.ndarray  # per-output-channel weight scale [out]
    x_scale: np.ndarray  # input scale (1 for spikes: exact)
    b: np.ndarray  # float bias [out]

    def check(self) -> None:
        if self.W.dtype != np.int8 or self.W.ndim != 2:
            raise PrimitiveError(f"Int8Dense: W must be a 2-D int8 array, got {self.W.dtype} {self.W.shape}")
        if self.w_scale.shape != (self.W.shape[0],) or self.b.shape != (self.W.shape[0],):
            raise PrimitiveError(f"Int8Dense: w_scale and b must have shape ({self.W.shape[0]},)")
        if self.x_scale.shape != () or not float(self.x_scale) > 0:
            raise PrimitiveError(f"Int8Dense: x_scale must be a positive scalar, got {self.x_scale}")

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.integers(-127, 128, (n, n + 2)).astype(np.int8), rng.uniform(0.001, 0.01, n), 1.0, rng.normal(0, 0.1, n))

    def prepare(self) -> dict:
        return {"out_scale": self.w_scale * float(self.x_scale)}  # in float64, then cast to the program dtype

    def step(self, ops, p, s, x):
        q = ops.clip(ops.round(ops.div(x["in"], p.x_scale)), -127, 127)  # q(x), integer-valued
        return ops.add(ops.mul(ops.int_matmul(q, p.W), p.out_scale), p.b), {}


@primitive
class Affine(Primitive):
    """y = scale·x + shift per feature (eval-mode batch norm, constant gains); `fuse` folds it into Dense."""

    scale: np.ndarray  # per-feature multiplier
    shift: np.ndarray = 0.0  # per-feature offset

    ports = {"in": ANY}
    per_neuron = ("scale", "shift")

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.uniform(0.5, 2.0, n), rng.normal(0, 0.1, n))

    def step(self, ops, p, s, x):
        return ops.add(ops.mul(x["in"], p.scale), p.shift), {}

    @classmethod
    def batchnorm(cls, mean, var, weight, bias, eps: float = 1e-5) -> "Affine":
        """Eval-mode BatchNorm1d as an Affine: y = (x − mean)/sqrt(var + eps)·weight + bias."""
        s = np.asarray(weight, float) / np.sqrt(np.asarray(var, float) + eps)
        return cls(s, np.asarray(bias, float) - np.asarray(mean, float) * s)
