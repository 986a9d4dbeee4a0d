"""Partitioning real sparse matrices: CSR projections equal dense masks, mesh hops, the sequential baseline."""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.passes.partition import load_hardware, partition_network
from snnc.compiler.passes.partition_model import Network, Projection
from snnc.compiler.passes.placement import hop_traffic, snake
from snnc.compiler.passes.synthetic import sparse_srnn


@pytest.fixture(scope="module")
def small():
    return sparse_srnn(layers=3, n=3000, n_in=600, ff_window=80, rec_window=40, density=0.25, seed=1)


def test_generator_builds_the_described_connectivity(small):
    ff, rec, far = small.projections[:3]
    assert ff.sparse.shape == (3000, 600) and rec.sparse.shape == (3000, 3000)
    per = np.diff(rec.sparse.indptr)
    assert abs(per.mean() - 0.25 * 40) < 0.5  # density x window synapses per neuron, minus the edges
    cols = rec.sparse.indices[rec.sparse.indptr[1500]:rec.sparse.indptr[1501]]
    assert np.all(np.abs(cols - 1500) <= 20) and len(set(cols)) == len(cols)  # inside the window, no duplicates
    assert np.all(np.diff(far.sparse.indptr) == 1)


def test_sparse_projections_partition_exactly_like_dense_masks(small):
    hw = load_hardware({**load_hardware("loihi1"), "name": "small", "neurons_per_core": 512,
                        "synaptic_memory_bits_per_core": 60_000})
    dense = Network(small.pops, [Projection(p.src, p.dst, p.n_src, p.n_dst, mask=p.sparse.toarray())
                                 for p in small.projections])
    a, b = partition_network(small, hw), partition_network(dense, hw)
    assert a["placement"] == b["placement"] and a["traffic"] == pytest.approx(b["traffic"])
    assert a["cores"] == b["cores"] > 6  # 9000 neurons at 512 per core, more where synaptic memory binds


def test_traffic_aware_placement_beats_the_sequential_baseline_between_chips(small):
    hw = load_hardware({**load_hardware("loihi1"), "name": "tiny", "neurons_per_core": 256, "cores_per_chip": 8,
                        "synaptic_memory_bits_per_core": 40_000})
    pass_, base = partition_network(small, hw, "traffic"), partition_network(small, hw, "sequential")
    assert pass_["chips"] >= 2
    assert pass_["traffic"]["between_chips"] <= base["traffic"]["between_chips"]
    assert sum(pass_["traffic"].values()) == pytest.approx(sum(base["traffic"].values()))  # same spikes, routed apart


def test_hops_are_manhattan_distances_on_the_global_mesh():
    hw = {"cores_per_chip": 4, "core_mesh": [2, 2]}
    xy = np.array([[0, 0], [1, 0], [1, 1], [3, 1]])  # core 3 sits on the second chip (x >= 2)
    t = hop_traffic({(0, 1): 2.0, (0, 2): 1.0, (0, 3): 0.5, (1, 1): 9.0}, xy, hw)
    assert t["hop_messages"] == 2.0 * 1 + 1.0 * 2 + 0.5 * 4  # the self-edge costs nothing
    assert t["chip_crossings"] == 0.5
    assert [snake(i, 3) for i in range(6)] == [(0, 0), (1, 0), (2, 0), (2, 1), (1, 1), (0, 1)]
