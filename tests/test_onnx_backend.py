"""ONNX backend: onnxruntime against the NumPy reference runtime, loop vs step model, graph hygiene, errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import onnx  # the onnx extra is part of `make setup`: a missing onnx is a failure, never a skip
from factories_onnx import B, KINDS, compare, inputs, multilayer, single

from snnc.backends.onnx.lower import lower
from snnc.compiler.errors import InputError, LoweringError, SnncError
from snnc.compiler.primitives import CubaLIF, Dense
from snnc.compiler.targets import get_target, target_for_artifact
from snnc.runtime.numpy.runtime import NumpyRuntime
from snnc.runtime.onnx.runtime import OnnxRuntime


@pytest.mark.parametrize("kind", KINDS)
def test_primitive_matches_numpy(kind: str) -> None:
    g = single(kind)
    compare(g, inputs(g))


@pytest.mark.parametrize("kind", KINDS)
def test_step_model_states_match_numpy_membranes(kind: str) -> None:
    """The step model's state outputs are the membranes (and currents, thresholds) of the NumPy run."""
    g = single(kind)
    x = inputs(g, T=100)
    ref = NumpyRuntime(g, "float32", record=["pop"])
    ref.run(x)
    traces = ref.activity().traces["pop"]
    model = lower(g, mode="step")
    rt = OnnxRuntime(model)
    rt.reset(B)
    xs = x if isinstance(x, dict) else {"in": x}
    for t in range(xs["in"].shape[0]):
        prev = dict(rt.state)
        rt.step({k: v[t] for k, v in xs.items()})
        for var in g.nodes["pop"].states:
            got = rt.state[f"pop.{var}"]
            assert prev[f"pop.{var}"] is not got
            np.testing.assert_allclose(got, traces[var][t], atol=1e-5, rtol=0, err_msg=f"{var} at step {t}")


def test_multilayer_recurrent_with_delays_matches_numpy() -> None:
    g = multilayer()
    compare(g, inputs(g, T=150, B=4))


def test_loop_and_step_models_agree() -> None:
    g = multilayer()
    x = inputs(g, T=110)
    loop_out, loop_act = OnnxRuntime(lower(g, mode="loop")).run(x)
    step_out, step_act = OnnxRuntime(lower(g, mode="step")).run(x)
    for o in g.outputs:
        np.testing.assert_allclose(step_out[o], loop_out[o], atol=1e-6, rtol=0)
    assert set(loop_act.nonzero) == set(step_act.nonzero) and loop_act.kinds == step_act.kinds
    for n in loop_act.nonzero:
        np.testing.assert_array_equal(step_act.nonzero[n], loop_act.nonzero[n])


def test_node_count_independent_of_T_and_dynamic_shapes() -> None:
    g = multilayer()
    model = lower(g)
    body = next(a.g for n in model.graph.node if n.op_type == "Loop" for a in n.attribute if a.name == "body")
    n_nodes = len(model.graph.node) + len(body.node)
    dims = [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims[:2] == ["T", "B"]
    rt = OnnxRuntime(model)
    for t, b in [(3, 1), (130, 5), (7, 2)]:
        x = inputs(g, T=t, B=b, seed=t)
        out, act = rt.run(x)
        ref, _ = NumpyRuntime(g, "float32").run(x)
        assert out["readout"].shape == (t, b, 5) and act.nonzero["n1"].shape == (t, b)
        np.testing.assert_allclose(out["readout"], ref["readout"], atol=1e-5, rtol=0)
    assert len(model.graph.node) + len(body.node) == n_nodes  # running never changes the model


def test_float64_matches_numpy_float64() -> None:
    g = multilayer()
    compare(g, inputs(g), dtype="float64", tol=1e-12)


@pytest.mark.parametrize("mode", ["loop", "step"])
def test_checker_shapes_and_names(mode: str) -> None:
    g = multilayer()
    model = lower(g, mode=mode)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    graphs = [inferred.graph] + [a.g for n in inferred.graph.node for a in n.attribute if a.name == "body"]
    for gr in graphs:
        shaped = {v.name for v in list(gr.value_info) + list(gr.input) + list(gr.output) if v.type.tensor_type.HasField("shape")}
        produced = {o for n in gr.node for o in n.output}
        assert produced <= shaped | {i.name for i in inferred.graph.initializer}, produced - shaped
    inits = {i.name for i in model.graph.initializer}
    assert {"fc1.Wt", "rec2.Wt", "n1.alpha", "readout.gain"} <= inits
    names = [n.name for gr in graphs for n in gr.node]
    assert any(n.startswith("n1/") for n in names) and any(n.startswith("readout/") for n in names)
    meta = {p.key for p in model.metadata_props}
    assert {"snnc.mode", "snnc.states"} <= meta
    if mode == "step":
        ins = {i.name for i in model.graph.input}
        outs = {o.name for o in model.graph.output}
        assert {"in", "n1.v", "n1.b", "n1.s", "n1@t-1", "n1@t-2", "n3.i", "readout.v"} <= ins
        assert {"n1.v.next", "n1@t-2.next", "readout", "n2", "n1.nonzero"} <= outs
        assert "n1.v [B, 24] float32 -> n1.v.next: v of n1" in model.doc_string


def test_missing_rule_names_node_primitive_backend(monkeypatch) -> None:
    monkeypatch.setattr(CubaLIF, "step", None)
    with pytest.raises(LoweringError, match=r"node 'n3' \(CubaLIF\).*backend 'onnx'"):
        lower(multilayer())


def test_opset_too_old_names_operator_and_opset() -> None:
    with pytest.raises(SnncError, match=r"opset 12 is too old for operator ReduceSum.*>= 13"):
        lower(multilayer(), opset=12)
    for bad in (0, "17", 10_000):
        with pytest.raises(SnncError, match="opset"):
            lower(multilayer(), opset=bad)
    assert lower(multilayer(), opset=18).opset_import[0].version == 18


def test_bad_options_and_inputs() -> None:
    g = single("LIF-zero")
    with pytest.raises(SnncError, match="onnx_mode"):
        lower(g, mode="unrolled")
    with pytest.raises(SnncError, match="dtype"):
        lower(g, dtype="float16")
    rt = OnnxRuntime(lower(g))
    with pytest.raises(InputError, match=r"expected \[T, B, 12\]"):
        rt.run(np.zeros((5, 2, 7), np.float32))
    with pytest.raises(InputError, match="rank 3"):
        rt.run(np.zeros((5, 12), np.float32))
    with pytest.raises(SnncError, match="--onnx-mode step"):
        rt.step(np.zeros((2, 12), np.float32))
    st = OnnxRuntime(lower(g, mode="step"))
    st.step(np.zeros((2, 12), np.float32))
    with pytest.raises(InputError, match="batch 3 differs"):
        st.step(np.zeros((3, 12), np.float32))


def test_rejected_models_give_one_line_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07garbage that is not a protobuf model")
    with pytest.raises(SnncError, match="onnxruntime cannot load") as e:
        OnnxRuntime(junk)
    assert "\n" not in str(e.value) and str(junk) in str(e.value)
    model = lower(single("LI"))
    model.graph.node[0].op_type = "NoSuchOp"
    with pytest.raises(SnncError, match="NoSuchOp") as e:
        OnnxRuntime(model)
    assert "\n" not in str(e.value)
    from onnx import TensorProto, helper
    foreign = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])]),
                                opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    with pytest.raises(SnncError, match="not an snnc ONNX model"):
        OnnxRuntime(foreign)


def test_target_protocol_roundtrip(tmp_path: Path) -> None:
    g = multilayer()
    target = get_target("onnx")
    x = inputs(g, T=40)
    for mode in ("loop", "step"):
        out = tmp_path / f"m_{mode}.onnx"
        line = target.compile_artifact(g, out, {"opset": 17, "onnx_mode": mode})
        assert str(out) in line and "opset 17" in line
        assert target.is_artifact(out) and target_for_artifact(out)[0] == "onnx"
        y, act = target.run_artifact(out, x, {})
        ref, _ = NumpyRuntime(g, "float32").run(x)
        np.testing.assert_allclose(y["readout"], ref["readout"], atol=1e-5, rtol=0)
        text = target.inspect_artifact(out, {})
        macs = sum(v.W.size for v in g.nodes.values() if isinstance(v, Dense))
        assert f"{macs:,} MACs" in text and "MatMul" in text and "initializers:" in text
    y2, _ = target.run_graph(g, x, {"dtype": "float64"})
    assert y2["readout"].dtype == np.float64
    assert not target.is_artifact(tmp_path / "nothing.snn")
