"""Lowering IR -> NumPy Program: the reference semantics of every primitive (DESIGN §3, §5).

`KERNELS[PrimitiveType]` is the rule table: a kernel takes the node's parameters
(cast to the program dtype), its state arrays [B, n] (updated in place) and the
summed inputs per port [B, in], and returns the node's output [B, n] for this
step. The runtime (`snnc.runtime.numpy.runtime`) executes the Program.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

import numpy as np

from snnc.compiler.errors import LoweringError, SnncError
from snnc.compiler.ir import Graph, Primitive
from snnc.compiler.primitives import ALIF, LI, LIF, CubaLIF, Dense, Input
from snnc.compiler.verify import verify

BACKEND = "numpy"
Kernel = Callable[[SimpleNamespace, dict, dict], np.ndarray]
KERNELS: dict[type, Kernel] = {}
# per-primitive parameter preparation (e.g. transposed weights); default: cast float arrays
PREPARE: dict[type, Callable[[Primitive, np.dtype], SimpleNamespace]] = {}


def kernel(*types: type) -> Callable[[Kernel], Kernel]:
    """Register a step kernel for one or more primitive types."""
    def deco(fn: Kernel) -> Kernel:
        for t in types:
            KERNELS[t] = fn
        return fn
    return deco


def default_params(node: Primitive, dtype: np.dtype) -> SimpleNamespace:
    """Float parameters cast to the program dtype; integers and scalars as they are."""
    ns = {}
    for k, v in node.params().items():
        ns[k] = v.astype(dtype) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
    return SimpleNamespace(**ns)


def _spike(x: np.ndarray) -> np.ndarray:
    """H(x) = 1 if x > 0 else 0 (strict), in x's dtype."""
    return (x > 0).astype(x.dtype)


def _reset(v: np.ndarray, s: np.ndarray, theta: np.ndarray, mode: str) -> np.ndarray:
    if mode == "zero":
        return v * (1 - s)
    if mode == "subtract":
        return v - theta * s
    return v


@kernel(Input)
def _input(p, st, inp):  # the runtime feeds x[t] through inp["x"]
    return inp["x"]


@kernel(Dense)
def _dense(p, st, inp):
    return inp["in"] @ p.Wt + p.b


def _prepare_dense(node: Dense, dtype: np.dtype) -> SimpleNamespace:
    p = default_params(node, dtype)
    p.Wt = np.ascontiguousarray(p.W.T)
    return p


PREPARE[Dense] = _prepare_dense


@kernel(LIF)
def _lif(p, st, inp):
    v = p.alpha * st["v"] + p.gain * inp["in"]
    s = _spike(v - p.theta)
    st["v"] = _reset(v, s, p.theta, p.reset)
    return s


@kernel(CubaLIF)
def _cuba(p, st, inp):
    i = p.alpha_syn * st["i"] + inp["in"]
    v = p.alpha_mem * st["v"] + p.gain * i + p.bias
    s = _spike(v - p.theta)
    st["i"] = i
    st["v"] = _reset(v, s, p.theta, p.reset)
    return s


@kernel(ALIF)
def _alif(p, st, inp):
    s_prev = st["s"]
    b = p.rho * st["b"] + (1 - p.rho) * s_prev
    B = p.b0 + p.beta * b
    v = p.alpha * st["v"] + (1 - p.alpha) * p.R * inp["in"] - B * s_prev
    s = _spike(v - B)
    st["b"], st["v"], st["s"] = b, v, s
    return s


@kernel(LI)
def _li(p, st, inp):
    v = p.alpha * st["v"] + p.gain * inp["in"]
    st["v"] = v
    return v


@dataclass
class NodePlan:
    """Everything the runtime needs to evaluate one node per step."""

    name: str
    node: Primitive
    kernel: Kernel
    params: SimpleNamespace
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
    plans = []
    for name in graph.schedule():
        node = graph.nodes[name]
        fn = KERNELS.get(type(node))
        if fn is None:
            raise LoweringError(name, type(node).__name__, BACKEND)
        params = PREPARE.get(type(node), default_params)(node, dtype)
        inputs: dict[str, list[tuple[str, int]]] = {port: [] for port in node.ports}
        for e in graph.in_edges(name):
            inputs[e.port].append((e.src, e.delay))
        plans.append(NodePlan(name, node, fn, params, inputs, graph.max_delay(name)))
    return Program(graph, dtype, plans, list(graph.inputs), list(graph.outputs))

import snnc.backends.numpy.family_kernels  # noqa: E402,F401  (registers the seed-family kernels)
import snnc.backends.numpy.quantized_kernels  # noqa: E402,F401  (Int8Dense, Affine)
import snnc.backends.numpy.fixed_steps  # noqa: E402,F401  (Loihi fixed point: the primitives' own integer steps)
