"""NIR's cycle rule: NIR edges carry no delay, so every zero-delay cycle gets one delay-1 edge (docs/nir.md)."""
from __future__ import annotations

from snnc.compiler.errors import GraphError


def break_cycles(order: list[str], edges: list[list], spiking_nodes: set[str]) -> list[list]:
    """Give one edge of each zero-delay cycle delay 1: the edge leaving the cycle's spiking node first by name.

    By name, not by position: NIR's HDF5 files list nodes alphabetically, so the
    rule must not depend on the order a graph was built in.
    """
    order = sorted(order)
    rank = {n: i for i, n in enumerate(order)}
    edges = [list(e) for e in edges]
    while True:
        cyc = _find_cycle(order, edges)
        if not cyc:
            return edges
        spk = [i for i in cyc if edges[i][0] in spiking_nodes]
        if not spk:
            path = " -> ".join([edges[i][0] for i in cyc] + [edges[cyc[0]][0]])
            raise GraphError(f"NIR graph: cycle {path} has no spiking neuron to carry its one-step delay (an algebraic loop)")
        edges[min(spk, key=lambda i: rank[edges[i][0]])][2] = 1


def _find_cycle(order: list[str], edges: list[list]) -> list[int]:
    """Indices of the edges of one zero-delay cycle ([] if none), searching in node order."""
    out: dict[str, list[int]] = {n: [] for n in order}
    for i, (s, d, delay) in enumerate(edges):
        if delay == 0:
            out[s].append(i)
    color, stack_edges = dict.fromkeys(order, 0), []
    for root in order:
        if color[root]:
            continue
        color[root], it = 1, [(root, iter(out[root]))]
        while it:
            node, rest = it[-1]
            i = next(rest, None)
            if i is None:
                color[node] = 2
                it.pop()
                if stack_edges:
                    stack_edges.pop()
                continue
            d = edges[i][1]
            if color[d] == 1:  # back edge: the cycle is the path from d to here plus this edge
                path = stack_edges + [i]
                start = next(k for k, j in enumerate(path) if edges[j][0] == d)
                return path[start:]
            if color[d] == 0:
                color[d] = 1
                stack_edges.append(i)
                it.append((d, iter(out[d])))
    return []
