"""Parallel in time: the nodes that no spike or reset feeds back into, computed for all T steps at once.

The prefix of a graph that depends only on its inputs, through stateless nodes
(Dense chains) and neurons whose states are linear recurrences s_t = a·s_{t−1} + u_t
(LI; SPSN's i and v, no reset), is evaluated before the step loop: a stateless
node's step runs once on [T·B, in]; a linear state's drive u_t is what the
node's own step returns with that state's previous value set to zero, and the
recurrence is solved in closed form per chunk, s_t = a^t·(s_0 + Σ_{k≤t} a^{−k}·u_k),
with chunks short enough that a^{−k} stays finite. The node's step then runs
once more on the shifted state sequences for its output, so outputs come from
the single primitive definition. The step loop only runs what is left.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import Graph

# primitive -> its linear states in dependency order, each with the parameter holding its decay a
LINEAR_STATES: dict[str, tuple[tuple[str, str], ...]] = {
    "LI": (("v", "alpha"),),
    "SPSN": (("i", "alpha"), ("v", "beta")),
}
MIN_STEPS = 32  # below this the step loop is as fast


def prefix(graph: Graph) -> list[str]:
    """Non-input nodes computable for the whole sequence before the step loop, in schedule order."""
    done, out = set(graph.inputs), []
    for n in graph.schedule():
        node = graph.nodes[n]
        prim = type(node).__name__
        if n in done or prim == "EarlyExit" or any(e.src not in done for e in graph.in_edges(n)):
            continue
        if node.states and not linear(node):
            continue
        done.add(n)
        out.append(n)
    return out


def linear(node) -> bool:
    """A float neuron whose states are all linear recurrences with decays in (0, 1]: scan() solves them."""
    prim = type(node).__name__
    return (prim in LINEAR_STATES and not node.integer
            and all(np.all(getattr(node, a) > 0) for _, a in LINEAR_STATES[prim]))


def worthwhile(graph: Graph, names: list[str], T: int) -> bool:
    """Take the parallel path when it removes a recurrence (not only input projections) and T is long enough."""
    return T >= MIN_STEPS and any(graph.nodes[n].states for n in names)


def scan(a: np.ndarray, u: np.ndarray, s0: np.ndarray) -> np.ndarray:
    """s_t = a·s_{t−1} + u_t for t = 0..T−1 (s_{−1} = s0), u [T, B, n], a [n] in (0, 1], in float64."""
    a = np.asarray(a, np.float64)
    u = np.asarray(u, np.float64)
    T = u.shape[0]
    amin = float(a.min())
    # a^{-L} <= 1e100: the rescaled running sums stay far from overflow
    L = T if amin >= 1.0 else int(max(1, min(T, np.floor(100 * np.log(10) / -np.log(amin)))))
    pw = a[None, None, :] ** np.arange(1, L + 1, dtype=np.float64)[:, None, None]  # [L, 1, n]: a^1 .. a^L
    out = np.empty_like(u)
    carry = np.broadcast_to(np.asarray(s0, np.float64), u.shape[1:])
    for c in range(0, T, L):
        uc = u[c:c + L]
        p = pw[:uc.shape[0]]
        out[c:c + uc.shape[0]] = p * (carry + np.cumsum(uc / p, axis=0))
        carry = out[c + uc.shape[0] - 1]
    return out


def _shift(seq: np.ndarray, d: int, first=None) -> np.ndarray:
    """seq delayed by d steps: zeros (or `first` broadcast) before step d."""
    if d == 0:
        return seq
    out = np.empty_like(seq)
    out[:d] = 0 if first is None else first
    out[d:] = seq[:-d]
    return out


def run(graph: Graph, names: list[str], xs: dict[str, np.ndarray], dtype, ops, params: dict) -> tuple[dict, dict]:
    """({node: output [T, B, n]}, {node: {state: [T, B, n]}}) of `names`, given the sequences [T, B, F] of
    every node they read (the graph inputs, or nodes already computed).

    `ops` is the NumPy op vocabulary and `params[node]` the node's prepared parameters (as the step loop uses).
    """
    seqs = dict(xs)
    states: dict[str, dict[str, np.ndarray]] = {}
    T, B = next(iter(xs.values())).shape[:2]
    for n in names:
        node = graph.nodes[n]
        flat = lambda a: a.reshape(T * B, a.shape[-1])  # noqa: E731  (steps are elementwise in the batch axis)
        x = {}
        for e in graph.in_edges(n):
            v = _shift(seqs[e.src], e.delay)
            x[e.port] = v if e.port not in x else x[e.port] + v
        x = {k: flat(v) for k, v in x.items()}
        p = params[n]
        init = {k: np.broadcast_to(v.astype(dtype), (B, v.shape[0])) for k, v in node.initial_state().items()}
        known: dict[str, np.ndarray] = {}
        for var, decay in LINEAR_STATES.get(type(node).__name__, ()):
            prev = {k: flat(_shift(known[k], 1, init[k]) if k in known else np.zeros((T, B, v.shape[1]), dtype))
                    for k, v in init.items()}
            _, new = node.step(ops, p, prev, x)  # with s_{t-1} = 0 for this state: its drive u_t
            u = np.asarray(new[var]).reshape(T, B, -1)
            known[var] = scan(getattr(p, decay), u, init[var]).astype(dtype)
        prev = {k: flat(_shift(known[k], 1, init[k])) for k in init}
        out, _ = node.step(ops, p, prev, x)
        seqs[n] = np.asarray(out).reshape(T, B, -1)
        if known:
            states[n] = known
    return {n: seqs[n] for n in names}, states
