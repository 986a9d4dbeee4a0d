"""CubaLI (NIR's current-based leaky integrator): hand-derived golden values on every float backend, PyTorch agreement."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import GRADED, Graph
from snnc.compiler.primitives import Input
from snnc.compiler.primitives.lif import CubaLI
from snnc.frontends import trace
from snnc.frontends.cuba import CubaLIReadout
from snnc.runtime.numpy.runtime import NumpyRuntime

# alpha_syn = 0.5, alpha_mem = 0.75, gain = 2, bias = 0.25, input 1, 0, 0, 2 (one neuron, from rest):
#   i = 0.5·i + I:               1,    0.5,    0.25,     2.125
#   v = 0.75·v + 2·i + 0.25:  2.25, 2.9375, 2.953125, 6.71484375   (all exact in binary)
GOLDEN_I = [1.0, 0.5, 0.25, 2.125]
GOLDEN_V = [2.25, 2.9375, 2.953125, 6.71484375]


def golden_graph() -> Graph:
    g = Graph(meta={"dt": 1.0})
    g.add("x", Input(1, GRADED))
    g.add("li", CubaLI(alpha_syn=[0.5], alpha_mem=[0.75], gain=[2.0], bias=[0.25]))
    g.connect("x", "li")
    g.outputs = ["li"]
    return g


X = np.array([1.0, 0.0, 0.0, 2.0]).reshape(4, 1, 1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_golden_numpy(dtype):
    out, act = NumpyRuntime(golden_graph(), dtype, record=True).run(X)
    assert out["li"].ravel().tolist() == GOLDEN_V
    assert act.traces["li"]["i"].ravel().tolist() == GOLDEN_I


def test_golden_onnx():
    from snnc.backends.onnx.lower import lower
    from snnc.runtime.onnx.runtime import OnnxRuntime

    for dtype in ("float32", "float64"):
        out, _ = OnnxRuntime(lower(golden_graph(), dtype=dtype)).run(X)
        assert out["li"].ravel().tolist() == GOLDEN_V, dtype


def test_golden_lava_float():
    from snnc.backends.lava.target import run_graph

    out, act = run_graph(golden_graph(), X, {"dtype": "float64", "record": ["li"]})
    assert out["li"].ravel().tolist() == GOLDEN_V
    assert act.traces["li"]["i"].ravel().tolist() == GOLDEN_I


@pytest.mark.parametrize("v_bias", [0.0, 0.03])
def test_pytorch_module_traces_and_agrees(v_bias):
    torch.manual_seed(0)
    m = nn.Sequential(CubaLIReadout(6, 4, v_bias=v_bias, gain=0.7)).double()
    x = (torch.rand(40, 3, 6) < 0.3).double()
    g = trace(m, x[:2].float())
    assert [type(n).__name__ for n in g.nodes.values()] == ["Input", "Dense", "CubaLI"]
    rt = NumpyRuntime(g, "float64")
    rt.parallel_time = False  # stepped: the same operations in the same order
    out, _ = rt.run(x.numpy())
    np.testing.assert_array_equal(out[g.outputs[0]], m(x).detach().numpy())
    rt.parallel_time = None  # the default solves CubaLI for all T at once: the bias is added before a·v, not after
    out, _ = rt.run(x.numpy())
    assert "CubaLI" in {type(g.nodes[n]).__name__ for n in rt.last_path["parallel"]}
    np.testing.assert_allclose(out[g.outputs[0]], m(x).detach().numpy(), rtol=1e-12, atol=1e-12)


def test_validation_names_the_parameter():
    with pytest.raises(PrimitiveError, match="CubaLI: per-neuron parameters disagree"):
        CubaLI(alpha_syn=np.ones(3), alpha_mem=np.ones(2), gain=1.0)


def test_costs_counted_from_the_step():
    from snnc.compiler.cost import count

    _, act = NumpyRuntime(golden_graph(), "float64").run(X)
    table = count(golden_graph(), act)
    c = table.nodes["li"]
    # per update: alpha_syn·i, alpha_mem·v, gain·i (3 MACs; the adds fused, + bias among them), 4 updates of 1 neuron
    assert c.update_macs.tolist() == [12.0] and c.neuron_updates.tolist() == [4.0]
    assert any("CubaLI: no hand-written cost rule" in n for n in table.notes)
