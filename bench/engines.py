"""Peers for the benchmark that run the same primitive `step` definitions: a minimal PyTorch loop and JAX lax.scan.

Both walk the graph's schedule with the step contract's vocabulary mapped onto
torch / jax.numpy, so they compute the reference model and differ from snnc's
runtimes only in the engine. Delayed edges keep the last d outputs per node.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from snnc.compiler.ir import Graph


class _Ops:
    """The step vocabulary over an array module `xp` (torch or jax.numpy)."""

    def __init__(self, xp, dtype, matmul, concat, sigmoid, cast, softmax):
        self.xp, self.dtype = xp, dtype
        self._matmul, self._concat, self._sig, self._cast, self._softmax = matmul, concat, sigmoid, cast, softmax
        self.add, self.sub, self.mul, self.div = (lambda a, b: a + b), (lambda a, b: a - b), (lambda a, b: a * b), \
            (lambda a, b: a / b)
        self.neg, self.exp, self.tanh = (lambda a: -a), xp.exp, xp.tanh
        self.maximum, self.minimum = xp.maximum, xp.minimum

    def sigmoid(self, a): return self._sig(a)
    def matmul(self, x, W): return self._matmul(x, W)
    def concat(self, *xs): return self._concat(xs)
    def slice(self, a, start, stop): return a[:, start:stop]
    def greater(self, a, b): return a > b
    def less(self, a, b): return a < b
    def where(self, c, a, b): return self.xp.where(c, a, b)
    def clip(self, a, lo, hi): return self.xp.clip(a, lo, hi)
    def round(self, a): return self.xp.round(a)
    def heaviside(self, a, b): return self._cast(a > b)
    def cast(self, m): return self._cast(m)
    def softmax(self, a): return self._softmax(a)


def _prepared(graph: Graph, name: str, dtype) -> dict[str, Any]:
    from snnc.compiler.primitives.ops import prepared
    return dict(prepared(graph.nodes[name], np.dtype(dtype)).items())


def _plan(graph: Graph):
    order = graph.schedule()
    ins = {n: [(e.src, e.port, e.delay) for e in graph.in_edges(n)] for n in order}
    hist = {n: graph.max_delay(n) for n in order if graph.max_delay(n) > 0}
    return order, ins, hist


def torch_stepper(graph: Graph, dtype: str = "float32"):
    """(init(B) -> state, step(state, x_t) -> (state, outputs)) running each node's step on torch tensors."""
    import torch

    tdt = torch.float32 if dtype == "float32" else torch.float64
    ops = _Ops(torch, tdt, lambda x, W: x @ W.T, lambda xs: torch.cat(xs, 1), torch.sigmoid, lambda m: m.to(tdt),
               lambda a: torch.softmax(a, 1))
    order, ins, hist = _plan(graph)
    P = {}
    for n in order:
        if type(graph.nodes[n]).__name__ == "Input":
            continue
        P[n] = type("P", (), {k: (torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v)
                              for k, v in _prepared(graph, n, dtype).items()})
    return _stepper(graph, order, ins, hist, P, ops, lambda shape: torch.zeros(shape, dtype=tdt),
                    lambda v, B: torch.from_numpy(np.ascontiguousarray(v)).to(tdt).expand(B, -1).clone())


def jax_stepper(graph: Graph, dtype: str = "float32"):
    """The same on jax.numpy (pure: the state is a pytree of arrays)."""
    import jax
    import jax.numpy as jnp

    jdt = jnp.float32 if dtype == "float32" else jnp.float64
    ops = _Ops(jnp, jdt, lambda x, W: x @ W.T, lambda xs: jnp.concatenate(xs, 1), jax.nn.sigmoid,
               lambda m: m.astype(jdt), lambda a: jax.nn.softmax(a, axis=1))
    order, ins, hist = _plan(graph)
    P = {}
    for n in order:
        if type(graph.nodes[n]).__name__ == "Input":
            continue
        P[n] = type("P", (), {k: (jnp.asarray(v) if isinstance(v, np.ndarray) else v)
                              for k, v in _prepared(graph, n, dtype).items()})
    return _stepper(graph, order, ins, hist, P, ops, lambda shape: jnp.zeros(shape, jdt),
                    lambda v, B: jnp.broadcast_to(jnp.asarray(v, jdt), (B, v.shape[0])))


def _stepper(graph, order, ins, hist, P, ops, zeros, tile):
    def init(B: int) -> dict:
        st = {n: {k: tile(v, B) for k, v in graph.nodes[n].initial_state().items()} for n in order if n in P}
        hs = {n: tuple(zeros((B, graph.nodes[n].size)) for _ in range(d)) for n, d in hist.items()}
        return {"s": st, "h": hs}

    def step(state: dict, x_t: dict):
        cur, new_s = {}, {}
        for n in order:
            if n not in P:
                cur[n] = x_t[n]
                continue
            x = {}
            for src, port, d in ins[n]:
                v = cur[src] if d == 0 else state["h"][src][d - 1]
                x[port] = v if port not in x else x[port] + v
            out, ns = graph.nodes[n].step(ops, P[n], state["s"][n], x)
            cur[n] = out
            new_s[n] = {k: ns.get(k, v) for k, v in state["s"][n].items()}
        new_h = {n: (cur[n],) + state["h"][n][:-1] for n in hist}
        return {"s": new_s, "h": new_h}, {o: cur[o] for o in graph.outputs}
    return init, step
