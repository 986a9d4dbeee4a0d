"""Lava target: artifacts, inspect/report, errors (unmappable nodes, missing env, timeout, Lava failures), retiming."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from factories_lava import lif_recurrent, mixed_latency, spikes
from snnc.backends.lava import target as lava_target
from snnc.backends.lava.lower import Lowerer, lower
from snnc.backends.lava.retime import retime
from snnc.compiler.errors import LoweringError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives import LIF, LSTM, Dense, Input
from snnc.runtime.lava.runner import LavaError, lava_python
from snnc.runtime.numpy.runtime import NumpyRuntime


@pytest.fixture(scope="module", autouse=True)
def lava_env():
    """Fails (never skips) with the setup message when the Lava environment is missing."""
    return lava_python()


def test_compile_run_inspect_artifact(tmp_path, monkeypatch):
    g = lif_recurrent()
    out = tmp_path / "m.lava"
    msg = lava_target.compile_artifact(g, out, {})
    assert "Lava network" in msg and lava_target.is_artifact(out)
    assert not lava_target.is_artifact(tmp_path / "nothing")
    doc = json.loads((out / "network.json").read_text())
    assert doc["procs"]["lif1"]["kind"] == "lif" and doc["procs"]["out"]["kind"] == "step"  # LI: its own step
    with np.load(out / "weights.npz", allow_pickle=False) as z:  # plain arrays, no pickled objects
        assert "fc1/weights" in z.files
    assert set(lava_target.load_graph(out).nodes) == set(g.nodes)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    x = spikes(12, 2, 6, seed=3)
    y, act = lava_target.run_artifact(out, x, {"dtype": "float32"})
    ref, _ = NumpyRuntime(g, "float64").run(x)
    assert y["out"].dtype == np.float32 and y["out"].shape == (12, 2, 3)
    np.testing.assert_allclose(y["out"], ref["out"], rtol=1e-5, atol=1e-5)
    assert list(work.iterdir()) == []  # the Lava subprocess wrote nothing into the user's directory
    text = lava_target.inspect_artifact(out, {})
    assert "cores" in text and "lif1" in text and "latency: 2" in text
    lava_target.compile_artifact(g, out, {})  # recompiling replaces the artifact
    assert lava_target.is_artifact(out)


def test_compile_refuses_to_clobber_a_foreign_directory(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(Exception, match="not a Lava network directory"):
        lava_target.compile_artifact(lif_recurrent(), tmp_path / "mine", {})
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_retiming_latencies_and_compensating_delays():
    g = mixed_latency()
    lw = Lowerer(g)
    for name, node in g.nodes.items():
        from snnc.backends.lava.lower import rule_for
        rule_for(node)(lw, name, node)
    t = retime(g, lw.hops)
    assert t.latency["a1"] == 1 and t.latency["c2"] == 2 and t.latency["out"] == 3
    skip_edge = next(e for e in g.edges if e.src == "skip" and e.dst == "out")
    assert t.extra[skip_edge] == 2  # the skip path (1 hop) waits for the 3-hop main path
    net = lower(g)
    assert sum(p["kind"] == "delay" for p in net.procs.values()) >= 1
    assert net.latency["d"] == 1 and max(net.latency.values()) == 3  # the delay-2 edge absorbs its hop


def test_cycle_with_more_hops_than_delay_is_an_error():
    g = Graph()
    g.add("x", Input(2, "spike"))
    g.add("d1", Dense.of(np.eye(2)))
    g.add("n", LIF(np.full(2, 0.9), np.ones(2), np.ones(2)))
    g.add("d2", Dense.of(np.eye(2)))
    g.add("d3", Dense.of(np.eye(2)))
    for s, d, dl in [("x", "d1", 0), ("d1", "n", 0), ("n", "d2", 1), ("d2", "d3", 0), ("d3", "n", 0)]:
        g.connect(s, d, delay=dl)
    g.outputs = ["n"]
    with pytest.raises(LoweringError, match="more Dense hops than delay"):
        lower(g)


def test_lstm_is_not_mappable():
    g = Graph()
    g.add("x", Input(3))
    g.add("lstm", LSTM(np.zeros((8, 3)), np.zeros((8, 2)), np.zeros(8)))
    g.connect("x", "lstm")
    g.outputs = ["lstm"]
    with pytest.raises(LoweringError, match=r"node 'lstm' \(LSTM\): Loihi cannot run it.*numpy or onnx"):
        lower(g)


def test_per_neuron_decay_stays_on_lava_lif():
    g = lif_recurrent()
    g.nodes["lif1"] = LIF(np.array([0.9, 0.8, 0.9, 0.9, 0.9]), np.full(5, 0.5), np.full(5, 0.3))
    net = lower(g)  # Lava's LIF models compute du/dv/vth elementwise (tests/test_lava_lif.py runs them)
    spec = net.procs["lif1"]
    assert spec["kind"] == "lif" and np.allclose(net.arrays[spec["params"]["dv"]["array"]], [0.1, 0.2, 0.1, 0.1, 0.1])


def test_missing_lava_env_names_the_variable(monkeypatch):
    monkeypatch.setenv("SNNC_LAVA_PYTHON", "/nonexistent/python")
    with pytest.raises(LavaError, match="SNNC_LAVA_PYTHON.*make setup"):
        lava_target.run_graph(lif_recurrent(), spikes(3, 1, 6), {})


def test_timeout_kills_the_lava_run():
    with pytest.raises(LavaError, match="timed out after 0.5 s"):
        lava_target.run_graph(lif_recurrent(), spikes(5, 1, 6), {"timeout": 0.5})


def test_lava_failure_reports_stderr_in_one_line(tmp_path, monkeypatch):
    """A worker that fails after the artifact passed validation: its last error line, on one line, with the exit code."""
    out = tmp_path / "m.lava"
    lava_target.compile_artifact(lif_recurrent(), out, {})
    fake = tmp_path / "python"  # stands in for the Lava interpreter: a traceback on stderr, exit 1
    fake.write_text("#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
                    "echo 'snnc-lava-error: process lif1: the warp drive failed' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SNNC_LAVA_PYTHON", str(fake))
    with pytest.raises(LavaError) as ei:
        lava_target.run_artifact(out, spikes(3, 1, 6), {})
    msg = str(ei.value)
    assert "\n" not in msg and "the warp drive failed" in msg and "exit 1" in msg
