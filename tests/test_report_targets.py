"""`snnc report` on the .snn, .onnx and Lava artifacts of one graph and input: the same measured counts.

Exact on every target: spikes, the spike-driven synaptic accumulates (acs; on ONNX
because every fan-out here is the full population, see below) and all dense and
per-neuron-step counts. The ONNX runtime counts spikes only and records no
per-neuron outputs, so its report estimates what depends on graded values or on
which neuron fired, and says so in its notes: graded Dense outputs are taken as
always nonzero (macs and active updates are upper bounds) and untraced spike
sources spread their events uniformly (exact when every input has the same
nonzero fan-out). The NumPy and Lava runs record every source, so their reports
agree in every count and note.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import recurrent_graph, spikes

from snnc.compiler.cli import main
from snnc.compiler.errors import FileFormatError
from snnc.compiler.serialize import save

EXACT = ("spikes", "acs", "dense_acs", "dense_macs", "neuron_updates", "state_reads", "state_writes")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The report JSON of each artifact (.snn, .onnx, .lava) for the same graph and input."""
    from snnc.backends import lava_target, onnx_target
    from snnc.runtime.lava_runner import lava_python

    lava_python()  # fails (never skips) with the setup message when the Lava environment is missing
    d = tmp_path_factory.mktemp("report_targets")
    g = recurrent_graph("LIF", sizes=(12, 10, 4), reset="subtract", seed=5)  # subtract: the Lava run uses SnncLIF
    assert all(np.all(n.W != 0) for n in g.nodes.values() if hasattr(n, "W"))
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


def test_onnx_report_says_which_counts_are_estimated(reports):
    _, _, r = reports
    notes = " | ".join(r["onnx"]["notes"])
    for graded in ("fc1", "rec1", "fc2", "out"):  # Dense outputs and the LI readout: counted as always nonzero
        assert f"no nonzero counts for graded node '{graded}'" in notes
    assert "node 'n1' was not traced" in notes  # its events into fc2/rec1 use the mean fan-out
    exact, onnx = r["snn"]["total"]["per_inference"], r["onnx"]["total"]["per_inference"]
    for field in ("macs", "active_updates"):  # upper bounds, never below the measured count
        assert onnx[field] >= exact[field]
    assert onnx["active_updates"] > exact["active_updates"]


def test_onnx_model_carries_its_graph(reports):
    import onnx
    import onnxruntime

    from snnc.backends import onnx_target
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
