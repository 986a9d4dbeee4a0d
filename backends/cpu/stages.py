"""Cutting the schedule into stages for the node-major kernel: each stage runs its own loop over all T steps.

A node outside every cycle (a Dense, SPSN, LI, or a LIF whose only recurrence is its own state) reads
nothing from later steps of later nodes, so the nodes before a cut can run the whole sequence before the
nodes after it start: the stage's weights stay in cache over all T instead of sharing it with every
layer's weights at every step. A cut is placed before each weight-holding node where no edge crosses it
backwards (a recurrence) and no delayed edge crosses it at all (delay rings stay inside one stage).
"""
from __future__ import annotations

import numpy as np

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
