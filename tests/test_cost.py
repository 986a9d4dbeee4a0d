"""Op counts from activity: exact hand-computed counts, the event-driven identity, dense formulas, traffic."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import recurrent_graph, spikes

from snnc.compiler import LI, LIF, Dense, Graph, Input
from snnc.compiler.cost import COST_RULES, FIELDS, Cost, CostError, count
from snnc.compiler.energy import CELLS, layer_sizes, nonspiking_cost
from snnc.compiler.activity import Activity
from snnc.runtime.numpy.runtime import run

# the hand-counted graphs use memoryless neurons (alpha 0: v = gain·I), which verify accepts only with the opt-out
pytestmark = pytest.mark.usefixtures("memoryless")

W = np.array([[1.0, 0.0, 2.0],
              [0.0, 0.0, 3.0]])  # column nonzero fan-out: 1, 0, 2
# x[t, b, j]: sample 0 spikes per input neuron (2, 2, 2), sample 1 (1, 2, 1): 6 and 4 spikes
X = np.array([[[1, 1, 0], [0, 1, 0]],
              [[0, 0, 1], [0, 1, 0]],
              [[1, 1, 1], [0, 0, 0]],
              [[0, 0, 0], [1, 0, 1]]], dtype=np.float64)


def tiny(delay: int = 0) -> Graph:
    """x (3 spikes) -> fc (W, bias [0, 0.5]) -> n: LIF with v = I, s = H(v - 0.5), reset zero."""
    g = Graph()
    g.add("x", Input(3, "spike"))
    g.add("fc", Dense(W, np.array([0.0, 0.5])))
    g.add("n", LIF(alpha=0.0, gain=1.0, theta=0.5, v0=np.zeros(2)))
    g.connect("x", "fc", delay=delay)
    g.connect("fc", "n")
    g.outputs = ["n"]
    return g


def counts(g: Graph, x: np.ndarray, record: bool = True, steps=None):
    _, act = run(g, x, record=record)
    if steps is not None:
        act.steps = np.asarray(steps)
    return count(g, act)


def test_cost_is_frozen_and_adds_fieldwise():
    a, b = Cost(acs=1, spikes=2), Cost(acs=3, macs=4)
    s = a + b
    assert (s.acs, s.macs, s.spikes) == (4, 4, 2)
    assert (2 * s).acs == 8 and s.synaptic_ops == 8
    with pytest.raises(Exception):
        a.acs = 5


def test_hand_computed_counts():
    t = counts(tiny(), X)
    fc, n = t.nodes["fc"], t.nodes["n"]
    # sample 0: 2·1 + 2·0 + 2·2 = 6 accumulates; sample 1: 1·1 + 2·0 + 1·2 = 3
    assert list(fc.acs) == [6, 3] and list(fc.macs) == [0, 0]
    assert list(fc.weight_reads) == [6, 3]
    assert list(fc.dense_acs) == [24, 24]  # 4 steps x 6 weights, zeros included
    assert list(fc.update_acs) == [4, 4]  # one nonzero bias x 4 steps
    # LIF outputs: sample 0 spikes [1,0],[1,1],[1,1],[0,0]; sample 1 only [1,1] at t=3
    assert list(n.spikes) == [5, 2]
    assert list(n.neuron_updates) == [8, 8]
    assert list(n.update_macs) == [16, 16] and list(n.update_acs) == [8, 8]
    assert list(n.state_reads) == [8, 8] and list(n.state_writes) == [8, 8]
    # nonzero inputs (the 0.5 bias of neuron 1 is input too): 2+2+2+1 and 1+1+1+2
    assert list(n.active_updates) == [7, 5]
    assert list(t.nodes["x"].spikes) == [6, 4]
    tot = t.total()
    assert list(tot.acs) == [6, 3] and list(tot.spikes) == [11, 6]
    pi = t.per_inference(tot)
    assert pi.acs == 4.5 and pi.spikes == 8.5
    assert t.per_step(tot).acs == pytest.approx(9 / 8)


def test_delay_and_early_exit_mask_steps():
    # delay 1: x's spikes of steps 0..2 arrive at steps 1..3; sample 1's last-step spikes never arrive
    t = counts(tiny(delay=1), X)
    assert list(t.nodes["fc"].acs) == [6, 0 * 2 + 1 * 0]
    # sample 1 ran only 2 steps: its spikes at t=0,1 hit input 1 (zero fan-out), nothing else counts
    t = counts(tiny(), X, steps=[4, 2])
    assert list(t.nodes["fc"].acs) == [6, 0]
    assert list(t.nodes["fc"].dense_acs) == [24, 12]
    assert list(t.nodes["n"].neuron_updates) == [8, 4]


def _events_by_loops(g: Graph, act: Activity, dense: str) -> np.ndarray:
    """Σ over edges, steps and source neurons of (nonzero input) x (nonzero fan-out), by plain loops."""
    W = g.nodes[dense].W
    out = np.zeros(act.batch)
    for e in g.in_edges(dense):
        tr = act.traces[e.src]["out"]
        for b in range(act.batch):
            for t in range(e.delay, int(act.steps[b])):
                for j in range(W.shape[1]):
                    if tr[t - e.delay, b, j] != 0:
                        out[b] += np.count_nonzero(W[:, j])
    return out


@pytest.mark.parametrize("kind", ["LIF", "ALIF", "CubaLIF"])
def test_event_driven_equals_spikes_times_nonzero_fanout(kind):
    g = recurrent_graph(kind, sizes=(7, 6, 3), seed=3)
    rng = np.random.default_rng(1)
    for name in ("fc1", "rec1", "fc2"):  # zero out a third of every weight matrix
        W = np.array(g.nodes[name].W)
        W[rng.random(W.shape) < 0.35] = 0
        W[:, 0] = 0  # one input with no synapse at all
        g.nodes[name] = g.nodes[name].replace(W=W)
    x = spikes(30, 3, 7, rate=0.4, seed=2)
    _, act = run(g, x, record=True)
    act.steps = np.array([30, 17, 1])
    t = count(g, act)
    for name in ("fc1", "rec1", "fc2"):
        np.testing.assert_array_equal(t.nodes[name].acs, _events_by_loops(g, act, name))
        assert np.all(t.nodes[name].acs <= t.nodes[name].dense_acs)
    assert t.nodes["fc1"].acs.sum() > 0 and t.nodes["rec1"].acs.sum() > 0  # the test exercises something


def test_dense_counts_follow_the_formula():
    g = recurrent_graph("LIF", sizes=(5, 4, 2))
    T, B = 9, 2
    t = counts(g, spikes(T, B, 5), record=False)
    for name in ("fc1", "rec1", "fc2"):
        W = g.nodes[name].W
        assert list(t.nodes[name].dense_acs) == [T * W.size] * B
    assert list(t.nodes["n1"].neuron_updates) == [T * 4] * B
    assert list(t.nodes["out"].update_macs) == [T * 2 * 2] * B  # LI: alpha·v and gain·I per neuron


def test_graded_inputs_count_macs():
    g = tiny()
    g.nodes["x"] = Input(3, "graded")
    x = X * 0.7
    t = counts(g, x)
    assert list(t.nodes["fc"].macs) == [6, 3] and list(t.nodes["fc"].acs) == [0, 0]
    assert list(t.nodes["fc"].dense_macs) == [24, 24]


def test_untraced_sources_assume_uniform_spread_and_say_so():
    g = tiny()
    t = counts(g, X, record=False)
    # 6 and 4 input spikes x mean fan-out (1 + 0 + 2) / 3 = 1
    assert list(t.nodes["fc"].acs) == [6, 4]
    assert any("uniformly" in n and "'x'" in n for n in t.notes)
    # with equal fan-out per column the estimate is exact
    g2 = tiny()
    g2.nodes["fc"] = Dense(np.array([[1.0, 2, 0], [0, 0, 3]]), np.zeros(2))
    exact, est = counts(g2, X, record=True), counts(g2, X, record=False)
    np.testing.assert_array_equal(exact.nodes["fc"].acs, est.nodes["fc"].acs)


def test_unknown_primitive_is_one_clear_error(monkeypatch):
    monkeypatch.delitem(COST_RULES, LIF)
    import snnc.compiler.cost as cost_module
    monkeypatch.setattr(cost_module, "_from_step", lambda node, notes: None)  # (else counted from LIF's step)
    with pytest.raises(CostError, match=r"node 'n' \(LIF\): no cost rule"):
        counts(tiny(), X)


def test_every_registered_primitive_has_a_cost_rule_or_a_step():
    from snnc.compiler.ir import PRIMITIVES
    missing = [n for n, t in PRIMITIVES.items() if t not in COST_RULES and t.step is None]
    assert missing == [], f"primitives without a cost rule or a step to count: {missing}"


def test_spike_traffic_from_placement():
    g = Graph()
    g.add("x", Input(3, "spike"))
    g.add("fc", Dense(W, np.zeros(2)))
    g.add("n", LIF(alpha=0.0, gain=1.0, theta=0.5, v0=np.zeros(2)))
    g.add("fc2", Dense(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]), np.zeros(3)))
    g.add("out", LI(alpha=0.5, gain=np.ones(3)))
    for a, b in (("x", "fc"), ("fc", "n"), ("n", "fc2"), ("fc2", "out")):
        g.connect(a, b)
    g.outputs = ["out"]
    blk = lambda lo, hi, core, chip: {"neurons": [lo, hi], "core": core, "chip": chip}
    g.meta["placement"] = {"n": {"blocks": [blk(0, 1, 0, 0), blk(1, 2, 1, 0)]},
                           "out": {"blocks": [blk(0, 1, 0, 0), blk(1, 2, 1, 0), blk(2, 3, 0, 1)]}}
    _, act = run(g, X, record=True)
    s = act.traces["n"]["out"].sum(axis=0)  # [B, 2] spikes per neuron
    a, b = s[:, 0], s[:, 1]
    t = count(g, act)
    # n0 (core 0) reaches out0 (same core) and out1 (core 1); n1 (core 1) reaches out1 (same core), out2 (chip 1)
    np.testing.assert_array_equal(t.nodes["n"].spikes_core, a + b)
    np.testing.assert_array_equal(t.nodes["n"].spikes_chip, a)
    np.testing.assert_array_equal(t.nodes["n"].spikes_offchip, b)
    assert (a + b).sum() > 0
    _, act2 = run(g, X, record=False)
    t2 = count(g, act2)
    assert any("spike traffic assumes" in n for n in t2.notes)
    g.meta["placement"]["n"] = {"blocks": [{"neurons": [0, 1]}]}
    with pytest.raises(CostError, match="node 'n': malformed placement"):
        count(g, act)


def test_nonspiking_comparison_counts():
    g = recurrent_graph("ALIF", sizes=(10, 8, 3))
    assert layer_sizes(g) == [("n1", "hidden", 10, 8), ("out", "readout", 8, 3)]
    T = 20
    for cell, (k, um, ua, nl, ns) in CELLS.items():
        layers, tot = nonspiking_cost(g, cell, T)
        assert tot.macs == T * (k * 8 * (10 + 8) + 8 * 3)
        assert tot.update_macs == T * um * 8 and tot.nonlinear == T * nl * 8
    assert nonspiking_cost(g, "lstm", T)[1].macs == T * (4 * 8 * 18 + 24)


def test_fields_are_all_counted_per_sample():
    t = counts(tiny(), X)
    for c in t.nodes.values():
        for f in FIELDS:
            assert np.shape(getattr(c, f)) in ((), (2,))


def test_lstm_counts_by_hand():
    from snnc.compiler.ir import PRIMITIVES
    rng = np.random.default_rng(0)
    W_ih = rng.uniform(0.5, 1, (8, 2))
    W_ih[::2, 1] = 0  # input 1 reaches 4 of the 8 gate rows
    W_hh = np.zeros((8, 2))
    W_hh[:5, 0] = 0.3  # h0 reaches 5 rows, h1 none
    g = Graph()
    g.add("x", Input(2, "graded"))
    g.add("lstm", PRIMITIVES["LSTM"](W_ih, W_hh, np.zeros(8)))
    g.connect("x", "lstm")
    g.outputs = ["lstm"]
    x = np.array([[[1.0, 0]], [[0, 2.0]], [[3.0, 4.0]]])
    _, act = run(g, x, record=True)
    assert np.all(act.traces["lstm"]["out"][:2, 0, 0] != 0)
    c = count(g, act).nodes["lstm"]
    # W_ih: input 0 nonzero twice x 8 rows + input 1 twice x 4 rows; W_hh: h0(t-1) at t = 1, 2 x 5 rows
    assert c.macs[0] == 2 * 8 + 2 * 4 + 2 * 5
    assert c.dense_macs[0] == 3 * (16 + 16)
    assert (c.update_macs[0], c.update_acs[0], c.nonlinear[0]) == (3 * 2 * 3, 3 * 2 * 4, 3 * 2 * 5)
    assert c.state_writes[0] == 3 * 2 * 2


def test_ltc_gates_are_counted_dense():
    from snnc.compiler.ir import PRIMITIVES
    Wa = np.array([[1.0, 0, 1, 1], [0, 1, 0, 1]])  # 5 nonzero
    Wr = np.array([[0.0, 0, 1, 0], [1, 0, 0, 1]])  # 3 nonzero
    g = Graph()
    g.add("x", Input(2, "spike"))
    g.add("fc", Dense.of(np.eye(2)))
    g.add("ltc", PRIMITIVES["LTC"](Wa, np.zeros(2), Wr, np.zeros(2)))
    for a, b in (("x", "fc"), ("fc", "ltc")):
        g.connect(a, b)
    g.outputs = ["ltc"]
    c = counts(g, X[:, :, :2]).nodes["ltc"]
    assert list(c.macs) == [4 * 8] * 2 and list(c.dense_macs) == [4 * 16] * 2
    assert list(c.update_macs) == [4 * 2 * 4] * 2 and list(c.nonlinear) == [4 * 2 * 2] * 2


def _seed_family_graph(kind: str) -> Graph:
    """x -> fc -> a population of `kind` (-> EarlyExit for readouts), with valid random parameters."""
    from snnc.compiler.ir import PRIMITIVES as P
    rng = np.random.default_rng(4)
    n = 4
    g = Graph()
    g.add("x", Input(3, "spike"))
    g.add("fc", Dense.of(rng.normal(0, 1, (n, 3))))
    g.connect("x", "fc")
    make = {
        "AHP": lambda: P["AHP"](alpha=0.9, alpha_aux=0.8, w_ahp=-0.5, gain=np.ones(n), theta=0.5),
        "SPSN": lambda: P["SPSN"](alpha=np.full(n, 0.8), beta=0.5, stochastic=False),
        "LTCReadout": lambda: P["LTCReadout"](rng.normal(0, 1, (n, 2 * n)), np.zeros(n)),
        "Affine": lambda: P["Affine"](np.full(n, 2.0), 0.1),
        "EarlyExit": lambda: P["EarlyExit"](n, 0.9),
    }
    g.add("pop", make[kind]())
    g.connect("fc", "pop")
    g.outputs = ["pop"]
    return g


@pytest.mark.parametrize("kind", ["AHP", "SPSN", "LTCReadout", "Affine", "EarlyExit"])
def test_seed_family_rules_count_updates(kind):
    g = _seed_family_graph(kind)
    t = counts(g, X)
    c = t.nodes["pop"]
    work = c.update_macs + c.update_acs + c.nonlinear
    assert np.all(work > 0) and np.all(work % 4 == 0)  # per-unit work x 4 steps (x 4 units)
    if g.nodes["pop"].states:
        assert list(c.neuron_updates) == [16, 16]
    if g.nodes["pop"].out_kind == "spike":
        np.testing.assert_array_equal(c.spikes, act_spikes(g, X))


def act_spikes(g: Graph, x: np.ndarray) -> np.ndarray:
    _, act = run(g, x)
    return act.nonzero["pop"].sum(axis=0)


def test_loihi_fixed_point_rules():
    from snnc.compiler.ir import PRIMITIVES as P
    Wq = np.array([[2, 0, 4], [0, 0, -6]], dtype=np.int64)
    g = Graph()
    g.add("x", Input(3, "spike"))
    g.add("fc", P["LoihiDense"](Wq))
    g.add("n", P["LoihiLIF"](du=np.full(2, 4095), dv=np.full(2, 0), vth=np.full(2, 0)))
    g.connect("x", "fc")
    g.connect("fc", "n")
    g.outputs = ["n"]
    t = counts(g, X)
    assert list(t.nodes["fc"].acs) == [6, 3]  # same nonzero pattern as W
    assert list(t.nodes["n"].update_macs) == [16, 16] and list(t.nodes["n"].update_acs) == [24, 24]


def test_traffic_with_the_partition_pass():
    from snnc.compiler.passes.partition import partition
    g = partition(recurrent_graph("ALIF", sizes=(8, 6, 3), seed=2), "loihi1")
    place = g.meta["placement"]
    assert set(place) >= {"n1", "out"}
    _, act = run(g, spikes(20, 2, 8, rate=0.4), record=True)
    t = count(g, act)
    c = t.nodes["n1"]
    s = act.traces["n1"]["out"].sum(axis=0)  # [B, n]
    # n1 spikes reach n1 (through rec1) and out (through fc2): one message per destination block reached
    expect = np.zeros(2)
    for dense, dst in (("rec1", "n1"), ("fc2", "out")):
        W = g.nodes[dense].W
        for blk in place[dst]["blocks"]:
            lo, hi = blk["neurons"]
            expect += s @ (W[lo:hi] != 0).any(axis=0)
    np.testing.assert_array_equal(c.spikes_core + c.spikes_chip + c.spikes_offchip, expect)
    assert expect.sum() > 0
