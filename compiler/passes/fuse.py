"""fuse(graph): rewrite rules applied until nothing changes; reports op counts before and after.

Every rule keeps the outputs of the graph exactly (up to float rounding for the
float rules; the integer rules are bit-exact). A rule only removes an edge that
has delay 0 when the removed node maps zero to something nonzero (a bias or a
shift), because a delayed edge delivers zeros, not the node's value of zero,
before its first step.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from snnc.compiler.ir import Edge, Graph
from snnc.compiler.passes.common import record, type_name
from snnc.compiler.primitives import ALIF, LI, LIF, CubaLIF, Dense
from snnc.compiler.fixedpoint import lava_weights
from snnc.compiler.primitives.loihi_dense import LoihiDense
from snnc.compiler.primitives.quantized import Affine

Rule = Callable[[Graph], bool]
SYNAPSES = ("Dense", "LoihiDense", "Int8Dense")


def _only_user(g: Graph, name: str) -> str | None:
    """The single destination of `name`'s only out-edge (None if several, none, or `name` is an output)."""
    outs = g.out_edges(name)
    return outs[0].dst if len(outs) == 1 and name not in g.outputs else None


def _drop(g: Graph, name: str) -> None:
    del g.nodes[name]
    g.edges = [e for e in g.edges if name not in (e.src, e.dst)]


def _resource(g: Graph, old: str, new: str) -> None:
    """Edges leaving `old` now leave `new`; an output `old` becomes `new`."""
    g.edges = [Edge(new, e.dst, e.port, e.delay) if e.src == old else e for e in g.edges]
    g.outputs = [new if o == old else o for o in g.outputs]


# x unused by any output -> ∅   (graph inputs stay: they are the interface)
def dead_nodes(g: Graph) -> bool:
    live, stack = set(), [g.output_ref(o)[0] for o in g.outputs]  # a state output `node.v` keeps its node
    while stack:
        n = stack.pop()
        if n not in live:
            live.add(n)
            stack.extend(e.src for e in g.in_edges(n))
    dead = [n for n in g.nodes if n not in live and n not in g.inputs]
    for n in dead:
        _drop(g, n)
    return bool(dead)


def _is_identity(node) -> bool:
    if isinstance(node, Affine):
        return bool(np.all(node.scale == 1) and np.all(node.shift == 0))
    if isinstance(node, Dense):
        return node.W.shape[0] == node.W.shape[1] and np.array_equal(node.W, np.eye(node.size)) and not np.any(node.b)
    if isinstance(node, LoihiDense):
        return int(node.weight_exp) == 0 and node.W.shape[0] == node.W.shape[1] and np.array_equal(node.W, np.eye(node.size, dtype=node.W.dtype))
    return False


# src -d1-> Id -d2-> dst  ->  src -(d1+d2)-> dst   (Id = Dense(I, 0), Affine(1, 0), LoihiDense(I, exp 0))
def identity_nodes(g: Graph) -> bool:
    for n, node in g.nodes.items():
        if n in g.outputs or not _is_identity(node):
            continue
        new = [Edge(i.src, o.dst, o.port, i.delay + o.delay) for i in g.in_edges(n) for o in g.out_edges(n)]
        keys = {(e.src, e.dst, e.port, e.delay) for e in g.edges if n not in (e.src, e.dst)}
        if len({(e.src, e.dst, e.port, e.delay) for e in new} | keys) != len(keys) + len(new):
            continue  # two paths would collapse into one duplicate edge
        _drop(g, n)
        g.edges.extend(new)
        return True
    return False


# Affine(s, c)(Dense(W, b)(x)) -> Dense(s·W, s·b + c)(x)   (eval batch norm / scale after a Dense)
def affine_into_upstream_dense(g: Graph) -> bool:
    for n, node in g.nodes.items():
        ins = g.in_edges(n)
        if not isinstance(node, Affine) or len(ins) != 1 or ins[0].delay:
            continue
        d = ins[0].src
        if isinstance(g.nodes[d], Dense) and _only_user(g, d) == n:
            D = g.nodes[d]
            g.nodes[d] = Dense(node.scale[:, None] * D.W, node.scale * D.b + node.shift)
            g.edges.remove(ins[0])
            _resource(g, n, d)
            del g.nodes[n]
            return True
    return False


# Dense(W, b)(Affine(s, c)(x)) -> Dense(W·diag(s), W·c + b)(x)   (input normalisation before a Dense)
def affine_into_downstream_dense(g: Graph) -> bool:
    for n, node in g.nodes.items():
        if not isinstance(node, Affine) or n in g.outputs:
            continue
        outs = g.out_edges(n)
        if not outs or any(e.delay or not isinstance(g.nodes[e.dst], Dense) for e in outs):
            continue
        ins = g.in_edges(n)
        for o in outs:
            D = g.nodes[o.dst]
            g.nodes[o.dst] = Dense(D.W * node.scale[None, :], D.W @ node.shift + D.b)
        _drop(g, n)
        g.edges.extend(Edge(i.src, o.dst, o.port, i.delay) for i in ins for o in outs)
        return True
    return False


def _gain_field(node) -> tuple[str, np.ndarray] | None:
    if isinstance(node, (LIF, LI, CubaLIF)):
        return "gain", node.gain
    if isinstance(node, ALIF):
        return "R", node.R
    return None


# LIF(gain=g)(Dense(W, b)) -> LIF(gain=1)(Dense(g·W, g·b))   (also LI, CubaLIF with i0·g, ALIF's R)
def gain_into_dense(g: Graph) -> bool:
    for n, node in g.nodes.items():
        gf = _gain_field(node)
        if gf is None or np.all(gf[1] == 1):
            continue
        srcs = [e.src for e in g.in_edges(n)]
        if not srcs or any(not isinstance(g.nodes[s], Dense) or _only_user(g, s) != n for s in srcs):
            continue
        k = gf[1]
        for s in srcs:
            D = g.nodes[s]
            g.nodes[s] = Dense(k[:, None] * D.W, k * D.b)
        extra = {"i0": node.i0 * k} if isinstance(node, CubaLIF) else {}
        g.nodes[n] = node.replace(**{gf[0]: np.ones_like(k)}, **extra)
        return True
    return False


def _mergeable(a, b) -> bool:
    if isinstance(a, Dense) and isinstance(b, Dense):
        return a.W.shape == b.W.shape
    if isinstance(a, LoihiDense) and isinstance(b, LoihiDense):
        # (A·x) << e + (B·x) << e == ((A + B)·x) << e only for e >= 0 (right shifts floor separately)
        if a.W.shape != b.W.shape or a.weight_exp != b.weight_exp or a.weight_exp < 0 or a.sign_mode != b.sign_mode:
            return False
        s = a.W + b.W
        return a.num_weight_bits == b.num_weight_bits and np.array_equal(lava_weights(s, a.sign_mode, int(a.num_weight_bits)), s)
    return False


# Dense(W1, b1)(x) + Dense(W2, b2)(x) -> Dense(W1 + W2, b1 + b2)(x)   (same sources, same destination port)
def merge_parallel_dense(g: Graph) -> bool:
    groups: dict[tuple, list[str]] = {}
    for n, node in g.nodes.items():
        if type_name(node) not in ("Dense", "LoihiDense") or n in g.outputs or len(g.out_edges(n)) != 1:
            continue
        o = g.out_edges(n)[0]
        key = (tuple(sorted((e.src, e.port, e.delay) for e in g.in_edges(n))), o.dst, o.port, o.delay)
        groups.setdefault(key, []).append(n)
    for names in groups.values():
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                A, B = g.nodes[a], g.nodes[b]
                if _mergeable(A, B):
                    g.nodes[a] = Dense(A.W + B.W, A.b + B.b) if isinstance(A, Dense) else A.replace(W=A.W + B.W)
                    _drop(g, b)
                    return True
    return False


# Dense(W2, b2)(Dense(W1, b1)(x)) -> Dense(W2·W1, W2·b1 + b2)(x)   (only when it does not add MACs)
def merge_dense_chain(g: Graph) -> bool:
    for n, node in g.nodes.items():
        ins = g.in_edges(n)
        if not isinstance(node, Dense) or len(ins) != 1 or ins[0].delay:
            continue
        d = ins[0].src
        D1 = g.nodes[d]
        if not isinstance(D1, Dense) or _only_user(g, d) != n:
            continue
        o, m, i = node.W.shape[0], node.W.shape[1], D1.W.shape[1]
        if o * i > o * m + m * i:
            continue
        g.nodes[n] = Dense(node.W @ D1.W, node.W @ D1.b + node.b)
        g.edges = [Edge(e.src, n, e.port, e.delay) if e.dst == d else e for e in g.edges if e is not ins[0]]
        del g.nodes[d]
        return True
    return False


# the rules, tried in this order until none applies
RULES: list[tuple[str, Rule]] = [
    ("dead_nodes", dead_nodes),
    ("identity_nodes", identity_nodes),
    ("affine_into_upstream_dense", affine_into_upstream_dense),
    ("affine_into_downstream_dense", affine_into_downstream_dense),
    ("gain_into_dense", gain_into_dense),
    ("merge_parallel_dense", merge_parallel_dense),
    ("merge_dense_chain", merge_dense_chain),
]


def op_counts(g: Graph) -> dict[str, int]:
    """Static per-step counts: nodes, edges, synaptic MACs (dense), neuron/elementwise updates."""
    syn = sum(int(np.prod(n.W.shape)) for n in g.nodes.values() if type_name(n) in SYNAPSES)
    upd = sum(n.size for n in g.nodes.values() if type_name(n) not in SYNAPSES + ("Input",))
    return {"nodes": len(g.nodes), "edges": len(g.edges), "synaptic_macs": syn, "neuron_updates": upd}


def fuse(graph: Graph, max_rounds: int = 10000) -> Graph:
    """A new graph with RULES applied to a fixed point; records rule counts and op counts."""
    g = graph.copy()
    before = op_counts(g)
    fired = {name: 0 for name, _ in RULES}
    for _ in range(max_rounds):
        for name, rule in RULES:
            if rule(g):
                fired[name] += 1
                break
        else:
            break
    g.inputs = [n for n in g.inputs if n in g.nodes]
    record(g, "fuse", rules={k: v for k, v in fired.items() if v}, ops_before=before, ops_after=op_counts(g))
    return g
