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
