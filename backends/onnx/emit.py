"""ONNX emission: `OnnxOps` runs a primitive's `step` on symbolic values, appending ONNX nodes to an `Emitter`.

A value is either a `str`, the name of an ONNX value, or a constant (a NumPy array or a
Python number): an op whose operands are all constants is folded with `NumpyOps` in the
model dtype, which is what the NumPy runtime computes at every step; a constant that meets
a symbolic value becomes an initializer, named after the parameter it is (`<node>.alpha`,
`<node>.Wt` for a transposed weight matrix). The same step builds the Loop body and the
single-step model (see `backends/onnx/lower.py`), so the model computes each node's step in
the NumPy runtime's order, and float results match bit for bit except where MatMul sums in
another order.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from snnc.compiler.primitives.ops import NumpyOps

# Opset from which the signature we emit for an op is valid (when later than the op's first version):
# ReduceSum and Unsqueeze take `axes` as an input since 13, Slice starts/ends since 10, Clip min/max since 11.
MIN_OPSET: dict[str, int] = {"ReduceSum": 13, "Unsqueeze": 13, "Slice": 10, "Clip": 11, "Round": 11}
UNROLL_LIMIT = 1 << 24  # float64 conv/pool as one dense MatMul up to this many matrix entries (128 MB)
_ELEMENTWISE = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "neg": "Neg", "exp": "Exp",
                "sigmoid": "Sigmoid", "tanh": "Tanh", "maximum": "Max", "minimum": "Min", "round": "Round",
                "greater": "Greater", "less": "Less", "where": "Where", "clip": "Clip"}


class Emitter:
    """Collects ONNX nodes and initializers for one time step of a graph.

    Values are named `<ir node>.<what>` and ONNX nodes `<ir node>/<what>`, so a
    reader of the ONNX graph sees the IR node names.
    """

    def __init__(self, dtype: np.dtype):
        from onnx import helper  # onnx is imported only by the onnx backend

        self.helper = helper
        self.dtype = np.dtype(dtype)
        self.nodes: list = []  # NodeProtos of the step, in order
        self.inits: dict[str, np.ndarray] = {}  # initializers (outer graph), by name
        self.ops_used: dict[str, str] = {}  # op type -> first IR node using it
        self.state_in: dict[tuple[str, str], str] = {}  # (node, var) -> value at t-1
        self.state_out: dict[tuple[str, str], str] = {}  # (node, var) -> value at t
        self.step_input: Callable[[str], str] = lambda name: name  # how an Input node gets x_t
        self.cur = ""  # IR node being lowered
        self._names: set[str] = set()

    # -- naming -----------------------------------------------------------------
    def fresh(self, base: str) -> str:
        """A value name not used yet, `base` when free."""
        name, k = base, 1
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    # -- building ---------------------------------------------------------------
    def const(self, key: str, value, cast: bool = True) -> str:
        """An initializer `<node>.<key>` (floats in the model dtype); returns its name."""
        a = np.asarray(value)
        if cast and a.dtype.kind == "f":
            a = a.astype(self.dtype)
        name = self.fresh(f"{self.cur}.{key}" if self.cur else key)
        self.inits[name] = np.ascontiguousarray(a)
        return name

    def shared(self, key: str, value) -> str:
        """A graph-wide constant (e.g. 0 or the ReduceSum axes), created once."""
        if key not in self.inits:
            a = np.asarray(value)
            self.inits[key] = a.astype(self.dtype) if a.dtype.kind == "f" else a
            self._names.add(key)
        return key

    def op(self, op_type: str, inputs: list[str], out: str, **attrs) -> str:
        """Append one ONNX node computing `<node>.<out>`; returns the output value name."""
        name = self.fresh(f"{self.cur}.{out}" if self.cur else out)
        self.nodes.append(self.helper.make_node(op_type, inputs, [name], name=name.replace(".", "/", 1), **attrs))
        self.ops_used.setdefault(op_type, self.cur)
        return name

    def state(self, var: str) -> str:
        """The value of state `var` of the current node at step t-1."""
        return self.state_in[(self.cur, var)]

    def set_state(self, var: str, value: str) -> None:
        """Declare `value` the new value of state `var` of the current node."""
        self.state_out[(self.cur, var)] = value


class OnnxOps:
    """The step vocabulary (compiler/primitives/ops.py) on symbolic values: each op appends ONNX nodes."""

    def __init__(self, em: Emitter):
        self.em, self.dtype = em, em.dtype
        self.np = NumpyOps(em.dtype)  # folds constant operands
        self.names: dict[int, str] = {}  # id(parameter array) -> parameter name, for the current node
        self.made: dict[int, str] = {}  # id(parameter array) -> its initializer, made once per node

    def bind(self, params) -> None:
        """Name the initializers of the next node's parameters after its fields (`params` stays alive meanwhile)."""
        self.names = {id(v): k for k, v in params.items() if isinstance(v, np.ndarray)}
        self.made = {}

    def val(self, v, key: str | None = None) -> str:
        """The ONNX value of `v`: itself when symbolic, else an initializer (floats in the model dtype)."""
        if isinstance(v, str):
            return v
        if key is None and id(v) in self.names:
            if id(v) not in self.made:
                self.made[id(v)] = self.em.const(self.names[id(v)], v)
            return self.made[id(v)]
        if key is not None:
            return self.em.const(key, v)
        a = np.asarray(v, self.dtype) if isinstance(v, (int, float)) else np.asarray(v)
        if a.ndim == 0:  # shared scalars: one initializer per value in the whole model
            return self.em.shared({0.0: "zero", 1.0: "one"}.get(float(a), f"const_{float(a)!r}"), a)
        return self.em.const("c", a)

    def _op(self, fn: str, *args, **attrs):
        if not any(isinstance(a, str) for a in args):
            return getattr(self.np, fn)(*args)
        return self.em.op(_ELEMENTWISE[fn], [self.val(a) for a in args], fn, **attrs)

    def __getattr__(self, fn: str) -> Callable:
        if fn == "fx":
            raise AttributeError("Loihi fixed-point arithmetic (ops.fx) has no ONNX form")
        if fn not in _ELEMENTWISE:
            raise AttributeError(f"the step vocabulary has no op '{fn}'")
        return lambda *args: self._op(fn, *args)

    def _to(self, dtype) -> int:
        return self.em.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def matmul(self, x, W):
        if not isinstance(x, str):
            return self.np.matmul(x, W)
        Wt = self.val(np.asarray(W).T, (self.names.get(id(W), "W")) + "t")
        return self.em.op("MatMul", [x, Wt], "matmul")

    def int_matmul(self, q, W):
        if not isinstance(q, str):
            return self.np.int_matmul(q, W)
        qi = self.em.op("Cast", [q], "q", to=self._to(np.int8))  # q is integer-valued in [-127, 127]
        Wt = self.em.const(self.names.get(id(W), "W") + "t", np.ascontiguousarray(np.asarray(W).T), cast=False)
        acc = self.em.op("MatMulInteger", [qi, Wt], "acc")  # int8 x int8 -> int32, as the NumPy runtime sums
        return self.em.op("Cast", [acc], "acc_f", to=self._to(self.dtype))

    def concat(self, *xs):
        if not any(isinstance(a, str) for a in xs):
            return self.np.concat(*xs)
        return self.em.op("Concat", [self.val(a) for a in xs], "concat", axis=1)

    def slice(self, a, start: int, stop: int):
        if not isinstance(a, str):
            return self.np.slice(a, start, stop)
        bounds = [self.em.const(k, np.array([i], np.int64)) for k, i in (("start", start), ("stop", stop))]
        return self.em.op("Slice", [a, *bounds, self.em.shared("axis_1", np.array([1], np.int64))], "slice")

    def _shaped(self, x, shape, what: str) -> str:
        """x reshaped to [B, *shape] (B from the data)."""
        return self.em.op("Reshape", [x, self.em.const(f"{what}_shape", np.array([-1, *shape], np.int64))], what)

    def _unrolled(self, x, fn, n_in: int, bias=None) -> str:
        """A linear map `fn` on flat features as one MatMul with its [in, out] matrix (onnxruntime has no
        float64 Conv or AveragePool); refused above UNROLL_LIMIT entries."""
        from snnc.compiler.errors import LoweringError

        n_out = fn(np.zeros((1, n_in), self.dtype)).shape[1]
        if n_in * n_out > UNROLL_LIMIT:
            kind = self.em.cur.split(".")[0]
            raise LoweringError(self.em.cur, kind, "onnx", f"onnxruntime has no float64 convolution and the unrolled "
                                f"matrix would hold {n_in * n_out} entries; compile with --dtype float32")
        M = fn(np.eye(n_in, dtype=self.dtype))
        y = self.em.op("MatMul", [x, self.em.const("unrolled", M)], "unrolled")
        return self.em.op("Add", [y, self.em.const("bias", bias)], "biased") if bias is not None and bias.any() else y

    def conv(self, x, W, b, in_shape, stride, padding, dilation, groups):
        if not isinstance(x, str):
            return self.np.conv(x, W, b, in_shape, stride, padding, dilation, groups)
        if self.dtype == np.float64:
            n_in = int(W.shape[1]) * int(groups) * int(np.prod(in_shape))
            lin = lambda a: self.np.conv(a, W, np.zeros_like(b), in_shape, stride, padding, dilation, groups)  # noqa: E731
            return self._unrolled(x, lin, n_in, self.np.conv(np.zeros((1, n_in), self.dtype), W, b, in_shape, stride,
                                                          padding, dilation, groups)[0])
        c_in = int(W.shape[1]) * int(groups)
        xs = self._shaped(x, [c_in, *[int(n) for n in in_shape]], "image")
        pads = [int(p) for p in padding] * 2  # ONNX: all begins, then all ends
        y = self.em.op("Conv", [xs, self.val(W), self.val(b)], "conv", strides=[int(v) for v in stride], pads=pads,
                       dilations=[int(v) for v in dilation], group=int(groups), kernel_shape=list(W.shape[2:]))
        return self.em.op("Flatten", [y], "flat", axis=1)

    def pool(self, x, mode, in_shape, kernel, stride, padding):
        if not isinstance(x, str):
            return self.np.pool(x, mode, in_shape, kernel, stride, padding)
        if self.dtype == np.float64:
            lin = lambda a: self.np.pool(a, mode, in_shape, kernel, stride, padding)  # noqa: E731
            return self._unrolled(x, lin, int(np.prod(in_shape)))
        xs = self._shaped(x, [int(n) for n in in_shape], "image")
        attrs = dict(kernel_shape=[int(k) for k in kernel], strides=[int(v) for v in stride],
                     pads=[int(p) for p in padding] * 2)
        if mode == "avg":
            y = self.em.op("AveragePool", [xs], "pool", count_include_pad=1, **attrs)
        else:  # a sum is a depthwise conv with a kernel of ones: exact sums, no divide and multiply back
            c = int(in_shape[0])
            ones = self.em.const("ones", np.ones((c, 1, *[int(k) for k in kernel])))
            y = self.em.op("Conv", [xs, ones], "pool", group=c, **attrs)
        return self.em.op("Flatten", [y], "flat", axis=1)

    def softmax(self, a):
        return self.np.softmax(a) if not isinstance(a, str) else self.em.op("Softmax", [a], "softmax", axis=1)

    def heaviside(self, a, b):
        if not any(isinstance(v, str) for v in (a, b)):
            return self.np.heaviside(a, b)
        return self.cast(self._op("greater", a, b))

    def cast(self, mask):
        if not isinstance(mask, str):
            return self.np.cast(mask)
        return self.em.op("Cast", [mask], "s", to=self._to(self.dtype))
