"""Property: for every registered primitive and any activity, every count is non-negative and active <= total."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snnc.compiler.activity import Activity
from snnc.compiler.cost import FIELDS, count
from snnc.compiler.ir import PRIMITIVES, SPIKE, Graph
from snnc.compiler.primitives import Input

KINDS = sorted(n for n in PRIMITIVES if n != "Input")


def _graph(kind: str, spike_inputs: bool) -> Graph:
    node = PRIMITIVES[kind].example(4, np.random.default_rng(0))
    g = Graph()
    for port in node.ports:
        g.add(f"src_{port}", Input(node.in_size(port), SPIKE if spike_inputs and port != "noise" else "graded"))
        g.connect(f"src_{port}", "node", port)
    g.add("node", node)
    g.outputs = ["node"]
    return g


def _activity(g: Graph, rng: np.random.Generator, T: int, B: int, density: float, traced: bool) -> Activity:
    act = Activity(T, B, steps=rng.integers(0, T + 1, B))
    for name, node in g.nodes.items():
        mask = rng.random((T, B, node.size)) < density
        out = mask.astype(np.float64) if node.out_kind == SPIKE else mask * rng.normal(0, 1, mask.shape)
        act.nonzero[name] = np.count_nonzero(out, axis=2).astype(np.int64)
        act.kinds[name], act.sizes[name] = node.out_kind, node.size
        if traced or name.startswith("src_"):
            act.traces[name] = {"out": out}
    return act


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), T=st.integers(1, 12), B=st.integers(1, 4), density=st.floats(0, 1),
       traced=st.booleans(), spike_inputs=st.booleans())
def test_counts_are_non_negative_and_active_at_most_total(kind, seed, T, B, density, traced, spike_inputs):
    g = _graph(kind, spike_inputs)
    table = count(g, _activity(g, np.random.default_rng(seed), T, B, density, traced))
    for name, c in table.nodes.items():
        for f in FIELDS:
            assert np.all(np.asarray(c.get(f)) >= 0), f"{kind}: {name}.{f} = {c.get(f)}"
        assert np.all(np.asarray(c.active_updates) <= np.asarray(c.neuron_updates) + 1e-9), \
            f"{kind}: active_updates {c.active_updates} > neuron_updates {c.neuron_updates}"
        assert np.all(np.asarray(c.inactive_updates) >= -1e-9)
