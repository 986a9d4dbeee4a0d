"""A node's state as a graph output (`node.v`): IR, tracing (readout="v"), every backend, `snnc run --record`,
and quantized values dequantized to float."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from conftest import recurrent_graph, spikes
from snnc.compiler.errors import GraphError, TraceError
from snnc.compiler.serialize import from_bytes, load, save, to_bytes
from snnc.compiler.targets import get_target
from snnc.compiler.verify import verify
from snnc.frontends import ALIFLayer, LIFLayer
from snnc.frontends.tracing import trace
from snnc.runtime.numpy.runtime import NumpyRuntime


def _state_graph(kind: str = "LIF"):
    g = recurrent_graph(kind, sizes=(6, 5, 3))
    g.outputs = ["out", "n1.v"]
    return g


def test_ir_state_outputs_verify_and_round_trip():
    g = verify(_state_graph())
    assert g.output_ref("n1.v") == ("n1", "v") and g.output_size("n1.v") == 5 and g.output_kind("n1.v") == "graded"
    assert from_bytes(to_bytes(g)).outputs == ["out", "n1.v"]
    g.outputs = ["n1.w"]
    with pytest.raises(GraphError, match="LIF 'n1' has no state 'w' \\(states: v\\)"):
        verify(g)
    g.outputs = ["nope.v"]
    with pytest.raises(GraphError, match="'nope.v' is an unknown node"):
        verify(g)


def test_numpy_state_output_is_the_recorded_state():
    g = _state_graph("ALIF")
    x = spikes(30, 2, 6, 0.5)
    outs, act = NumpyRuntime(g, "float64", record=["n1"]).run(x)
    np.testing.assert_array_equal(outs["n1.v"], act.traces["n1"]["v"])
    assert np.abs(outs["n1.v"]).max() > 0


@pytest.mark.parametrize("target", ["onnx", "loihi"])
def test_every_target_returns_the_state_output(target):
    g = _state_graph("LIF")
    x = spikes(30, 2, 6, 0.5)
    ref, _ = NumpyRuntime(g, "float64").run(x)
    outs, _ = get_target(target).run_graph(g, x, {"dtype": "float64"})
    np.testing.assert_allclose(outs["n1.v"], ref["n1.v"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(outs["out"], ref["out"], rtol=1e-9, atol=1e-9)


def test_trace_readout_v_is_the_membrane_output():
    torch.manual_seed(0)
    m = nn.Sequential(LIFLayer(4, 8, recurrent=True, theta=0.2), ALIFLayer(8, 3, b0=0.1, readout="v")).double()
    g = trace(m, torch.zeros(2, 1, 4))
    assert g.outputs == ["1.alif.v"]
    x = spikes(40, 3, 4, 0.5)
    with torch.no_grad():
        ref = m(torch.as_tensor(x)).numpy()
    outs, _ = NumpyRuntime(g, "float64").run(x)
    np.testing.assert_allclose(outs["1.alif.v"], ref, rtol=1e-12, atol=1e-12)
    bad = nn.Sequential(LIFLayer(4, 8, readout="v"), LIFLayer(8, 3))
    with pytest.raises(TraceError, match="takes the membrane '0.lif.v' of a layer with readout='v'"):
        trace(bad, torch.zeros(2, 1, 4))


def test_run_record_writes_traces(run_snnc, tmp_path):
    g = recurrent_graph("ALIF", sizes=(6, 5, 3))
    save(g, tmp_path / "m.snn")
    x = spikes(20, 2, 6, 0.5)
    np.save(tmp_path / "x.npy", x)
    ref, act = NumpyRuntime(g, "float32", record=True).run(x)
    run_snnc("run", "m.snn", "--input", "x.npy", "--record", "n1,n1.v,n1.b", "--traces", "t.npz", check=True)
    with np.load(tmp_path / "t.npz") as z:
        np.testing.assert_array_equal(z["n1"], act.traces["n1"]["out"])
        np.testing.assert_array_equal(z["n1.v"], act.traces["n1"]["v"])
        np.testing.assert_array_equal(z["n1.b"], act.traces["n1"]["b"])
    run_snnc("compile", "m.snn", "-t", "onnx", "-o", "m.onnx", check=True)
    run_snnc("run", "m.onnx", "--input", "x.npy", "--record", "n1.v", "--traces", "o.npz", check=True)
    with np.load(tmp_path / "o.npz") as z:
        np.testing.assert_allclose(z["n1.v"], act.traces["n1"]["v"], rtol=1e-5, atol=1e-6)
    p = run_snnc("run", "m.snn", "--input", "x.npy", "--record", "n1.q")
    assert p.returncode == 1 and "ALIF 'n1' has no state 'q'" in p.stderr


def test_quantized_state_output_dequantized_and_bit_exact_on_lava(run_snnc, tmp_path):
    from snnc.compiler.passes.quantize import quantize
    from snnc.compiler.readout import dequantize
    g = recurrent_graph("LIF", sizes=(6, 5, 3))
    g.outputs = ["out", "n1.v"]
    x = spikes(40, 2, 6, 0.5)
    q = quantize(g, "loihi", x)
    outs_q, _ = NumpyRuntime(q, "float64").run(x)
    lava, _ = get_target("loihi").run_graph(q, x, {})
    np.testing.assert_array_equal(lava["n1.v"], outs_q["n1.v"])  # Lava fixed_pt records the same integer membrane
    ref, _ = NumpyRuntime(g, "float64").run(x)
    v, note = dequantize(q, "n1.v", outs_q["n1.v"])
    assert note is None
    # the membrane in float units: close to the float graph's where the integer run is not saturated
    err = np.abs(v - ref["n1.v"]).mean() / np.abs(ref["n1.v"]).mean()
    assert err < 0.1, err
    save(q, tmp_path / "q.snn")
    np.save(tmp_path / "x.npy", x)
    run_snnc("run", "q.snn", "--input", "x.npy", "-o", "y.npz", "--record", "n1.v", check=True)
    run_snnc("run", "q.snn", "--input", "x.npy", "-o", "yr.npz", "--raw", "--record", "n1.v", "--traces", "r.npz", check=True)
    with np.load(tmp_path / "y.npz") as y, np.load(tmp_path / "yr.npz") as yr, np.load(tmp_path / "traces.npz") as t, \
            np.load(tmp_path / "r.npz") as r:
        np.testing.assert_allclose(y["n1.v"], v, rtol=1e-6)
        np.testing.assert_array_equal(yr["n1.v"], outs_q["n1.v"].astype(yr["n1.v"].dtype))
        assert np.all(r["n1.v"] == np.round(r["n1.v"])) and not np.all(t["n1.v"] == np.round(t["n1.v"]))
