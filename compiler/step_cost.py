"""Per-neuron work of a primitive counted from its own `step`, the cost rule of primitives without a hand-written one.

`step_counts(node)` runs the step once on one sample with `CountingOps`, which does the NumPy
arithmetic and tallies each op: a multiply is a MAC (its add fused), the adds beyond those and
every comparison are accumulates, exp/sigmoid/tanh/softmax are nonlinear ops; a matmul with
W [out, in] costs W.size MACs. The counts are per neuron update (divided by the population size).
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import Primitive
from snnc.compiler.primitives.ops import NumpyOps, prepared


class CountingOps(NumpyOps):
    """NumpyOps that tallies elementwise ops (per element of the result) and matmul MACs."""

    def __init__(self):
        super().__init__(np.float64)
        self.n = {"mul": 0.0, "add": 0.0, "cmp": 0.0, "nonlinear": 0.0, "matmul": 0.0}

    def _count(self, kind: str, result):
        self.n[kind] += float(np.size(result))
        return result

    def add(self, a, b): return self._count("add", np.add(a, b))  # noqa: E704
    def sub(self, a, b): return self._count("add", np.subtract(a, b))  # noqa: E704
    def mul(self, a, b): return self._count("mul", np.multiply(a, b))  # noqa: E704
    def div(self, a, b): return self._count("mul", np.true_divide(a, b))  # noqa: E704
    def exp(self, a): return self._count("nonlinear", np.exp(a))  # noqa: E704
    def tanh(self, a): return self._count("nonlinear", np.tanh(a))  # noqa: E704
    def sigmoid(self, a): return self._count("nonlinear", NumpyOps.sigmoid(a))  # noqa: E704
    def softmax(self, a): return self._count("nonlinear", NumpyOps.softmax(a))  # noqa: E704
    def heaviside(self, a, b): return self._count("cmp", NumpyOps.heaviside(self, a, b))  # noqa: E704
    def greater(self, a, b): return self._count("cmp", np.greater(a, b))  # noqa: E704
    def less(self, a, b): return self._count("cmp", np.less(a, b))  # noqa: E704

    def matmul(self, x, W):
        self.n["matmul"] += float(np.size(W)) * x.shape[0]
        return NumpyOps.matmul(self, x, W)

    def int_matmul(self, q, W):
        self.n["matmul"] += float(np.size(W)) * q.shape[0]
        return NumpyOps.int_matmul(self, q, W)

    def conv(self, x, W, b, in_shape, stride, padding, dilation, groups):
        y = NumpyOps.conv(x, W, b, in_shape, stride, padding, dilation, groups)
        self.n["matmul"] += float(np.prod(W.shape[1:])) * y.size  # one MAC per weight of each output's window
        return y

    def pool(self, x, mode, in_shape, kernel, stride, padding):
        y = NumpyOps.pool(x, mode, in_shape, kernel, stride, padding)
        self.n["add"] += float(np.prod(kernel)) * y.size
        return y


def step_counts(node: Primitive) -> dict[str, float]:
    """{update_macs, update_acs, nonlinear} per neuron update of one step of `node` (on zero state and input)."""
    ops = CountingOps()
    x = {port: np.zeros((1, node.in_size(port))) for port in node.ports}
    if not node.ports:
        x = {"x": np.zeros((1, node.size))}
    s = {k: np.zeros((1, node.size)) for k in node.states}
    with np.errstate(all="ignore"):
        node.step(ops, prepared(node, np.float64), s, x)
    n, size = ops.n, float(node.size)
    macs = n["mul"] + n["matmul"]
    return {"update_macs": macs / size, "update_acs": (max(n["add"] - n["mul"], 0.0) + n["cmp"]) / size,
            "nonlinear": n["nonlinear"] / size}


def step_rule(node: Primitive, notes: list[str]):
    """A cost rule (compiler/cost.py) for a primitive without one, from `step_counts`; None without a step."""
    if node.step is None:
        return None
    from snnc.compiler.cost import neuron_rule  # (cost.py imports this module when it needs it)

    notes.append(f"{type(node).__name__}: no hand-written cost rule; its work per neuron update is counted from its step")
    return neuron_rule(**step_counts(node))
