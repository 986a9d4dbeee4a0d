"""One Loihi resource model: partition, inspect and report agree, including on a graph that does not fit."""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler import LIF, Dense, Graph, Input, SnncError
from snnc.compiler.passes.partition import partition, resource_summary


def _srnn(n_in: int, n_h: int, n_out: int, density: float = 0.05) -> Graph:
    rng = np.random.default_rng(0)
    W = lambda o, i: np.where(rng.random((o, i)) < density, rng.normal(0, 1, (o, i)), 0.0)  # noqa: E731
    g = Graph()
    g.add("x", Input(n_in, "spike"))
    g.add("fc1", Dense.of(W(n_h, n_in)))
    g.add("rec", Dense.of(W(n_h, n_h)))
    g.add("h", LIF(np.full(n_h, 0.9), np.ones(n_h), np.ones(n_h)))
    g.add("fc2", Dense.of(W(n_out, n_h)))
    g.add("o", LIF(np.full(n_out, 0.9), np.ones(n_out), np.ones(n_out)))
    for a, b, d in (("x", "fc1", 0), ("fc1", "h", 0), ("h", "rec", 1), ("rec", "h", 0), ("h", "fc2", 0), ("fc2", "o", 0)):
        g.connect(a, b, delay=d)
    g.outputs = ["o"]
    return g


def test_a_graph_that_does_not_fit_is_refused_by_partition_and_by_the_resource_table():
    g = _srnn(4000, 2000, 20, density=1.0)  # every hidden neuron has 6000 presynaptic neurons > 4096 input axons
    with pytest.raises(SnncError, match="input_axons_per_core = 4096"):
        partition(g, "loihi1")
    s = resource_summary(g, "loihi1")
    assert s["cores"] is None and "input_axons_per_core = 4096" in s["error"]


def test_resource_table_equals_the_partition_pass():
    g = _srnn(300, 2500, 20)
    s = resource_summary(g, "loihi1")
    p = partition(g, "loihi1")
    placed = p.meta["placement"]
    assert s["error"] is None
    assert {r["node"]: r["cores"] for r in s["rows"]} == {n: len(v["blocks"]) for n, v in placed.items()}
    cores = {b["core"] for v in placed.values() for b in v["blocks"]}
    assert s["cores"] == len(cores) == p.meta["passes"][-1]["cores"]
    h = next(r for r in s["rows"] if r["node"] == "h")
    assert h["neurons"] == 2500 and h["cores"] >= 3  # 2500 neurons > 1024 compartments per core
    assert h["synapses"] == int(np.count_nonzero(g.nodes["fc1"].W) + np.count_nonzero(g.nodes["rec"].W))
