"""Lowering IR -> NumPy Program: every node's `step` (compiler/primitives/ops.py) bound to NumPy ops (DESIGN §3, §5).

A node runs its primitive's own `step` with `NumpyOps` in the program dtype and its
parameters cast to that dtype (integers untouched: the Loihi primitives' integer steps use
`ops.fx`, compiler/fixedpoint.py, on int64 states). The plan holds a kernel
`fn(params, states, inputs) -> output` that updates the state dict in place; the runtime
(`snnc.runtime.numpy.runtime`) executes the Program.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from snnc.compiler.errors import LoweringError, SnncError
from snnc.compiler.ir import Graph, Primitive
from snnc.compiler.primitives.ops import NumpyOps, prepared
from snnc.compiler.verify import verify

BACKEND = "numpy"
Kernel = Callable[[Any, dict, dict], np.ndarray]


def step_kernel(name: str, node: Primitive, ops: NumpyOps) -> Kernel:
    """`node.step` as a kernel that writes the new states into the state dict it gets."""
    step, kind, want = node.step, type(node).__name__, set(node.states)

    def run(p, st: dict, inp: dict) -> np.ndarray:
        out, new = step(ops, p, st, inp)
        if new.keys() != want:
            raise LoweringError(name, kind, BACKEND, f"its step returned states {sorted(new)}, expected {sorted(want)}")
        st.update(new)
        return out
    return run


def node_kernel(name: str, node: Primitive, ops: NumpyOps) -> tuple[Kernel, Any]:
    """(kernel, parameters) of one node: its step; a LoweringError naming it when its primitive has none."""
    if node.step is None:
        raise LoweringError(name, type(node).__name__, BACKEND)
    return step_kernel(name, node, ops), prepared(node, ops.dtype)


@dataclass
class NodePlan:
    """Everything the runtime needs to evaluate one node per step."""

    name: str
    node: Primitive
    kernel: Kernel
    params: Any  # what the kernel gets as p
    inputs: dict[str, list[tuple[str, int]]]  # port -> [(src, delay)] in edge order
    history: int  # how many past outputs of this node delayed edges need


@dataclass
class Program:
    """A Graph lowered for the NumPy runtime: fixed schedule, cast parameters, wiring."""

    graph: Graph
    dtype: np.dtype
    plans: list[NodePlan]
    inputs: list[str]
    outputs: list[str]
    meta: dict = field(default_factory=dict)

    @property
    def input_sizes(self) -> dict[str, int]:
        return {n: self.graph.nodes[n].size for n in self.inputs}


def lower(graph: Graph, dtype: str | np.dtype = "float64") -> Program:
    """Verify `graph` and lower it to a Program in `dtype` (float32 or float64)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise SnncError(f"numpy backend: dtype must be float32 or float64, got {dtype}")
    verify(graph)
    ops = NumpyOps(dtype)
    plans = []
    for name in graph.schedule():
        node = graph.nodes[name]
        fn, params = node_kernel(name, node, ops)
        inputs: dict[str, list[tuple[str, int]]] = {port: [] for port in node.ports}
        for e in graph.in_edges(name):
            inputs[e.port].append((e.src, e.delay))
        plans.append(NodePlan(name, node, fn, params, inputs, graph.max_delay(name)))
    return Program(graph, dtype, plans, list(graph.inputs), list(graph.outputs))


# -- the step traced once into straight-line code (the whole-sequence loop's kernels) -------------------------------

class _Untraceable(Exception):
    """The step did something with a value other than passing it to an op."""


class _Sym:
    """A value in a traced step: the name of a local of the generated kernel; any use but an op's argument fails."""

    __slots__ = ("name",)
    __array_ufunc__ = None  # NumPy ufuncs on it raise TypeError instead of making object arrays

    def __init__(self, name: str):
        self.name = name

    def __array__(self, *args, **kwargs):
        raise _Untraceable(self.name)

    def __bool__(self):
        raise _Untraceable(self.name)

    def __iter__(self):
        raise _Untraceable(self.name)

    def __getitem__(self, key):
        raise _Untraceable(self.name)

    def _compare(self, other):
        raise _Untraceable(self.name)  # (== would otherwise answer by identity, silently)

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _compare
    __hash__ = object.__hash__


class _TraceOps:
    """Records each op applied to a traced value; an op on constants only (parameters) is computed once, here."""

    def __init__(self, ops, prefix: str = ""):
        self._ops, self.lines, self.env, self.prefix = ops, [], {}, prefix

    def _const(self, v) -> str:
        name = f"{self.prefix}c{len(self.env)}"
        self.env[name] = v
        return name

    def _arg(self, v) -> str:
        if isinstance(v, _Sym):
            return v.name
        if isinstance(v, (list, tuple)) and any(isinstance(a, _Sym) for a in v):
            raise _Untraceable("a traced value inside a container")
        return self._const(v)

    def __getattr__(self, name):
        real = getattr(self._ops, name)
        if name == "fx" or not callable(real):
            if name == "fx":
                raise _Untraceable("fixed-point helpers")
            return real

        def record(*args, **kwargs):
            if not any(isinstance(a, _Sym) for a in (*args, *kwargs.values())):
                return real(*args, **kwargs)  # parameters only: folded into a constant
            fn = self._const(real)
            parts = [self._arg(a) for a in args] + [f"{k}={self._arg(v)}" for k, v in kwargs.items()]
            out = _Sym(f"{self.prefix}t{len(self.lines)}")
            self.lines.append(f"{out.name} = {fn}({', '.join(parts)})")
            return out
        return record


@dataclass
class Trace:
    """One node's step as straight-line Python on named locals (every name starts with `prefix`)."""

    lines: list[str]  # the ops in the step's order, one assignment each
    env: dict[str, Any]  # the constants they name: parameters, values folded from parameters, the ops
    states: dict[str, str]  # state -> the local holding its value at t−1
    inputs: dict[str, str]  # port -> the local holding its summed input
    new: dict[str, str]  # state -> the local (or constant) holding its new value
    out: str  # the local (or constant) holding the output


def trace_step(node: Primitive, ops: NumpyOps, params, ports=None, prefix: str = "") -> Trace | None:
    """`node.step` on `params` traced into a Trace, or None when it cannot be traced (see traced_kernel)."""
    if node.integer:
        return None
    tr = _TraceOps(ops, prefix)
    st = {k: _Sym(f"{prefix}s_{i}") for i, k in enumerate(node.states)}
    ports = list(node.ports if ports is None else ports) or ["x"]
    inp = {k: _Sym(f"{prefix}x_{i}") for i, k in enumerate(ports)}
    try:
        out, new = node.step(tr, params, dict(st), dict(inp))
    except Exception:  # noqa: BLE001  (a value inspected: the plain kernel runs it, and raises what it raises)
        return None
    if not isinstance(new, dict) or new.keys() != set(node.states):
        return None  # step_kernel names the mismatch
    try:
        new_names = {k: tr._arg(v) for k, v in new.items()}
        out_name = tr._arg(out)
    except _Untraceable:
        return None
    return Trace(tr.lines, tr.env, {k: v.name for k, v in st.items()}, {k: v.name for k, v in inp.items()},
                 new_names, out_name)


def traced_kernel(name: str, node: Primitive, ops: NumpyOps, params, ports=None) -> Kernel | None:
    """`node.step` on `params` as one generated function of (states, inputs), or None when it cannot be traced.

    `ports` are the input ports the kernel will be given (the wired ones; default all of the node's): the
    trace sees exactly those, so a step that treats an unwired port differently is traced as it will run.

    The same ops in the same order as the step (results identical), without its Python between them: the
    operations on parameters alone are computed once, the node's control flow (on its own fields) is resolved.
    Fixed-point steps (ops.fx on values) and steps that inspect values are left to step_kernel.
    """
    tr = trace_step(node, ops, params, ports)
    if tr is None:
        return None
    head = [f"{v} = st[{k!r}]" for k, v in tr.states.items()] + [f"{v} = inp[{k!r}]" for k, v in tr.inputs.items()]
    tail = [f"st[{k!r}] = {v}" for k, v in tr.new.items()] + [f"return {tr.out}"]
    src = "def kernel(p, st, inp):\n" + "".join(f"    {line}\n" for line in head + tr.lines + tail)
    env = dict(tr.env)
    exec(compile(src, f"<snnc traced step of {name}>", "exec"), env)
    env["kernel"].source = src  # (what runs, for a reader and the tests)
    return env["kernel"]
