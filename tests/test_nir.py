"""NIR import/export: exact IR -> NIR -> IR round trips, hand-built NIR graphs against their discrete equations,
clear errors for what has no counterpart, and the CLI (compile from .nir, -t nir)."""
from __future__ import annotations

import numpy as np
import pytest

import nir  # the nir extra is part of the main environment; a missing package fails here, never skips

from snnc.compiler import ALIF, LI, LIF, CubaLIF, Dense
from snnc.compiler.errors import GraphError, SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives import Input
from snnc.frontends.nir_io import break_cycles, from_nir, read_nir, to_nir, write_nir
from snnc.runtime.numpy.runtime import NumpyRuntime

ZOO = {"lif-srnn": {"sizes": [24, 16, 6]}, "cuba": {"sizes": [12, 16, 10, 4]}}


def _traced(name: str) -> Graph:
    import torch

    import snnc
    import snnc.frontends.cuba  # noqa: F401  (registers the cuba zoo model)
    from snnc.frontends import zoo
    from snnc.frontends.reference import prepare

    module, cfg = zoo.build(name, ZOO[name], seed=3)
    with torch.no_grad():  # stronger weights than the init, so the neurons spike, reset and recur in a short test
        for prm in module.parameters():
            if prm.ndim == 2:
                prm.mul_(6.0)
    return snnc.trace(prepare(module, "float64"), torch.zeros(2, 1, cfg["sizes"][0], dtype=torch.float64))


def _spikes(T: int, B: int, F: int, rate: float = 0.3, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((T, B, F)) < rate).astype(np.float64)


def _assert_same_graph(a: Graph, b: Graph) -> None:
    assert list(a.nodes) == list(b.nodes) and a.inputs == b.inputs and a.outputs == b.outputs
    for name, n in a.nodes.items():
        m = b.nodes[name]
        assert type(m) is type(n), name
        for k, v in n.params().items():
            w = m.params()[k]
            assert (np.array_equal(v, w) if isinstance(v, np.ndarray) else v == w), f"{name}.{k}: {v} != {w}"
    key = lambda e: (e.src, e.dst, e.port, e.delay)  # noqa: E731
    assert sorted(map(key, a.edges)) == sorted(map(key, b.edges))


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_roundtrip_through_nir_file_is_exact(name, tmp_path):
    g = _traced(name)
    write_nir(g, tmp_path / "m.nir")
    back = read_nir(tmp_path / "m.nir")
    _assert_same_graph(g, back)
    x = _spikes(80, 3, g.nodes[g.inputs[0]].size)
    spiking = [n for n, p in g.nodes.items() if p.out_kind == "spike"]
    out, act = NumpyRuntime(g, "float64", record=spiking).run(x)
    out2, act2 = NumpyRuntime(back, "float64", record=spiking).run(x)
    for o in out:
        np.testing.assert_allclose(out2[o], out[o], rtol=0, atol=1e-12)
        assert np.abs(out[o]).max() > 0, "the readout never moved: the test would not see a wrong model"
    for n in spiking:
        s = act.traces[n]["out"]
        assert 0 < s.mean() < 0.9, f"{n}: spike rate {s.mean()} does not exercise reset and recurrence"
        np.testing.assert_array_equal(act2.traces[n]["out"], s, err_msg=n)


def test_zoo_export_uses_nir_nodes_and_the_discretization_convention():
    g = _traced("cuba")
    ng = to_nir(g)
    kinds = {k: type(v).__name__ for k, v in ng.nodes.items()}
    assert kinds["layer2.if"] == "IF" and kinds["readout.li"] == "LI" and kinds["layer1.cuba"] == "NIRGraph"
    # the recurrence is a plain NIR edge: the importer gives the edge leaving the spiking neuron its delay back
    assert ("layer1.cuba", "layer1.rec") in ng.edges and ("layer1.rec", "layer1.cuba") in ng.edges
    li = g.nodes["readout.li"]
    np.testing.assert_allclose(ng.nodes["readout.li"].tau, 1 / (1 - li.alpha), rtol=1e-12)  # euler, dt 1
    np.testing.assert_allclose(ng.nodes["readout.li"].r, li.gain / (1 - li.alpha), rtol=1e-12)
    exact = to_nir(g, discretization="exact")
    np.testing.assert_allclose(exact.nodes["readout.li"].tau, -1 / np.log(li.alpha), rtol=1e-12)
    # subtractive reset: membrane -> threshold -> Linear diag(-alpha*theta/gain) -> membrane
    sub, cuba = ng.nodes["layer1.cuba"], g.nodes["layer1.cuba"]
    np.testing.assert_allclose(np.diag(sub.nodes["reset"].weight), -cuba.alpha_mem * cuba.theta / cuba.gain, rtol=1e-12)
    # without snnc's metadata the NIR fields alone give the same model to rounding
    for n in [ng, *[v for v in ng.nodes.values() if isinstance(v, nir.NIRGraph)]]:
        for v in n.nodes.values():
            v.metadata = {}
        n.metadata = {}
    bare = from_nir(ng, dt=1.0)
    for name, node in g.nodes.items():
        for k, v in node.params().items():
            if isinstance(v, np.ndarray):
                np.testing.assert_allclose(bare.nodes[name].params()[k], v, rtol=1e-12, atol=1e-15, err_msg=f"{name}.{k}")


def _hand_lif_rnn(dt_tau=(2.0, 4.0), with_input_node=True) -> tuple[nir.NIRGraph, dict]:
    rng = np.random.default_rng(5)
    p = dict(W=rng.normal(0.5, 0.8, (2, 3)), b=np.array([0.05, -0.02]), Wr=rng.normal(0, 0.6, (2, 2)), br=np.array([0.01, 0.02]),
             tau=np.array(dt_tau), r=np.array([2.0, 3.0]), thr=np.array([0.3, 0.4]))
    nodes = {"x": nir.Input(np.array([3])), "fc": nir.Affine(p["W"], p["b"]),
             "lif": nir.LIF(p["tau"], p["r"], np.zeros(2), p["thr"], np.zeros(2)), "rec": nir.Affine(p["Wr"], p["br"]),
             "y": nir.Output(np.array([2]))}
    edges = [("x", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "y")]
    return nir.NIRGraph(nodes, edges), p


def test_hand_built_recurrent_lif_matches_discrete_equations():
    ng, p = _hand_lif_rnn()
    dt = 0.5
    g = from_nir(ng, dt=dt)
    assert [str(e) for e in g.edges if e.delay] == ["lif -> rec.in (delay 1)"]
    x = _spikes(60, 2, 3, rate=0.4, seed=1)
    out, act = NumpyRuntime(g, "float64", record=["lif"]).run(x)
    alpha, gain = 1 - dt / p["tau"], dt / p["tau"] * p["r"]  # forward Euler of tau dv/dt = -v + R I
    v, s = np.zeros((2, 2)), np.zeros((2, 2))
    for t in range(60):
        current = x[t] @ p["W"].T + p["b"] + s @ p["Wr"].T + p["br"]  # the recurrent Affine sees s of step t-1
        v = alpha * v + gain * current
        s = (v > p["thr"]).astype(float)
        v = v * (1 - s)  # reset to v_reset = 0
        np.testing.assert_array_equal(out["lif"][t], s, err_msg=f"step {t}")
        np.testing.assert_allclose(act.traces["lif"]["v"][t], v, rtol=0, atol=1e-12)
    assert 0.05 < out["lif"].mean() < 0.9


def test_exact_discretization_and_threshold_delay_nodes():
    nodes = {"x": nir.Input(np.array([2])), "li": nir.LI(np.array([3.0, 6.0]), np.array([1.0, 2.0]), np.zeros(2)),
             "th": nir.Threshold(np.array([0.2, 0.3])), "d": nir.Delay(np.array([1.0, 1.0])),
             "w": nir.Linear(np.eye(2)), "y": nir.Output(np.array([2]))}
    ng = nir.NIRGraph(nodes, [("x", "li"), ("li", "th"), ("th", "d"), ("d", "w"), ("w", "y")])
    g = from_nir(ng, dt=0.5, discretization="exact")
    lif = g.nodes["th"]  # LI -> Threshold is one LIF without reset, named after the Threshold
    assert isinstance(lif, LIF) and lif.reset == "none" and "li" not in g.nodes
    np.testing.assert_allclose(lif.alpha, np.exp(-0.5 / np.array([3.0, 6.0])), rtol=1e-15)
    np.testing.assert_allclose(lif.gain, (1 - lif.alpha) * np.array([1.0, 2.0]), rtol=1e-15)
    assert [(e.src, e.dst, e.delay) for e in g.edges if e.dst == "w"] == [("th", "w", 2)]  # 1.0 / dt steps


def test_snntorch_style_nested_rnn_subgraph_is_inlined():
    ng, p = _hand_lif_rnn()
    flat = from_nir(ng, dt=1.0)
    sub = nir.NIRGraph({"input": nir.Input(np.array([2])), "lif": ng.nodes["lif"], "rec": ng.nodes["rec"],
                        "output": nir.Output(np.array([2]))},
                       [("input", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")])
    outer = nir.NIRGraph({"x": ng.nodes["x"], "fc": ng.nodes["fc"], "l1": sub, "y": nir.Output(np.array([2]))},
                         [("x", "fc"), ("fc", "l1"), ("l1", "y")])
    g = from_nir(outer, dt=1.0)
    assert set(g.nodes) == {"x", "fc", "l1.lif", "l1.rec"} and g.outputs == ["l1.lif"]
    x = _spikes(40, 2, 3, seed=2)
    np.testing.assert_array_equal(NumpyRuntime(g, "float64").run(x)[0]["l1.lif"], NumpyRuntime(flat, "float64").run(x)[0]["lif"])


def test_feedforward_and_long_delays_export_as_delay_nodes():
    g = Graph(meta={"dt": 1.0})
    g.add("x", Input(3, "spike"))
    g.add("fc", Dense(np.arange(12.0).reshape(4, 3) / 10, np.full(4, 0.1)))
    g.add("lif", LIF(np.full(4, 0.9), np.full(4, 0.5), np.full(4, 0.6), "subtract"))
    g.add("li", LI(np.full(4, 0.8), np.full(4, 0.2)))
    g.connect("x", "fc", delay=1)
    g.connect("fc", "lif")
    g.connect("lif", "li", delay=3)
    g.connect("lif", "li", delay=1)  # a delay-1 edge off every cycle must stay explicit
    g.outputs = ["li"]
    ng = to_nir(g)
    assert sorted(k for k, v in ng.nodes.items() if isinstance(v, nir.Delay)) == ["lif.delay1", "lif.delay3", "x.delay1"]
    _assert_same_graph(g, from_nir(ng))


def test_cycle_rule():
    edges = [["a", "b", 0], ["b", "c", 0], ["c", "a", 0]]
    assert break_cycles(["a", "b", "c"], edges, {"b", "c"}) == [["a", "b", 0], ["b", "c", 1], ["c", "a", 0]]
    with pytest.raises(GraphError, match="no spiking neuron"):
        break_cycles(["a", "b", "c"], edges, set())


def _nir_with(node) -> nir.NIRGraph:
    return nir.NIRGraph({"x": nir.Input(np.array([4])), "bad": node, "y": nir.Output(np.array([4]))},
                        [("x", "bad"), ("bad", "y")], type_check=False)


@pytest.mark.parametrize("node, words", [
    (nir.Conv1d(None, np.ones((4, 1, 3)), 1, 1, 1, 1, np.zeros(4)), ["'bad'", "Conv1d", "input shape (4,) is not 2-D"]),
    (nir.SumPool2d(np.array([2, 2]), np.array([1, 1]), np.array([0, 0])), ["'bad'", "SumPool2d", "input shape"]),
    (nir.CubaLI(-np.ones(4), np.ones(4) * 2, np.ones(4), np.full(4, 0.5)), ["'bad'", "tau_syn -1", "not positive"]),
    (nir.LIF(np.full(4, 2.0), np.ones(4), np.zeros(4), np.ones(4), np.full(4, -0.5)), ["'bad'", "v_reset"]),
    (nir.Threshold(np.ones(4)), ["'bad'", "Threshold"]),
])
def test_unsupported_nir_nodes_are_named(node, words):
    with pytest.raises(SnncError) as e:
        from_nir(_nir_with(node), dt=0.1)
    assert "\n" not in str(e.value) and all(w in str(e.value) for w in words), str(e.value)


@pytest.mark.parametrize("prim, words", [
    (ALIF.example(4), ["'n'", "ALIF", "no NIR counterpart"]),
    (LIF(np.full(4, 0.9), np.ones(4), np.ones(4), "zero", np.full(4, 0.2)), ["'n'", "initial state v0"]),
    (CubaLIF(np.full(4, 0.5), np.full(4, 1.0), np.ones(4), np.ones(4)), ["'n'", "alpha_mem"]),
])
def test_primitives_without_nir_counterpart_are_named(prim, words):
    g = Graph()
    g.add("x", Input(4))
    g.add("n", prim)
    g.connect("x", "n")
    g.outputs = ["n"]
    with pytest.raises(SnncError) as e:
        to_nir(g)
    assert all(w in str(e.value) for w in words), str(e.value)


def test_unreadable_nir_file(tmp_path):
    (tmp_path / "bad.nir").write_bytes(b"not hdf5")
    with pytest.raises(SnncError, match="bad.nir: not a readable NIR file"):
        read_nir(tmp_path / "bad.nir")


def test_cli_compile_to_nir_and_from_nir(run_snnc, tmp_path):
    from snnc.compiler.serialize import load, save
    save(_traced("lif-srnn"), tmp_path / "ref.snn")  # the traced zoo model with weights that make it spike
    p = run_snnc("compile", "ref.snn", "-t", "nir", "-o", "m.nir", check=True)
    assert "target nir" in p.stderr and "euler" in p.stderr
    run_snnc("compile", "m.nir", "-t", "numpy", "-o", "m.snn", "--dt", "1.0", check=True)
    np.save(tmp_path / "x.npy", _spikes(50, 2, 24, seed=4).astype(np.float32))
    for art in ["m.nir", "m.snn", "ref.snn"]:
        run_snnc("run", art, "--input", "x.npy", "-o", art + ".y.npy", "--dtype", "float64", check=True)
    ref = np.load(tmp_path / "ref.snn.y.npy")
    assert np.abs(ref).max() > 0
    np.testing.assert_array_equal(np.load(tmp_path / "m.nir.y.npy"), ref)
    np.testing.assert_array_equal(np.load(tmp_path / "m.snn.y.npy"), ref)
    out = run_snnc("inspect", "m.nir", check=True).stdout
    assert "layer1.lif" in out and "NIRGraph" in out and "LIF" in out
    # a different dt changes the model: alpha = 1 - dt/tau
    run_snnc("compile", "m.nir", "-t", "numpy", "-o", "half.snn", "--dt", "0.5", check=True)
    a, b = load(tmp_path / "m.snn").nodes["readout.li"].alpha, load(tmp_path / "half.snn").nodes["readout.li"].alpha
    np.testing.assert_allclose(1 - b, (1 - a) / 2, rtol=1e-12)
    run_snnc("zoo", "lif-srnn", "-o", "m.pt", "--set", "sizes=[20,16,5]", check=True)
    p = run_snnc("verify", "m.pt", "--targets", "numpy,nir", "--steps", "30", check=True)
    assert "nir" in p.stdout and "FAIL" not in p.stdout.upper(), p.stdout


def test_cli_nir_model_errors_are_one_line(run_snnc, tmp_path):
    g = Graph()
    g.add("x", Input(4))
    g.add("n", ALIF.example(4))
    g.connect("x", "n")
    g.outputs = ["n"]
    from snnc.compiler.serialize import save
    save(g, tmp_path / "alif.snn")
    p = run_snnc("compile", "alif.snn", "-t", "nir", "-o", "a.nir")
    assert p.returncode == 1 and p.stderr.startswith("snnc: error: node 'n' (ALIF)") and len(p.stderr.splitlines()) == 1, p.stderr
    assert not (tmp_path / "a.nir").exists()
    nir.write(tmp_path / "thr.nir", _nir_with(nir.Threshold(np.ones(4))))
    p = run_snnc("compile", "thr.nir", "-t", "numpy", "-o", "c.snn")
    assert p.returncode == 1 and "give --dt" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
    p = run_snnc("compile", "thr.nir", "-t", "numpy", "-o", "c.snn", "--dt", "0.1")
    assert p.returncode == 1 and "'bad' (Threshold)" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
    assert not (tmp_path / "c.snn").exists()


def test_cuba_lif_and_cuba_li_follow_nir_euler_golden_numbers():
    """tau_syn 2, tau_mem 4, r 2, w_in 1.5, dt 0.5: a_s = 0.75, a_m = 0.875; one input of 1 at t = 0.

    i0 = (1 − a_s)·w_in = 0.375, v0 = (1 − a_m)·r·i0 = 0.09375; i1 = 0.28125, v1 = 0.875·v0 + 0.25·i1 = 0.15234375;
    i2 = 0.2109375, v2 = 0.875·v1 + 0.25·i2 = 0.18603515625 (NIR's equations by hand, not snnc's code).
    """
    one = np.ones(1)
    for node in (nir.CubaLIF(2 * one, 4 * one, 2 * one, 0 * one, 10 * one, 0 * one, 1.5 * one),
                 nir.CubaLI(2 * one, 4 * one, 2 * one, 0 * one, 1.5 * one)):
        ng = nir.NIRGraph({"x": nir.Input(np.array([1])), "c": node, "y": nir.Output(np.array([1]))},
                          [("x", "c"), ("c", "y")], type_check=False)
        g = from_nir(ng, dt=0.5)
        x = np.zeros((3, 1, 1))
        x[0] = 1.0
        out, act = NumpyRuntime(g, "float64", record=["c"]).run(x)
        v = act.traces["c"]["v"][:, 0, 0] if isinstance(node, nir.CubaLIF) else out["c"][:, 0, 0]
        np.testing.assert_allclose(v, [0.09375, 0.15234375, 0.18603515625], rtol=1e-13, err_msg=type(node).__name__)
