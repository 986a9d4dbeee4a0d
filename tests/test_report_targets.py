"""`snnc report` on the .snn, .onnx and Lava artifacts of one graph and input: the same measured counts.

Every target's report is measured from per-neuron activity: the NumPy and Lava
runs record every node the cost model reads; an ONNX artifact returns spike
counts only, so its embedded graph is run again on onnxruntime with those nodes as
probe outputs. The graph has zero weights, so a count estimated from a mean
fan-out would differ from the measured one.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import recurrent_graph, spikes

from snnc.cli.main import main
from snnc.compiler.errors import FileFormatError
from snnc.compiler.serialize import save

EXACT = ("spikes", "acs", "dense_acs", "dense_macs", "neuron_updates", "state_reads", "state_writes")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The report JSON of each artifact (.snn, .onnx, .lava) for the same graph and input."""
    from snnc.backends.lava import target as lava_target
    from snnc.backends.onnx import target as onnx_target
    from snnc.runtime.lava.runner import lava_python

    lava_python()  # fails (never skips) with the setup message when the Lava environment is missing
    d = tmp_path_factory.mktemp("report_targets")
    g = recurrent_graph("LIF", sizes=(12, 10, 4), reset="subtract", seed=5)  # subtract: the Lava run uses NodeStep
    from snnc.compiler.primitives import Dense
    for name in ("fc2", "rec1"):  # zero weights: the fan-out of a spike depends on which neuron fired
        W = g.nodes[name].W.copy()
        W[:, ::3] = 0
        g.nodes[name] = Dense(W, g.nodes[name].b)
    save(g, d / "m.snn")
    onnx_target.compile_artifact(g, d / "m.onnx", {"dtype": "float64"})
    lava_target.compile_artifact(g, d / "m.lava", {})
    np.save(d / "x.npy", spikes(30, 2, 12, rate=0.3, seed=3))
    out = {}
    for art in ("m.snn", "m.onnx", "m.lava"):
        js = d / f"{art}.json"
        assert main(["report", str(d / art), "--input", str(d / "x.npy"), "--dtype", "float64",
                     "--energy-model", "cpu45nm", "--json", str(js)]) == 0
        out[art.split(".")[1]] = json.loads(js.read_text())
    return g, d, out


def _by_node(doc: dict, field: str) -> dict[str, float]:
    return {n["name"]: n["per_inference"][field] for n in doc["nodes"]}


def test_spike_driven_counts_agree_on_every_target(reports):
    _, _, r = reports
    assert r["snn"]["target"] == "numpy" and r["onnx"]["target"] == "onnx" and r["lava"]["target"] == "loihi"
    for field in EXACT:
        want = _by_node(r["snn"], field)
        for t in ("onnx", "lava"):
            assert _by_node(r[t], field) == want, f"{t}: {field}"
    assert r["snn"]["total"]["per_inference"]["acs"] > 100 and _by_node(r["snn"], "spikes")["n1"] > 20


def test_numpy_and_lava_reports_agree_in_every_count_and_note(reports):
    _, _, r = reports
    a, b = r["snn"], r["lava"]
    assert a["total"]["per_inference"] == b["total"]["per_inference"]
    assert [n["per_inference"] for n in a["nodes"]] == [n["per_inference"] for n in b["nodes"]]
    assert a["notes"] == b["notes"]
    assert not any("assumed" in n or "not traced" in n for n in r["snn"]["notes"])


def test_onnx_report_is_measured_per_neuron(reports):
    _, _, r = reports
    a, b = r["snn"], r["onnx"]
    assert a["total"]["per_inference"] == b["total"]["per_inference"]
    assert [n["per_inference"] for n in a["nodes"]] == [n["per_inference"] for n in b["nodes"]]
    assert any("probe outputs" in n for n in b["notes"])
    assert not any("assumed" in n or "not traced" in n or "no nonzero counts" in n for n in b["notes"])


def test_lava_report_shows_loihi_resources(reports):
    _, _, r = reports
    res = {row["node"]: row for row in r["lava"]["loihi_resources"]}
    assert set(res) == {"n1", "out"}
    assert res["n1"]["neurons"] == 10 and res["n1"]["cores"] >= 1
    # synapses: the nonzero weights of the Dense nodes feeding the population
    assert res["out"]["synapses"] == int(np.count_nonzero(reports[0].nodes["fc2"].W))
    assert "loihi_resources" not in r["snn"]


def test_onnx_model_carries_its_graph(reports):
    import onnx
    import onnxruntime

    from snnc.backends.onnx import target as onnx_target
    g, d, _ = reports
    model = onnx.load(str(d / "m.onnx"))
    onnx.checker.check_model(model, full_check=True)  # the embedded graph keeps the model valid
    onnxruntime.InferenceSession(str(d / "m.onnx"), providers=["CPUExecutionProvider"])
    assert "IR graph: embedded (metadata snnc.graph" in onnx_target.inspect_artifact(d / "m.onnx", {})
    back = onnx_target.load_graph(d / "m.onnx")
    assert list(back.nodes) == list(g.nodes) and back.edges == g.edges and back.outputs == g.outputs
    assert np.array_equal(back.nodes["fc1"].W, g.nodes["fc1"].W) and back.nodes["n1"].reset == "subtract"
    keep = [p for p in model.metadata_props if p.key != onnx_target.GRAPH_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    onnx.save(model, str(d / "bare.onnx"))
    with pytest.raises(FileFormatError, match=r"bare.onnx: the ONNX model carries no snnc graph \(metadata 'snnc.graph'\)"):
        onnx_target.load_graph(d / "bare.onnx")
