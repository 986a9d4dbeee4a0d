"""`snnc report --compare`: dense and effective figures of the non-spiking network, the break-even spike rate,
and an LSTM report without negative counts."""
from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def srnn_report(tmp_path_factory):
    import subprocess
    import sys
    d = tmp_path_factory.mktemp("verdict")
    snnc = [sys.executable, "-m", "snnc.cli.main"]
    for args in (["zoo", "srnn", "-o", "m.pt"], ["compile", "m.pt", "-t", "numpy", "-o", "m.snn"],
                 ["report", "m.snn", "--compare", "lstm", "--steps", "50", "--batch", "2", "--json", "r.json",
                  "--plot", "r.png"]):
        p = subprocess.run(snnc + args, cwd=d, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr
    return p.stdout, json.loads((d / "r.json").read_text()), d


def test_compare_shows_dense_effective_and_the_break_even(srnn_report):
    out, doc, d = srnn_report
    c = doc["compare"]
    assert "effective (NeuroBench convention, same input)" in out and "break-even vs dense LSTM" in out
    assert "break-even vs effective LSTM" in out and "assumptions:" in out
    # 5 % random input spikes: skipping the zero inputs leaves fewer MACs than dense, so a smaller ratio
    assert 0 < c["effective_per_inference"]["macs"] < c["per_inference"]["macs"]
    assert c["ratio_energy_effective"] < c["ratio_energy"]
    v = c["verdict"]
    assert 0 < v["measured_rate"] < 1 and 0 < v["energy_at_zero_rate_pJ"] < v["energy_measured_pJ"]
    assert v["energy_measured_pJ"] == pytest.approx(c["snn_energy_pJ"])
    slope = (v["energy_measured_pJ"] - v["energy_at_zero_rate_pJ"]) / v["measured_rate"]
    for what, base in (("dense", c["energy_pJ"]), ("effective", c["effective_energy_pJ"])):
        r = v["crossover_rate"][what]
        assert v["energy_at_zero_rate_pJ"] + r * slope == pytest.approx(base, rel=1e-9)
    assert v["crossover_rate"]["effective"] < v["crossover_rate"]["dense"]
    assert (d / "r.png").stat().st_size > 10_000


def test_lstm_report_has_no_negative_count(run_snnc, tmp_path):
    run_snnc("zoo", "rc-lstm", "-o", "m.pt", check=True)
    run_snnc("compile", "m.pt", "-t", "numpy", "-o", "m.snn", check=True)
    run_snnc("report", "m.snn", "--compare", "lstm", "--json", "r.json", check=True)
    doc = json.loads((tmp_path / "r.json").read_text())
    for node in doc["nodes"]:
        c = node["per_inference"]
        assert all(v >= 0 for v in c.values()), (node["name"], c)
        assert c["active_updates"] <= c["neuron_updates"]
    lstm = [n for n in doc["nodes"] if n["primitive"] == "LSTM"]
    assert lstm and lstm[0]["per_inference"]["active_updates"] == lstm[0]["per_inference"]["neuron_updates"]
    conv = doc["neurobench"]["LSTM_NeuroBench_convention"]
    assert set(conv) == {lstm[0]["name"]}
