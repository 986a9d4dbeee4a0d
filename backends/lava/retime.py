"""Retiming for Lava's synaptic latency (DESIGN §5 "Lava timing").

Lava's Dense sends the accumulation of step t−1 before it receives at t, so
every Dense hop delays its signal by one step. Give each IR node a latency L
(its Lava output at step t is its reference output at t − L). An edge X → Y with
IR delay d that crosses h Dense hops in Lava needs k = L_Y + d − L_X − h ≥ 0
extra steps of delay; the smallest latencies satisfying every edge are longest
paths with edge weight h − d. A cycle whose hops exceed its delays has no
solution: Lava cannot run it as the reference does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from snnc.compiler.errors import LoweringError
from snnc.compiler.ir import Edge, Graph


@dataclass(frozen=True)
class Timing:
    """Per-node latencies, per-edge compensating delays, and the latency the outputs carry."""

    latency: dict[str, int]  # node -> Lava steps behind the reference
    extra: dict[Edge, int]  # edge -> compensating delay to insert (>= 0)
    hops: dict[Edge, int]  # edge -> Dense hops Lava adds on it

    @property
    def output_latency(self) -> int:
        return max(self.latency.values(), default=0)

    def summary(self, graph: Graph) -> str:
        outs = ", ".join(f"{o} {self.latency[graph.output_ref(o)[0]]}" for o in graph.outputs)
        ins = sum(1 for k in self.extra.values() if k)
        return f"Lava latency per output: {outs}; {ins} compensating delay(s) inserted"


def retime(graph: Graph, hops: Callable[[Edge], int]) -> Timing:
    """Minimal latencies with L >= 0 and L_dst >= L_src + hops(e) − e.delay for every edge."""
    h = {e: int(hops(e)) for e in graph.edges}
    lat = {n: 0 for n in graph.nodes}
    for _ in range(len(graph.nodes) + 1):
        changed = False
        for e in graph.edges:
            need = lat[e.src] + h[e] - e.delay
            if need > lat[e.dst]:
                lat[e.dst], changed = need, True
        if not changed:
            break
    else:
        cyc = _positive_cycle(graph, h)
        raise LoweringError(cyc[0], type(graph.nodes[cyc[0]]).__name__, "loihi",
                            "the cycle " + " -> ".join(cyc + cyc[:1]) + " has more Dense hops than delay steps, "
                            "so Lava's one-step synaptic latency cannot be compensated; add delay to its recurrent edge")
    extra = {e: lat[e.dst] + e.delay - lat[e.src] - h[e] for e in graph.edges}
    assert all(k >= 0 for k in extra.values())
    return Timing(lat, extra, h)


def _positive_cycle(graph: Graph, h: dict[Edge, int]) -> list[str]:
    """A cycle with positive total weight (hops − delay), found by Bellman-Ford predecessor walking."""
    lat = {n: 0 for n in graph.nodes}
    pred: dict[str, str] = {}
    last = None
    for _ in range(len(graph.nodes) + 1):
        last = None
        for e in graph.edges:
            if lat[e.src] + h[e] - e.delay > lat[e.dst]:
                lat[e.dst] = lat[e.src] + h[e] - e.delay
                pred[e.dst] = e.src
                last = e.dst
    n = last or next(iter(graph.nodes))
    for _ in range(len(graph.nodes)):  # walk back into the cycle
        n = pred.get(n, n)
    cyc, m = [n], pred.get(n, n)
    while m != n and len(cyc) <= len(graph.nodes):
        cyc.append(m)
        m = pred.get(m, n)
    return cyc[::-1]
