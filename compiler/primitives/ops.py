"""The step contract and its array-op vocabulary; `NumpyOps` is the vocabulary's NumPy meaning.

Every primitive defines its step once, beside its dataclass:

    def step(self, ops, p, s, x) -> tuple[V, dict[str, V]]

- `p`: the node's prepared parameters by attribute (its fields plus what `prepare()` returns).
  On NumPy (and Lava) float arrays are cast to the program dtype; on ONNX they are the same
  arrays, turned into initializers where a symbolic value meets them.
- `s`: state values at t−1 by state name (`Primitive.states`), [B, n].
- `x`: the summed input per port, [B, in] (an Input node gets its data as x["x"]).
- returns (output [B, n], new value of every state by name).

`step` must build its values only through `ops` (never `+` or `np.` on values), so the same
function runs on NumPy arrays and emits ONNX nodes; Python control flow may depend on the node's
own fields (`self.reset`, `self.stochastic`), never on values. Parameters derived once (a product
computed in float64 before the cast, as PyTorch does) come from `prepare(self) -> dict`.
Executors keep the floating-point operation order written in `step`, which is the order of the
PyTorch layers, so float64 runs agree with PyTorch to the last bit.

Vocabulary (V: an array [B, n], a parameter [n] or a Python scalar; NumPy broadcasting):

    add(a, b)  sub(a, b)  mul(a, b)  div(a, b)  neg(a)     elementwise arithmetic
    exp(a)  sigmoid(a)  tanh(a)                             σ(a) = 1 / (1 + exp(−a))
    maximum(a, b)  minimum(a, b)  clip(a, lo, hi)  round(a) round: half to even
    matmul(x, W)          x [B, in] · Wᵀ with W [out, in] -> [B, out]
    int_matmul(q, W)      integer-valued q [B, in] times int8 W [out, in], exact int32 sums, as a float
    concat(a, b, ...)     along features;  slice(a, start, stop): features start:stop
    softmax(a)            over features (max-shifted)
    conv(x, W, b, in_shape, stride, padding, dilation, groups)   PyTorch's Conv1d/Conv2d on flat features
    pool(x, mode, in_shape, kernel, stride, padding)              "sum" or "avg" 2-D pooling (zeros counted)
    greater(a, b)  less(a, b) -> mask;  where(mask, a, b)
    heaviside(a, b)       H(a − b) = 1 where a > b else 0, in the program dtype (a spike)
    cast(mask)            a mask as 0/1 in the program dtype
    dtype                 the program's float dtype; `fx`: the fixed-point helpers (compiler/fixedpoint.py)
                          that integer (Loihi) primitives' steps use on int64 arrays
"""
from __future__ import annotations

import numpy as np


class NumpyOps:
    """The vocabulary on NumPy arrays in one float dtype: the reference meaning of every step."""

    def __init__(self, dtype: str | np.dtype = "float64"):
        self.dtype = np.dtype(dtype)
        self._t: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id(W) -> (W, contiguous Wᵀ)

    @property
    def fx(self):
        from snnc.compiler import fixedpoint
        return fixedpoint

    add, sub, mul, div, neg = staticmethod(np.add), staticmethod(np.subtract), staticmethod(np.multiply), \
        staticmethod(np.true_divide), staticmethod(np.negative)
    exp, tanh, maximum, minimum = staticmethod(np.exp), staticmethod(np.tanh), staticmethod(np.maximum), \
        staticmethod(np.minimum)
    greater, less, where, round = staticmethod(np.greater), staticmethod(np.less), staticmethod(np.where), \
        staticmethod(np.rint)

    @staticmethod
    def sigmoid(a):
        # torch's formula, so Bernoulli draws u < σ(v) agree bit for bit; exp overflow gives the right limit 0
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-a))

    @staticmethod
    def clip(a, lo, hi):
        return np.clip(a, lo, hi)

    def _transposed(self, W: np.ndarray, dtype=None) -> np.ndarray:
        # x @ Wᵀ with a contiguous Wᵀ made once per weight matrix (the program keeps W alive)
        hit = self._t.get(id(W))
        if hit is None or hit[0] is not W:
            hit = self._t[id(W)] = (W, np.ascontiguousarray(W.T if dtype is None else W.T.astype(dtype)))
        return hit[1]

    def matmul(self, x, W):
        return x @ self._transposed(W)

    def int_matmul(self, q, W):
        acc = q.astype(np.int32) @ self._transposed(W, np.int32)  # int32 accumulation
        return acc.astype(self.dtype)

    @staticmethod
    def concat(*xs):
        return np.concatenate(xs, axis=1)

    @staticmethod
    def slice(a, start: int, stop: int):
        return a[:, start:stop]

    @staticmethod
    def conv(x, W, b, in_shape, stride, padding, dilation, groups):
        from snnc.compiler.primitives.conv_math import conv
        return conv(x, W, b, in_shape, stride, padding, dilation, groups)

    @staticmethod
    def pool(x, mode, in_shape, kernel, stride, padding):
        from snnc.compiler.primitives.conv_math import pool
        return pool(x, mode, in_shape, kernel, stride, padding)

    @staticmethod
    def softmax(a):
        e = np.exp(a - a.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def heaviside(self, a, b):
        return (a > b).astype(self.dtype)

    def cast(self, mask):
        return np.asarray(mask).astype(self.dtype)


def prepared(node, dtype: np.dtype, cast=None) -> "Params":
    """The step's `p` for `node`: its fields and `prepare()`'s values, float arrays cast to `dtype`."""
    dtype = np.dtype(dtype)
    vals = {**node.params(), **node.prepare()}
    if cast is None:
        cast = lambda a: a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a  # noqa: E731
    return Params({k: cast(v) for k, v in vals.items()})


class Params:
    """Attribute access to a node's prepared parameters (what `step` receives as `p`)."""

    def __init__(self, values: dict):
        self.__dict__.update(values)

    def items(self):
        return self.__dict__.items()
