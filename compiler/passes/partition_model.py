"""What `partition` sees of a network: populations and projections, exact or described statistically.

A projection is exact (a boolean connectivity mask taken from a Dense's nonzero
weights, or a scipy.sparse CSR matrix of a graph too large for dense arrays:
rows are destination neurons), random with a density, or banded (each destination neuron draws from
a window of `window` source neurons centred on its relative position, with a
density inside the window, like a 1-D convolution). The statistical kinds let
the benchmark describe 100M synapses without any matrix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snnc.compiler.ir import Graph

SYNAPSE_TYPES = ("Dense", "LoihiDense", "Int8Dense")


@dataclass
class Population:
    name: str
    size: int
    rate: float = 1.0  # spikes per neuron per step (1 when nothing was measured)
    external: bool = False  # fed by the host (graph inputs), not placed on cores


@dataclass
class Projection:
    """Synapses from population `src` into population `dst`."""

    src: str
    dst: str
    n_src: int
    n_dst: int
    mask: np.ndarray | None = None  # bool [n_dst, n_src] exact connectivity
    sparse: Any = None  # scipy.sparse CSR [n_dst, n_src]: exact connectivity without a dense matrix
    density: float = 1.0  # probability of a synapse (within the window when banded)
    window: int = 0  # > 0: banded connectivity
    _cum: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.mask is not None:
            self._cum = np.concatenate([[0], np.cumsum(self.mask.sum(1))])
        if self.sparse is not None:
            self._cum = np.asarray(self.sparse.indptr, np.int64)

    def _sources(self, a: int, b: int) -> np.ndarray:
        """bool [n_src]: source neurons with a synapse into destination neurons [a, b) (sparse projections)."""
        m = np.zeros(self.n_src, bool)
        m[self.sparse.indices[self.sparse.indptr[a]:self.sparse.indptr[b]]] = True  # a scatter, no sort
        return m

    def _win(self, a: int, b: int) -> tuple[int, int]:
        """Source interval [lo, hi) that destination neurons [a, b) of a banded projection draw from."""
        r = self.n_src / self.n_dst
        lo = math.floor(a * r - self.window / 2)
        hi = math.ceil((b - 1) * r + self.window / 2) + 1
        return max(0, lo), min(self.n_src, hi)

    def synapses(self, a: int, b: int) -> int:
        if self.mask is not None or self.sparse is not None:
            return int(self._cum[b] - self._cum[a])
        width = min(self.window, self.n_src) if self.window else self.n_src
        return int(round(self.density * width * (b - a)))

    def axons(self, a: int, b: int) -> int:
        """Distinct presynaptic neurons with a synapse into destination neurons [a, b)."""
        if self.mask is not None:
            return int(np.count_nonzero(self.mask[a:b].any(0)))
        if self.sparse is not None:
            return int(self._sources(a, b).sum())
        if self.window:
            lo, hi = self._win(a, b)
            return hi - lo
        return int(math.ceil(self.n_src * (1 - (1 - self.density) ** (b - a))))

    @staticmethod
    def union_axons(prs: list["Projection"], a: int, b: int) -> int:
        """Distinct presynaptic neurons of several projections from one source (exact when all are masks)."""
        if all(p.mask is not None or p.sparse is not None for p in prs):
            m = np.zeros(prs[0].n_src, bool)
            for p in prs:
                m |= p.mask[a:b].any(0) if p.mask is not None else p._sources(a, b)
            return int(m.sum())
        return min(prs[0].n_src, sum(p.axons(a, b) for p in prs))

    def fan_in(self) -> tuple[int, int]:
        """(max synapses, max presynaptic neurons) of a single destination neuron."""
        if self.mask is not None:
            m = int(self.mask.sum(1).max()) if self.mask.size else 0
            return m, m
        if self.sparse is not None:
            m = int(np.diff(self.sparse.indptr).max()) if self.n_dst else 0
            return m, m
        width = min(self.window, self.n_src) if self.window else self.n_src
        m = int(math.ceil(self.density * width))
        return m, m

    def reach(self, src: list[tuple[int, int]], dst: list[tuple[int, int]]) -> np.ndarray:
        """[len(src), len(dst)]: neurons of each source range with a synapse into each destination range."""
        out = np.zeros((len(src), len(dst)))
        for j, (a, b) in enumerate(dst):
            if self.mask is not None or self.sparse is not None:
                hit = self.mask[a:b].any(0) if self.mask is not None else self._sources(a, b)
                c = np.concatenate([[0], np.cumsum(hit)])
                out[:, j] = [c[s1] - c[s0] for s0, s1 in src]
            elif self.window:
                lo, hi = self._win(a, b)
                out[:, j] = [max(0, min(s1, hi) - max(s0, lo)) for s0, s1 in src]
            else:
                p = 1 - (1 - self.density) ** (b - a)
                out[:, j] = [math.ceil((s1 - s0) * p) for s0, s1 in src]
        return out


@dataclass
class Network:
    pops: dict[str, Population]
    projections: list[Projection]

    def into(self, dst: str) -> list[Projection]:
        return [p for p in self.projections if p.dst == dst]

    def max_neuron_need(self, dst: str, hw: dict) -> tuple[int, int]:
        """(synaptic memory bits, input axons) of the most demanding single neuron of `dst`."""
        prs = self.into(dst)
        bits = sum(p.fan_in()[0] for p in prs) * hw["bits_per_synapse"]
        ax = 0
        for src in {p.src for p in prs}:
            same = [p for p in prs if p.src == src]
            if len(same) > 1 and all(p.sparse is not None for p in same):
                import scipy.sparse as sp
                m = sum((p.sparse != 0).astype(np.int8) for p in same[1:]) + (same[0].sparse != 0).astype(np.int8)
                ax += int(np.diff(sp.csr_matrix(m).indptr).max()) if m.nnz else 0
            elif all(p.mask is not None for p in same):
                m = np.zeros_like(same[0].mask)
                for p in same:
                    m = m | p.mask
                ax += int(m.sum(1).max()) if m.size else 0
            else:
                ax += sum(p.fan_in()[1] for p in same)
        return bits, ax


def _mask_from(graph: Graph, name: str, memo: dict) -> dict[str, np.ndarray]:
    """{upstream non-synapse source: bool mask [size(name), size(source)]} of synapse node `name`."""
    if name in memo:
        return memo[name]
    W = np.asarray(graph.nodes[name].W) != 0
    out: dict[str, np.ndarray] = {}
    for e in graph.in_edges(name):
        src = graph.nodes[e.src]
        parts = {e.src: W} if type(src).__name__ not in SYNAPSE_TYPES else \
            {s: (W.astype(np.int64) @ m.astype(np.int64)) > 0 for s, m in _mask_from(graph, e.src, memo).items()}
        for s, m in parts.items():
            out[s] = out[s] | m if s in out else m
    memo[name] = out
    return out


def network_from_graph(graph: Graph, rates: dict[str, float] | None = None) -> Network:
    """Populations = every node that is not a synapse (Inputs external); projections from Dense masks."""
    rates = rates or {}
    pops = {}
    for n, node in graph.nodes.items():
        if type(node).__name__ not in SYNAPSE_TYPES:
            pops[n] = Population(n, node.size, rates.get(n, 1.0), type(node).__name__ == "Input")
    projs: list[Projection] = []
    memo: dict = {}
    for e in graph.edges:
        if e.dst not in pops:
            continue
        if e.src in pops:  # a direct, element-wise connection
            n = pops[e.dst].size
            projs.append(Projection(e.src, e.dst, pops[e.src].size, n, mask=np.eye(n, dtype=bool) if n <= 4096 else None,
                                    density=1.0, window=0 if n <= 4096 else 1))
            continue
        for s, m in _mask_from(graph, e.src, memo).items():
            projs.append(Projection(s, e.dst, pops[s].size, pops[e.dst].size, mask=m))
    return Network(pops, projs)
