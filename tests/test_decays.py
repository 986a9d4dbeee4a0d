"""Decays in (0, 1] and time constants > 0 (issue 15.3): each bad value through `snnc compile` is exit 1 and one line
naming the node and the field; `--limit check_decays=0` / SNNC_MAX_CHECK_DECAYS=0 opt out; Loihi's integer decays
follow their own 12-bit range, where du = dv = 0 is legitimate."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import recurrent_graph
from fuzzing import snnc

from snnc.compiler import serialize
from snnc.compiler.ir import Graph
from snnc.compiler.primitives import AHP, SPSN, Dense, Input, LoihiDense, LoihiLI, LoihiLIF
from snnc.compiler.primitives.lif import CubaLI

COMPILE = ["-t", "numpy", "-o", "out.snn"]


def _save_with(tmp_path: Path, monkeypatch, g: Graph, name: str = "bad.snn") -> str:
    with monkeypatch.context() as m:  # the graph is bad on purpose: write it past the check
        m.setenv("SNNC_MAX_CHECK_DECAYS", "0")
        serialize.save(g, tmp_path / name)
    return name


def _one_neuron_graph(node) -> Graph:
    g = Graph(meta={"dt": 1.0})
    g.add("x", Input(3, "spike"))
    g.add("fc", Dense.of(np.ones((node.size, 3))))
    g.add("n", node)
    g.connect("x", "fc")
    g.connect("fc", "n")
    if "noise" in node.ports:
        g.add("u", Input(node.size, "graded"))
        g.connect("u", "n", "noise")
    g.outputs = ["n"]
    return g


def _bad(node, field: str, value: float):
    a = np.array(getattr(node, field), dtype=np.float64)
    a[1] = value
    return node.replace(**{field: a})


CASES = [("LIF", "n1", "alpha"), ("CubaLIF", "n1", "alpha_syn"), ("CubaLIF", "n1", "alpha_mem"),
         ("ALIF", "n1", "alpha"), ("ALIF", "n1", "rho"), ("LI", "out", "alpha")]


@pytest.mark.parametrize("value", [0.0, 1.5, -0.25])
@pytest.mark.parametrize("kind, node, field", CASES)
def test_bad_decay_in_an_snn_is_one_line_naming_the_node(tmp_path, monkeypatch, kind, node, field, value):
    g = recurrent_graph(kind)
    g.nodes[node] = _bad(g.nodes[node], field, value)
    name = _save_with(tmp_path, monkeypatch, g)
    rc, err = snnc(["compile", name, *COMPILE], tmp_path, ("out.snn",))
    prim = type(g.nodes[node]).__name__
    assert rc == 1
    assert f"node '{node}' ({prim}): decay '{field}' must lie in (0, 1], got {value} at index 1" in err, err
    assert "--limit check_decays=0" in err


@pytest.mark.parametrize("make, field", [
    (lambda: CubaLI(alpha_syn=[0.5, 0.6], alpha_mem=[0.9, 0.8], gain=[1.0, 1.0]), "alpha_mem"),
    (lambda: AHP(alpha=[0.9, 0.9], alpha_aux=[0.8, 0.8], w_ahp=[-0.5, -0.5], gain=[1.0, 1.0], theta=[0.5, 0.5]), "alpha_aux"),
    (lambda: SPSN(alpha=[0.5, 0.5], beta=[0.9, 0.9], stochastic=True), "beta"),
])
def test_zero_decay_of_the_other_families(tmp_path, monkeypatch, make, field):
    node = _bad(make(), field, 0.0)
    name = _save_with(tmp_path, monkeypatch, _one_neuron_graph(node))
    rc, err = snnc(["compile", name, *COMPILE], tmp_path, ("out.snn",))
    assert rc == 1
    assert f"node 'n' ({type(node).__name__}): decay '{field}' must lie in (0, 1], got 0.0 at index 1" in err, err


def test_opt_out_by_option_and_by_environment(tmp_path, monkeypatch):
    g = recurrent_graph("LIF")
    g.nodes["n1"] = _bad(g.nodes["n1"], "alpha", 0.0)
    name = _save_with(tmp_path, monkeypatch, g)
    assert snnc(["compile", name, *COMPILE], tmp_path, ("out.snn",))[0] == 1
    assert snnc(["--limit", "check_decays=0", "compile", name, *COMPILE], tmp_path, ("out.snn",))[0] == 0
    (tmp_path / "out.snn").unlink()
    monkeypatch.setenv("SNNC_MAX_CHECK_DECAYS", "0")
    assert snnc(["compile", name, *COMPILE], tmp_path, ("out.snn",))[0] == 0


def test_loihi_integer_decays_of_zero_are_accepted(tmp_path, monkeypatch):
    """du = dv = 0 is Lava's slowest decay (u keeps 4095/4096, v all of itself), not a zero float decay."""
    g = Graph(meta={"dt": 1.0})
    g.add("x", Input(3, "spike"))
    g.add("fc", LoihiDense(np.full((2, 3), 2, np.int64), 0))
    g.add("n", LoihiLIF(du=np.zeros(2, np.int64), dv=np.zeros(2, np.int64), vth=np.full(2, 100, np.int64)))
    g.add("fc2", LoihiDense(np.full((2, 2), 2, np.int64), 0))
    g.add("o", LoihiLI(dv=np.zeros(2, np.int64)))
    for a, b in (("x", "fc"), ("fc", "n"), ("n", "fc2"), ("fc2", "o")):
        g.connect(a, b)
    g.outputs = ["o"]
    serialize.save(g, tmp_path / "loihi.snn")
    rc, err = snnc(["compile", "loihi.snn", *COMPILE], tmp_path, ("out.snn",))
    assert rc == 0, err


ZOO = [("srnn", "sizes=[6,5,5,3]", "layer1", "ALIFLayer", "tau_adp"),
       ("cuba", "sizes=[6,5,5,3]", "layer1", "CubaLIFLayer", "tau_syn"),
       ("ahp", "sizes=[6,5,3]", "layer1", "AHPLayer", "tau_ahp"),
       ("spsn", "sizes=[6,5,5,3]", "layer2", "SPSNLayer", "tau_mem"),
       ("spsn", "sizes=[6,5,5,3]", "readout", "LIReadout", "tau_m")]


@pytest.mark.parametrize("tau", [0.0, -3.0])
@pytest.mark.parametrize("arch, sizes, layer, cls, field", ZOO)
def test_non_positive_time_constant_in_a_model_file_names_the_module(tmp_path, arch, sizes, layer, cls, field, tau):
    import torch

    from snnc.frontends.modelfile import checksum
    assert snnc(["zoo", arch, "-o", "m.pt", "--set", sizes], tmp_path)[0] == 0
    doc = torch.load(tmp_path / "m.pt", weights_only=True)
    key = f"{layer}.{field}"
    doc["state_dict"][key] = doc["state_dict"][key].clone()
    doc["state_dict"][key][2] = tau
    doc["checksum"] = checksum(doc["arch"], doc["config"], doc["state_dict"])
    torch.save(doc, tmp_path / "tau.pt")
    rc, err = snnc(["compile", "tau.pt", *COMPILE], tmp_path, ("out.snn",))
    assert rc == 1
    assert f"module '{layer}' ({cls}): time constant '{field}' must be positive and finite, got {tau} at index 2" in err, err
