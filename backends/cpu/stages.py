"""Cutting the schedule into stages for the node-major kernel: each stage runs its own loop over all T steps.

A node outside every cycle (a Dense, SPSN, LI, or a LIF whose only recurrence is its own state) reads
nothing from later steps of later nodes, so the nodes before a cut can run the whole sequence before the
nodes after it start: the stage's weights stay in cache over all T instead of sharing it with every
layer's weights at every step. A cut is placed before each weight-holding node where no edge crosses it
backwards (a recurrence) and no delayed edge crosses it at all (delay rings stay inside one stage).
A Dense reading an earlier stage's output can then run as one product over the whole sequence (`hoist`).
"""
from __future__ import annotations

import importlib.util

import numpy as np

from snnc.backends.cpu.emit import Sink
from snnc.backends.cpu.symbolic import Sym
from snnc.compiler.ir import Graph


def cuts(graph: Graph, order: list[str]) -> list[list[str]] | None:
    """`order` cut into stages (contiguous, in schedule order), or None where one loop over T is all there is."""
    if any(type(graph.nodes[n]).__name__ == "EarlyExit" for n in order):
        return None  # a decided sample stops every node at once: one loop
    pos = {n: k for k, n in enumerate(order)}
    edges = [(pos[e.src], pos[e.dst], e.delay) for e in graph.edges if e.src in pos and e.dst in pos]
    stages: list[list[str]] = [[]]
    for p, name in enumerate(order):
        node = graph.nodes[name]
        weights = any(isinstance(v, np.ndarray) and v.ndim == 2 for v in node.params().values())
        # fc1 after the inputs: a stage of inputs alone would only count their nonzeros
        real = any(n not in graph.inputs for n in stages[-1])
        if weights and real and all(not (s >= p > d) and not (d_ > 0 and s < p <= d) for s, d, d_ in edges):
            stages.append([])
        stages[-1].append(name)
    return stages if len(stages) > 1 else None


DENSE_PRODUCT = 4  # one product over all T where more than 1/4 of the inputs are nonzero (see _hoist)


def hoist(values: list[Sym], sinks: list[Sink], hoisted: list[str]):
    """The stage's one matmul over an earlier stage's output, as one product over the whole sequence.

    Returns (code before the stage, its condition, values, sinks) of the variant reading that product, or
    None. Per sample the kernel takes it when more than 1/DENSE_PRODUCT of the sequence is nonzero (from the
    source's activity counts): BLAS at 50 % spikes takes 1.7 µs per step for 256x256 against 2.9 µs for the
    event-driven sums (bench ff-spsn); sparser inputs keep the step loop's own matmul. PATHS[b, i] records it.
    """
    cands = [v for v in values if v.op == "matmul" and v.meta["W"][0] == "PF" and v.args[0].kind == "f"
             and v.args[0].op == "ew" and v.args[0].code == "{0}" and v.args[0].args[0].op == "leaf"
             and "seq" in v.args[0].args[0].meta]
    # numba's np.dot calls scipy's BLAS: without scipy every product stays event-driven
    if importlib.util.find_spec("scipy") is None or len(cands) != 1 or sum(1 for v in values if v.op == "matmul" and v.args[0] is cands[0].args[0]) != 1:
        return None
    v = cands[0]
    x, src = v.args[0], v.args[0].args[0]
    wbuf, woff, n_in, n_out = v.meta["W"]
    h, i, nz = f"HQ{v.id}", len(hoisted), f"nz{v.id}"
    pre = [f"{nz} = 0",
           "for t in range(T):",
           f"    {nz} += NZ[t, b, {src.meta['nz']}]",
           f"PATHS[b, {i}] = {nz} * {DENSE_PRODUCT} > T * {n_in}",
           f"if PATHS[b, {i}]:",
           f"    {h} = np.dot({src.meta['seq']}, PF[{woff}:{woff + n_in * n_out}].reshape(({n_in}, {n_out})))",
           "else:",
           f"    {h} = np.zeros((1, {n_out}), DT)"]  # one type for numba on both branches
    hoisted.append(v.owner)
    leaf = _copy(v, op="leaf", args=(), code=f"{h}[t, {{j}}]", meta={})  # in the matmul's place (and id)
    swap = {v.id: leaf}
    values2 = []
    for u in values:  # the matmul's readers read the product's row t
        if u is v:
            values2.append(leaf)
            continue
        if any(a.id in swap for a in u.args):
            u = swap[u.id] = _copy(u, args=tuple(swap.get(a.id, a) for a in u.args))
        values2.append(u)
    sinks2 = []
    for sk in sinks:
        if sk.kind == "events" and sk.value is x and not sk.after:
            continue  # nothing reads that index list any more
        if sk.value.id in swap or (sk.state is not None and sk.state.id in swap):
            sk = Sink(swap.get(sk.value.id, sk.value), sk.kind, sk.code, sk.after,
                      swap.get(sk.state.id, sk.state) if sk.state is not None else None, sk.name)
        sinks2.append(sk)
    return pre, f"PATHS[b, {i}]", values2, sinks2


def _copy(u: Sym, **fields) -> Sym:
    """u with some fields replaced, under the same id (a variant of the DAG for a second emitter)."""
    w = Sym.__new__(Sym)
    w.__dict__.update(u.__dict__, **fields)
    return w
