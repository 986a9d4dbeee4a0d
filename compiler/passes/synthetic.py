"""A distance-dependent sparse SRNN held as real scipy.sparse matrices, for partitioning at scale.

`layers` recurrent layers of `n` neurons each: every neuron draws feed-forward
synapses from a window of `ff_window` neurons of the previous layer (the input
for the first) centred on its relative position, recurrent synapses from a
window of `rec_window` neurons of its own layer, each present with probability
`density`, plus `long_range` uniformly random synapses from the layer two back.
Every projection is a CSR matrix [n_dst, n_src] of booleans, built in chunks
without sorting, so 100M synapses take about 1 GB and a few seconds.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.passes.partition_model import Network, Population, Projection


def _csr(rows: np.ndarray, cols: np.ndarray, n_dst: int, n_src: int):
    """CSR from row-sorted (row, col) pairs, without copying through COO."""
    import scipy.sparse as sp

    indptr = np.zeros(n_dst + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_dst), out=indptr[1:])
    return sp.csr_matrix((np.ones(len(cols), bool), cols.astype(np.int32), indptr), shape=(n_dst, n_src))


def window_projection(n_dst: int, n_src: int, window: int, density: float, rng: np.random.Generator,
                      chunk: int = 20_000):
    """Each destination neuron connects to each source of its centred window with probability `density`."""
    rows, cols = [], []
    offsets = np.arange(window) - window // 2
    for a in range(0, n_dst, chunk):
        b = min(n_dst, a + chunk)
        centre = ((np.arange(a, b) + 0.5) * n_src / n_dst).astype(np.int64)
        # one random byte per candidate synapse (density in steps of 1/256): a quarter of the cost of floats
        hit = rng.integers(0, 256, (b - a, window), dtype=np.uint8) < round(density * 256)
        r, k = np.nonzero(hit)  # row-major: rows ascending, no duplicates within a row
        c = centre[r] + offsets[k]
        keep = (c >= 0) & (c < n_src)
        rows.append(r[keep] + a)
        cols.append(c[keep])
    return _csr(np.concatenate(rows), np.concatenate(cols), n_dst, n_src)


def random_projection(n_dst: int, n_src: int, per_neuron: int, rng: np.random.Generator):
    """`per_neuron` uniformly random sources for every destination neuron (duplicates are possible but rare)."""
    rows = np.repeat(np.arange(n_dst), per_neuron)
    return _csr(rows, rng.integers(0, n_src, rows.size), n_dst, n_src)


def sparse_srnn(layers: int = 10, n: int = 100_000, n_in: int = 10_000, ff_window: int = 240, rec_window: int = 156,
                density: float = 0.25, long_range: int = 1, rates: tuple[float, float] = (0.05, 0.02),
                seed: int = 0) -> Network:
    """The network as partition sees it: populations with firing rates, projections as CSR matrices."""
    rng = np.random.default_rng(seed)
    pops = {"input": Population("input", n_in, rate=rates[0], external=True)}
    projs = []
    for i in range(layers):
        name, prev = f"layer{i}", ("input" if i == 0 else f"layer{i - 1}")
        pops[name] = Population(name, n, rate=rates[1])
        projs.append(Projection(prev, name, pops[prev].size, n,
                                sparse=window_projection(n, pops[prev].size, ff_window, density, rng)))
        projs.append(Projection(name, name, n, n, sparse=window_projection(n, n, rec_window, density, rng)))
        if long_range:
            far = f"layer{i - 2}" if i >= 2 else "input"
            projs.append(Projection(far, name, pops[far].size, n,
                                    sparse=random_projection(n, pops[far].size, long_range, rng)))
    return Network(pops, projs)
