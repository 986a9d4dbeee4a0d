"""`snnc report`: table with sources, JSON against its schema, PNG, --compare, agreement across runtimes."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REPO, recurrent_graph, spikes

from snnc.cli.main import main
from snnc.compiler.energy import EnergyModelError, load_model
from snnc.cli.report import attach_inputs, build_report, record_list
from snnc.compiler.serialize import save
from snnc.runtime.numpy.runtime import run

import jsonschema  # in the dev extra that `make setup` installs: missing is a failure, never a skip
SCHEMA = json.loads((REPO / "docs" / "report.schema.json").read_text())


@pytest.fixture
def model_files(tmp_path):
    g = recurrent_graph("ALIF", sizes=(12, 10, 3), seed=5)
    save(g, tmp_path / "m.snn")
    np.save(tmp_path / "x.npy", spikes(40, 2, 12, rate=0.3, seed=1))
    return g, tmp_path


def test_cli_report_with_loihi1_and_compare(model_files, capsys):
    g, d = model_files
    rc = main(["report", str(d / "m.snn"), "--input", str(d / "x.npy"), "--energy-model", "loihi1",
               "--compare", "lstm", "--json", str(d / "r.json"), "--plot", str(d / "r.png")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "Davies et al." in out and "Horowitz" in out  # every constant printed with its source
    assert "ratio LSTM/SNN energy" in out
    doc = json.loads((d / "r.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert (d / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cmp_ = doc["compare"]
    assert cmp_["ratio_energy"] == pytest.approx(cmp_["energy_pJ"] / cmp_["snn_energy_pJ"])
    # LSTM 12->10 and Linear 10->3 weight MACs over 40 steps
    assert cmp_["per_inference"]["macs"] == 40 * (4 * 10 * (12 + 10) + 10 * 3)
    assert doc["input"]["source"] == "file" and doc["steps"]["per_sample"] == [40, 40]
    # loihi1 prices synaptic ops at 23.6 pJ
    tot = doc["total"]
    assert tot["energy_pJ"]["by_count"]["acs"] == pytest.approx(23.6 * tot["per_inference"]["acs"])


def test_cli_random_input_says_so(model_files, capsys):
    _, d = model_files
    assert main(["report", str(d / "m.snn"), "--steps", "7", "--batch", "3", "--json", str(d / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "no --input given: seeded random spikes" in out
    doc = json.loads((d / "r.json").read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["input"]["source"] == "random" and doc["input"]["shape"] == {"x": [7, 3, 12]}
    assert doc["compare"] is None and doc["energy_model"]["name"] == "cpu45nm"


def test_cli_errors_are_one_line(model_files, capsys):
    _, d = model_files
    np.save(d / "bad.npy", np.zeros((5, 12)))
    assert main(["report", str(d / "m.snn"), "--input", str(d / "bad.npy")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("snnc: error:") and "rank 3" in err and "\n" not in err
    assert main(["report", str(d / "m.snn"), "--energy-model", "loihi9"]) == 1
    err = capsys.readouterr().err.strip()
    assert "energy model 'loihi9'" in err and "\n" not in err
    assert main(["report", str(d / "m.snn"), "--energy-model", "loihi1", "--precision", "fp32"]) == 1
    assert "has no prices for precision 'fp32'" in capsys.readouterr().err


def _report(g, x, dtype, model="cpu45nm", compare=None):
    _, act = run(g, x, dtype=dtype, record=record_list(g))
    return build_report(g, act, model, compare=compare)


def test_float32_and_float64_reports_agree():
    g = recurrent_graph("ALIF", sizes=(12, 10, 3), seed=5)
    x = spikes(40, 2, 12, rate=0.3, seed=1)
    a, b = _report(g, x, "float32", compare="gru"), _report(g, x, "float64", compare="gru")
    assert a["total"]["per_sample"] == b["total"]["per_sample"]
    assert [n["per_inference"] for n in a["nodes"]] == [n["per_inference"] for n in b["nodes"]]
    assert a["total"]["energy_pJ"]["per_inference"] == pytest.approx(b["total"]["energy_pJ"]["per_inference"])
    assert a["total"]["per_inference"]["spikes"] > 0
    jsonschema.validate(a, SCHEMA)




def test_onnx_and_numpy_activity_give_the_same_report():
    from snnc.compiler.targets import get_target
    g = recurrent_graph("ALIF", sizes=(12, 10, 3), seed=5)
    x = spikes(40, 2, 12, rate=0.3, seed=1)
    _, act_onnx = get_target("onnx").run_graph(g, x, {"dtype": "float32"})
    _, act_np = run(g, x, dtype="float32")
    # the onnx runtime counts spikes only: give the numpy record the same information
    for name in list(act_np.nonzero):
        if name not in act_onnx.nonzero:
            del act_np.nonzero[name]
    assert act_onnx.nonzero.keys() == act_np.nonzero.keys() and act_onnx.nonzero
    for name in act_np.nonzero:
        np.testing.assert_array_equal(act_onnx.nonzero[name], act_np.nonzero[name])
    for act in (act_onnx, act_np):
        attach_inputs(act, g, x)
    a, b = build_report(g, act_onnx, "loihi1"), build_report(g, act_np, "loihi1")
    assert a["total"] == b["total"] and a["notes"] == b["notes"]
    assert a["total"]["per_inference"]["acs"] > 0


def test_energy_arithmetic_cpu45nm():
    g = recurrent_graph("LIF", sizes=(6, 5, 3))
    r = _report(g, spikes(10, 1, 6), "float64")
    em, tot = r["energy_model"], r["total"]
    assert em["precision"] == "fp32" and em["memory_tier"] == "sram_8kb"  # a few hundred bytes
    pi, e = tot["per_inference"], tot["energy_pJ"]["by_count"]
    assert e["acs"] == pytest.approx(0.9 * pi["acs"])
    assert e["macs"] == pytest.approx(4.6 * pi["macs"])
    assert e["weight_reads"] == pytest.approx(10.0 * 32 / 64 * pi["weight_reads"])
    assert tot["energy_pJ"]["per_inference"] == pytest.approx(sum(e.values()))
    assert "nonlinear" not in em["unpriced"]  # only nonzero unpriced counts are listed
    assert r["neurobench"]["Dense"] == pi["dense_acs"] + pi["dense_macs"]


def test_user_energy_model_file(tmp_path):
    g = recurrent_graph("LIF", sizes=(6, 5, 3))
    _, act = run(g, spikes(10, 1, 6), record=record_list(g))
    f = tmp_path / "mine.json"
    f.write_text(json.dumps({"extends": "cpu45nm", "name": "mine",
                             "constants": {"fp32_add": {"pJ": 2.0, "source": "my measurement"}}}))
    r = build_report(g, act, str(f))
    assert r["energy_model"]["name"] == "mine"
    assert r["energy_model"]["constants"]["fp32_add"] == {"pJ": 2.0, "source": "my measurement"}
    assert r["total"]["energy_pJ"]["by_count"]["acs"] == pytest.approx(2.0 * r["total"]["per_inference"]["acs"])
    f.write_text(json.dumps({"extends": "cpu45nm", "constants": {"fp32_add": {"pJ": 2.0}}}))
    with pytest.raises(EnergyModelError, match="constants.fp32_add: missing key 'source'"):
        load_model(str(f))
    f.write_text("{not json")
    with pytest.raises(EnergyModelError, match="invalid JSON"):
        load_model(str(f))


def test_builtin_models_cite_every_constant():
    for name in ("cpu45nm", "loihi1", "loihi2"):
        m = load_model(name)
        assert all(c.source for c in m.constants.values())
    assert all("borrowed from Loihi 1" in c.source for c in load_model("loihi2").constants.values())
    assert load_model("cpu45nm").unit_prices("fp32", 1e9)["acs"] == 0.9
    assert load_model("cpu45nm").memory_tier(2e6) == "dram"


def test_graph_of_artifact_asks_the_target(tmp_path):
    from types import SimpleNamespace

    from snnc.compiler.errors import SnncError
    from snnc.cli.report import graph_of_artifact
    g = recurrent_graph("LIF")
    save(g, tmp_path / "m.snn")
    assert list(graph_of_artifact("numpy", None, tmp_path / "m.snn").nodes) == list(g.nodes)
    assert graph_of_artifact("onnx", SimpleNamespace(load_graph=lambda p: g), tmp_path / "m.onnx") is g
    with pytest.raises(SnncError, match="target 'loihi' cannot give back its graph yet"):
        graph_of_artifact("loihi", SimpleNamespace(), tmp_path / "net")


def test_quantized_graph_is_priced_in_int8():
    from snnc.compiler import Graph, Input
    from snnc.compiler.ir import PRIMITIVES as P
    g = Graph()
    g.add("x", Input(3, "spike"))
    g.add("fc", P["LoihiDense"](np.array([[2, 0, 4], [0, 0, -6]])))
    g.add("n", P["LoihiLIF"](du=np.full(2, 4095), dv=np.zeros(2, int), vth=np.full(2, 10)))
    g.connect("x", "fc")
    g.connect("fc", "n")
    g.outputs = ["n"]
    r = _report(g, spikes(10, 1, 3), "float64")
    assert r["energy_model"]["precision"] == "int8"
    pi = r["total"]["per_inference"]
    assert r["total"]["energy_pJ"]["by_count"]["acs"] == pytest.approx(0.1 * pi["acs"])  # int32 accumulate
    assert r["total"]["energy_pJ"]["by_count"]["weight_reads"] == pytest.approx(10.0 * 8 / 64 * pi["weight_reads"])
