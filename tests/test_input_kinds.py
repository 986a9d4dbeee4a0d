"""Input kinds: spike or graded, declared or inferred from data (never from an all-zero tracing example),
recorded in every artifact, checked at run time, and carried unchanged by every target."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from snnc.compiler import Dense, Graph, Input, LI
from snnc.compiler.errors import InputError, SnncError
from snnc.compiler.inputkinds import parse_kinds, resolve
from snnc.compiler.serialize import load
from snnc.frontends import LIFLayer, LIReadout
from snnc.frontends.tracing import trace


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(LIFLayer(4, 6), LIReadout(6, 3))


def test_trace_defaults_to_graded_never_from_zero_example():
    g = trace(_model(), torch.zeros(3, 1, 4))  # all zeros: once typed every input as binary spikes
    assert g.nodes[g.inputs[0]].kind == "graded"
    assert trace(_model(), torch.zeros(3, 1, 4), input_kind="spike").nodes[g.inputs[0]].kind == "spike"
    with pytest.raises(SnncError, match="input_kind must be"):
        trace(_model(), torch.zeros(3, 1, 4), input_kind="binary")


def test_resolve_order_declared_file_data_default():
    g = trace(_model(), torch.zeros(3, 1, 4))
    x = g.inputs[0]
    binary = np.ones((2, 1, 4))
    ternary = np.array([-1.0, 0, 1, 0]).reshape(1, 1, 4)
    assert resolve(g, data=binary).nodes[x].kind == "spike"
    assert resolve(g, data=ternary).nodes[x].kind == "graded"
    assert resolve(g).meta["input_kinds"][x] == {"kind": "graded", "from": "default"}
    assert resolve(g, "graded", binary).meta["input_kinds"][x] == {"kind": "graded", "from": "declared"}
    assert resolve(g, None, binary, recorded={x: "graded"}).nodes[x].kind == "graded"
    assert parse_kinds(f"{x}=spike") == {x: "spike"} and parse_kinds("graded") == "graded"
    with pytest.raises(SnncError, match="not a graph input"):
        resolve(g, {"nope": "spike"})
    with pytest.raises(SnncError, match="expected 'spike', 'graded'"):
        parse_kinds("x=binary")


def _identity_graph(kind: str) -> Graph:
    """y_t = x_t: an identity Dense into a leak-free, gain-1 LI with alpha 0 (so the output is the input)."""
    g = Graph(meta={"dt": 1.0})
    g.add("x", Input(3, kind))
    g.add("d", Dense.of(np.eye(3)))
    g.add("o", LI(alpha=np.zeros(3), gain=np.ones(3)))
    g.connect("x", "d")
    g.connect("d", "o")
    g.outputs = ["o"]
    return g


GRADED_X = np.array([[[-1.0, 0.5, 2.0]], [[0.0, -0.25, 1.0]], [[-3.0, 1.0, 0.0]], [[1.0, -1.0, 0.0]]])


@pytest.mark.parametrize("target", ["numpy", "onnx", "loihi"])
@pytest.mark.usefixtures("memoryless")  # LI with alpha 0: output = input
def test_graded_negative_input_reaches_every_target_unchanged(target):
    from snnc.compiler.targets import get_target
    outs, _ = get_target(target).run_graph(_identity_graph("graded"), GRADED_X, {"dtype": "float64"})
    np.testing.assert_allclose(outs["o"], GRADED_X, atol=1e-12)  # −1 stays −1 (it once reached Lava as +1)


@pytest.mark.parametrize("target", ["numpy", "onnx", "loihi"])
@pytest.mark.usefixtures("memoryless")  # LI with alpha 0: output = input
def test_spike_input_fed_other_values_is_an_error(target):
    from snnc.compiler.targets import get_target
    with pytest.raises(InputError, match=r"input 'x' is a spike input .* holds -1 at \[t, b, f\] = \[0, 0, 0\]"):
        get_target(target).run_graph(_identity_graph("spike"), GRADED_X, {"dtype": "float64"})


def test_fixed_point_graph_refuses_fractional_graded_input():
    from snnc.compiler.passes.quantize import quantize
    from snnc.runtime.numpy.runtime import NumpyRuntime
    from conftest import recurrent_graph
    g = recurrent_graph("LIF")
    g.nodes["x"] = Input(6, "graded")
    calib = np.random.default_rng(0).integers(-2, 3, (5, 2, 6)).astype(float)  # integers: the input is not encoded
    q = quantize(g, "loihi", calib=calib)
    assert "x.encode" not in q.nodes
    x = np.zeros((3, 1, 6))
    x[1, 0, 2] = 0.5
    with pytest.raises(InputError, match=r"takes graded inputs as integers, got 0.5 at \[t, b, f\] = \[1, 0, 2\]"):
        NumpyRuntime(q, "float64").run(x)
    x[1, 0, 2] = -1.0  # integers pass, negative ones included
    NumpyRuntime(q, "float64").run(x)


def test_cli_records_kinds_in_every_artifact(run_snnc, tmp_path):
    from snnc.backends.onnx.target import load_graph as onnx_graph
    from snnc.backends.lava.target import load_graph as lava_graph
    from snnc.frontends.modelfile import save_model
    from snnc.frontends import zoo
    m, cfg = zoo.build("lif-srnn", {"sizes": [4, 6, 3]})
    save_model(tmp_path / "m.pt", "lif-srnn", cfg, m)
    np.save(tmp_path / "bin.npy", (np.random.default_rng(0).random((5, 2, 4)) < 0.5).astype(np.float32))
    np.save(tmp_path / "ecg.npy", np.random.default_rng(0).integers(-1, 2, (5, 2, 4)).astype(np.float32))
    run_snnc("compile", "m.pt", "-t", "numpy", "-o", "d.snn", check=True)
    g = load(tmp_path / "d.snn")
    x = g.inputs[0]
    assert g.nodes[x].kind == "graded" and g.meta["input_kinds"][x]["from"] == "default"
    run_snnc("compile", "m.pt", "-t", "numpy", "--quantize", "int8", "--calib", "bin.npy", "-o", "s.snn", check=True)
    assert load(tmp_path / "s.snn").nodes[x].kind == "spike"
    run_snnc("compile", "m.pt", "-t", "onnx", "--input-kind", "spike", "-o", "s.onnx", check=True)
    assert onnx_graph(tmp_path / "s.onnx").nodes[x].kind == "spike"
    run_snnc("compile", "m.pt", "-t", "loihi", "--input-kind", f"{x}=graded", "-o", "g.lava", check=True)
    assert lava_graph(tmp_path / "g.lava").nodes[x].kind == "graded"
    # the spike-typed artifact refuses the ternary ECG-like input, naming input and value
    p = run_snnc("run", "s.onnx", "--input", "ecg.npy")
    assert p.returncode == 1 and f"input '{x}' is a spike input" in p.stderr and "--input-kind" in p.stderr
    # saved with a kind, the model file wins over the data
    save_model(tmp_path / "k.pt", "lif-srnn", cfg, m, input_kind="graded")
    run_snnc("compile", "k.pt", "-t", "numpy", "--quantize", "int8", "--calib", "bin.npy", "-o", "k.snn", check=True)
    assert load(tmp_path / "k.snn").meta["input_kinds"][x] == {"kind": "graded", "from": "model file"}
