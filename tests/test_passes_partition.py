"""partition never violates a core limit; unfittable graphs name the node and the limit; the pipeline."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from factories_passes import spikes, srnn
from snnc.compiler import pipeline
from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.passes.partition import load_hardware, partition
from snnc.compiler.primitives import LI, LIF, Dense, Input
from snnc.compiler.verify import verify

SMALL = {**load_hardware("loihi1"), "name": "tiny", "cores_per_chip": 4, "max_chips": 64}


def _random_graph(sizes: list[int], density: float, seed: int) -> Graph:
    r = np.random.default_rng(seed)
    g = Graph()
    g.add("x", Input(sizes[0], "spike"))
    prev = "x"
    for i, n in enumerate(sizes[1:]):
        W = r.normal(size=(n, g.nodes[prev].size)) * (r.random((n, g.nodes[prev].size)) < density)
        g.add(f"d{i}", Dense.of(W))
        g.add(f"p{i}", LIF(alpha=np.full(n, 0.9), gain=1.0, theta=1.0))
        g.connect(prev, f"d{i}")
        g.connect(f"d{i}", f"p{i}")
        if i % 2:
            g.add(f"r{i}", Dense.of(r.normal(size=(n, n)) * (r.random((n, n)) < density)))
            g.connect(f"p{i}", f"r{i}", delay=1)
            g.connect(f"r{i}", f"p{i}")
        prev = f"p{i}"
    g.outputs = [prev]
    return g


def _check_limits(g: Graph, hw: dict) -> None:
    """Recompute every core's load from the placement alone and compare with the limits."""
    pl = g.meta["placement"]
    core_of: dict[str, np.ndarray] = {}
    for n, p in pl.items():
        c = np.full(g.nodes[n].size, -1)
        for b in p["blocks"]:
            assert b["chip"] == b["core"] // hw["cores_per_chip"] and b["chip"] < hw["max_chips"]
            assert np.all(c[b["neurons"][0]:b["neurons"][1]] == -1)  # no neuron placed twice
            c[b["neurons"][0]:b["neurons"][1]] = b["core"]
        assert np.all(c >= 0), f"{n}: a neuron is not placed"
        core_of[n] = c
    load: dict[int, np.ndarray] = {}
    for c in np.unique(np.concatenate(list(core_of.values()))):
        load[int(c)] = np.zeros(4)
    for n, c in core_of.items():
        for k in np.unique(c):
            load[int(k)][0] += np.sum(c == k)
    for d, node in g.nodes.items():
        if type(node).__name__ != "Dense":
            continue
        dst = g.out_edges(d)[0].dst
        src = g.in_edges(d)[0].src
        M = node.W != 0
        for k in np.unique(core_of[dst]):
            rows = core_of[dst] == k
            load[int(k)][1] += M[rows].sum() * hw["bits_per_synapse"]
            load[int(k)][2] += M[rows].any(0).sum()
        if src in core_of:  # output axons: one per source neuron and destination core it reaches
            for k in np.unique(core_of[dst]):
                reach = M[core_of[dst] == k].any(0)
                for ks in np.unique(core_of[src][reach]):
                    load[int(ks)][3] += np.sum(reach & (core_of[src] == ks))
    lim = [hw[k] for k in ("neurons_per_core", "synaptic_memory_bits_per_core", "input_axons_per_core",
                           "output_axons_per_core")]
    for c, v in load.items():
        assert np.all(v <= lim), f"core {c}: load {v} exceeds {lim}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 120), min_size=2, max_size=4), density=st.floats(0.02, 1.0),
       npc=st.integers(8, 64), axons=st.integers(40, 200), mem=st.integers(400, 4000), seed=st.integers(0, 99))
def test_partition_never_violates_a_limit(sizes, density, npc, axons, mem, seed):
    hw = {**SMALL, "neurons_per_core": npc, "input_axons_per_core": axons, "output_axons_per_core": axons,
          "synaptic_memory_bits_per_core": mem}
    g = _random_graph(sizes, density, seed)
    try:
        p = partition(g, hw)
    except SnncError as e:
        assert "partition: " in str(e) and ("_per_core" in str(e) or "max_chips" in str(e))
        return
    verify(p)
    _check_limits(p, hw)
    assert set(p.meta["placement"]) == {n for n in g.nodes if n.startswith("p")}


def test_unfittable_graphs_name_node_and_limit():
    g = _random_graph([300, 20], 1.0, 0)
    with pytest.raises(SnncError, match="node 'p0'.*fan-in 300.*input_axons_per_core = 200"):
        partition(g, {**SMALL, "input_axons_per_core": 200})
    g = _random_graph([10, 100, 100], 0.5, 1)
    with pytest.raises(SnncError, match="max_chips = 2"):
        partition(g, {**SMALL, "neurons_per_core": 8, "max_chips": 2})


def test_srnn_on_loihi_and_activity_weighting():
    g = srnn(700, 128, 20)
    p = partition(g, "loihi1")
    assert p.meta["hardware"] == "loihi1" and set(p.meta["placement"]) == {"alif1", "out"}
    q = partition(g, "loihi1", calib=spikes(10, 2, 700, 0.05))
    rp, rq = p.meta["passes"][-1], q.meta["passes"][-1]
    assert rp["weighted_by"] == "connectivity" and rq["weighted_by"] == "measured activity"
    assert rq["traffic"]["from_host"] < rp["traffic"]["from_host"]  # 5 % input rate, not 1 spike per step
    json.dumps(q.meta)  # the placement is plain JSON


def test_hardware_files(tmp_path):
    with pytest.raises(SnncError, match="unknown hardware 'loihi3'.*loihi1, loihi2"):
        load_hardware("loihi3")
    f = tmp_path / "mychip.json"
    f.write_text(json.dumps({"base": "loihi1", "neurons_per_core": 64}))
    hw = load_hardware(str(f))
    assert hw["name"] == "mychip" and hw["neurons_per_core"] == 64 and hw["cores_per_chip"] == 128
    f.write_text(json.dumps({"neurons_per_core": -1}))
    with pytest.raises(SnncError, match="'neurons_per_core' must be a positive integer"):
        load_hardware(str(f))


def test_pipeline_apply_and_report():
    g = srnn(40, 32, 5)
    x = spikes(30, 4, 40, 0.1)
    q = pipeline.apply(g, "loihi", ["fuse", "partition"], "loihi2", x, np.arange(4) % 5)
    assert [r["name"] for r in q.meta["passes"]] == ["fuse", "quantize", "partition"]
    assert "passes" not in g.meta  # input untouched
    text = pipeline.report(q)
    for s in ("fuse: gain_into_dense", "LoihiALIF", "per-layer error", "accuracy of 'out'", "partition: hardware loihi2",
              "alif1: [0:32]@core0/chip0"):
        assert s in text, s
    with pytest.raises(SnncError, match="unknown pass 'fold'.*fuse, partition"):
        pipeline.apply(g, None, ["fold"])
    with pytest.raises(SnncError, match="unknown hardware 'tpu'"):
        pipeline.apply(g, None, ["partition"], "tpu")
    with pytest.raises(SnncError, match="unknown quantization scheme 'int4'"):
        pipeline.apply(g, "int4", [])
