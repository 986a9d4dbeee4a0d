"""ONNX backend: onnxruntime against the NumPy reference runtime, loop vs step model, graph hygiene, errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import onnx  # the onnx extra is part of `make setup`: a missing onnx is a failure, never a skip

from snnc.backends.onnx.lower import lower
from snnc.compiler.errors import InputError, LoweringError, SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives import AHP, ALIF, LI, LIF, LSTM, LTC, SPSN, CubaLIF, Dense, EarlyExit, Input, LTCReadout  # noqa: E402
from snnc.compiler.targets import get_target, target_for_artifact  # noqa: E402
from snnc.runtime.numpy.runtime import NumpyRuntime  # noqa: E402
from snnc.runtime.onnx.runtime import OnnxRuntime  # noqa: E402

T, B, F = 120, 3, 12


def neuron(kind: str, n: int, rng: np.random.Generator):
    """One population of each primitive flavour, with per-neuron parameters."""
    a = rng.uniform(0.7, 0.95, n)
    if kind.startswith("LIF-"):
        return LIF(alpha=a, gain=1 - a, theta=rng.uniform(0.3, 0.6, n), reset=kind[4:])
    if kind.startswith("CubaLIF-"):
        return CubaLIF(alpha_syn=rng.uniform(0.5, 0.8, n), alpha_mem=a, gain=(1 - a) * 0.5, theta=0.4,
                       bias=rng.uniform(0, 0.02, n), reset=kind[8:], v0=rng.uniform(0, 0.2, n))
    if kind == "ALIF":
        return ALIF(alpha=a, rho=rng.uniform(0.9, 0.99, n), b0=0.3, beta=1.8, R=1.5, v0=rng.uniform(0, 0.1, n))
    if kind == "LI":
        return LI(alpha=a, gain=1 - a, v0=0.1)
    gate = lambda: (rng.normal(0, 0.4, (n, 2 * n)), rng.normal(0, 0.5, n))  # noqa: E731
    if kind == "LTC":
        (Wa, ba), (Wr, br) = gate(), gate()
        return LTC(Wa, ba, Wr, br, b0=0.1, beta=0.5, v0=rng.uniform(0, 0.1, n))
    if kind == "LTCReadout":
        return LTCReadout(*gate(), v0=0.05)
    if kind == "AHP":
        return AHP(alpha=a, alpha_aux=rng.uniform(0.5, 0.9, n), w_ahp=-rng.uniform(0.1, 0.5, n), gain=1 - a, theta=0.3)
    if kind.startswith("SPSN"):
        return SPSN(alpha=rng.uniform(0.5, 0.9, n), beta=a, stochastic=kind == "SPSN-stochastic")
    if kind == "LSTM":
        return LSTM(rng.normal(0, 0.4, (4 * n, n)), rng.normal(0, 0.3, (4 * n, n)), rng.normal(0, 0.2, 4 * n))
    raise ValueError(kind)


KINDS = ([f"LIF-{r}" for r in ("zero", "subtract", "none")] + [f"CubaLIF-{r}" for r in ("zero", "subtract", "none")]
         + ["ALIF", "LI", "LTC", "LTCReadout", "AHP", "SPSN-stochastic", "SPSN-deterministic", "LSTM"])
GRADED_ONLY = ("LI", "LTCReadout", "LSTM")  # no recurrent Dense in their single-node test graph


def single(kind: str, seed: int = 0) -> Graph:
    """in -> fc -> <primitive> (spiking ones with a delay-1 recurrent Dense)."""
    rng = np.random.default_rng(seed)
    g = Graph()
    g.add("in", Input(F))
    g.add("fc", Dense.of(rng.normal(0, 0.8, (16, F)), rng.normal(0.1, 0.1, 16)))
    g.add("pop", neuron(kind, 16, rng))
    g.connect("in", "fc")
    g.connect("fc", "pop")
    if kind == "SPSN-stochastic":  # the uniform noise is a model input, so every backend sees the same numbers
        g.add("noise", Input(16))
        g.connect("noise", "pop", port="noise")
    if kind not in GRADED_ONLY:
        g.add("rec", Dense.of(rng.normal(0, 0.3, (16, 16))))
        g.connect("pop", "rec", delay=1)
        g.connect("rec", "pop")
    g.outputs = ["pop"]
    return g


def multilayer(seed: int = 1) -> Graph:
    """Three recurrent layers (ALIF, LIF-subtract, CubaLIF), delay-1 and delay-2 edges, a skip, an LI readout."""
    rng = np.random.default_rng(seed)
    g = Graph()
    g.add("in", Input(F, "spike"))
    prev, width = "in", F
    for i, kind in enumerate(["ALIF", "LIF-subtract", "CubaLIF-zero"], 1):
        g.add(f"fc{i}", Dense.of(rng.normal(0, 1.2, (24, width)), rng.normal(0.05, 0.05, 24)))
        g.add(f"n{i}", neuron(kind, 24, rng))
        g.add(f"rec{i}", Dense.of(rng.normal(0, 0.4, (24, 24))))
        g.connect(prev, f"fc{i}")
        g.connect(f"fc{i}", f"n{i}")
        g.connect(f"n{i}", f"rec{i}", delay=i % 2 + 1)  # delay 2, 1, 2
        g.connect(f"rec{i}", f"n{i}")
        prev, width = f"n{i}", 24
    g.add("skip", Dense.of(rng.normal(0, 0.5, (24, 24))))
    g.connect("n1", "skip", delay=2)
    g.connect("skip", "n3")
    g.add("out", Dense.of(rng.normal(0, 1, (5, 24))))
    g.add("readout", LI(alpha=np.full(5, 0.9), gain=0.1))
    g.connect("n3", "out")
    g.connect("out", "readout")
    g.outputs = ["readout", "n2"]
    return g


def inputs(g: Graph, T: int = T, B: int = B, seed: int = 2) -> np.ndarray | dict[str, np.ndarray]:
    """Spikes or Gaussian currents for "in", uniform noise for a "noise" input."""
    rng = np.random.default_rng(seed)
    if g.nodes["in"].kind == "spike":
        x = (rng.random((T, B, F)) < 0.3).astype(np.float32)
    else:
        x = rng.normal(0.3, 0.8, (T, B, F)).astype(np.float32)
    if "noise" in g.nodes:
        return {"in": x, "noise": rng.random((T, B, g.nodes["noise"].size)).astype(np.float32)}
    return x


def compare(g: Graph, x: np.ndarray, dtype: str = "float32", tol: float = 1e-5) -> None:
    """onnxruntime (loop model) vs the NumPy runtime: graded within tol, spikes and counts ~identical."""
    ref, ref_act = NumpyRuntime(g, dtype).run(x)
    out, act = OnnxRuntime(lower(g, dtype=dtype)).run(x)
    for o in g.outputs:
        assert out[o].shape == ref[o].shape and out[o].dtype == np.dtype(dtype)
        if g.nodes[o].out_kind == "spike":
            assert ref[o].mean() > 0.01, f"{o} hardly spikes: the test would prove nothing"
            assert (out[o] == ref[o]).mean() >= 0.999, o
        else:
            np.testing.assert_allclose(out[o], ref[o], atol=tol, rtol=0, err_msg=o)
    for n, nz in act.nonzero.items():
        assert (nz == ref_act.nonzero[n]).mean() >= 0.999, n
    assert set(act.nonzero) >= {n for n, v in g.nodes.items() if v.out_kind == "spike"}


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


def exit_graph(theta: float, readout: str = "softmax", seed: int = 3) -> Graph:
    """A recurrent ALIF layer, an LI readout and an EarlyExit deciding among 5 classes."""
    rng = np.random.default_rng(seed)
    g = single("ALIF", seed)
    g.add("out", Dense.of(rng.normal(0, 1.5, (5, 16))))
    g.add("li", LI(alpha=np.full(5, 0.9), gain=0.3))
    g.add("exit", EarlyExit(5, theta, readout))
    g.connect("pop", "out")
    g.connect("out", "li")
    g.connect("li", "exit")
    g.outputs = ["exit", "pop"]
    return g


# (theta, readout, which samples decide early): all of them, some, none
EXIT_CASES = [(0.7, "softmax", "all"), (0.99, "softmax", "some"), (1.0, "softmax", "none"), (0.99, "sigmoid", "all")]


@pytest.mark.parametrize("theta,readout,early", EXIT_CASES)
def test_early_exit_matches_numpy(theta: float, readout: str, early: str) -> None:
    g = exit_graph(theta, readout)
    x = inputs(g, T=100, B=8)
    ref, ref_act = NumpyRuntime(g, "float32").run(x)
    times = ref["exit:time"]
    assert {"all": times.max() < 99, "some": 0 < (times < 99).sum() < 8, "none": (times == 99).all()}[early], times
    for mode in ("loop", "step"):
        out, act = OnnxRuntime(lower(g, mode=mode)).run(x)
        np.testing.assert_array_equal(out["exit:decision"], ref["exit:decision"])
        np.testing.assert_array_equal(out["exit:time"], times)
        np.testing.assert_array_equal(act.steps, ref_act.steps)
        np.testing.assert_allclose(out["exit"], ref["exit"], atol=1e-5, rtol=0)
        assert out["exit"].shape == (100, 8, 5)
        assert (out["pop"] == ref["pop"]).mean() >= 0.999
        for n in ("in", "pop"):
            assert (act.nonzero[n] == ref_act.nonzero[n]).mean() >= 0.999, n


def test_early_exit_errors_and_shapes() -> None:
    g = exit_graph(0.9)
    g.add("exit2", EarlyExit(5, 0.8))
    g.connect("li", "exit2")
    with pytest.raises(LoweringError, match=r"node 'exit2' \(EarlyExit\).*backend 'onnx'"):
        lower(g)
    model = lower(exit_graph(0.9))
    onnx.checker.check_model(model, full_check=True)
    outs = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
    assert outs["exit:decision"] == ["B"] and outs["exit:time"] == ["B"] and outs["exit"] == ["T", "B", 5]


def test_missing_noise_is_drawn_like_numpy() -> None:
    g = single("SPSN-stochastic")
    x = inputs(g)["in"]
    with pytest.warns(Warning, match="seed"):
        ref, _ = NumpyRuntime(g, "float32").run(x)
    with pytest.warns(Warning, match="seed"):
        out, _ = OnnxRuntime(lower(g)).run(x)
    assert ref["pop"].mean() > 0.01 and (out["pop"] == ref["pop"]).mean() >= 0.999


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pass_primitives_int8_dense_and_affine_match_numpy(dtype: str) -> None:
    from snnc.compiler.primitives.quantized import Affine, Int8Dense

    rng = np.random.default_rng(5)
    g = Graph()
    g.add("in", Input(F))
    g.add("q", Int8Dense(rng.integers(-127, 128, (16, F)).astype(np.int8), rng.uniform(0.001, 0.01, 16),
                         np.asarray(0.05), rng.normal(0, 0.1, 16)))
    g.add("bn", Affine(rng.uniform(0.5, 2, 16), rng.normal(0, 0.1, 16)))
    g.add("pop", neuron("LIF-subtract", 16, rng))
    for a, b in [("in", "q"), ("q", "bn"), ("bn", "pop")]:
        g.connect(a, b)
    g.outputs = ["pop", "bn"]
    x = inputs(g)
    ref, _ = NumpyRuntime(g, dtype).run(x)
    out, _ = OnnxRuntime(lower(g, dtype=dtype)).run(x)
    np.testing.assert_allclose(out["bn"], ref["bn"], atol=1e-5, rtol=0)
    assert ref["pop"].mean() > 0.01 and (out["pop"] == ref["pop"]).mean() >= 0.999


def test_activity_all_counts_graded_nodes() -> None:
    g = multilayer()
    x = inputs(g, T=60)
    _, ref_act = NumpyRuntime(g, "float32").run(x)
    _, act = OnnxRuntime(lower(g, activity="all")).run(x)
    assert set(act.nonzero) == set(g.nodes)
    for n in ("fc1", "skip", "readout", "n2"):
        assert (act.nonzero[n] == ref_act.nonzero[n]).mean() >= 0.999, n
    _, none = OnnxRuntime(lower(g, activity="none")).run(x)
    assert set(none.nonzero) == {"in"}


# integer fixed-point primitives: Loihi's wrap-around and shift arithmetic stays with the numpy and lava targets
NO_ONNX_RULE = {"LoihiALIF", "LoihiDense", "LoihiLI", "LoihiLIF", "LoihiAHP", "LoihiSPSN", "LoihiLTC", "LoihiLTCReadout"}


def _registry():
    from snnc.compiler.ir import PRIMITIVES

    return sorted(PRIMITIVES.items())


def test_every_registered_primitive_has_a_step_or_is_listed() -> None:
    missing = sorted(n for n, cls in _registry() if (cls.step is None or cls.integer) and n not in NO_ONNX_RULE)
    assert not missing, f"primitives the onnx backend cannot emit: {missing}"


def _has_example(cls) -> bool:
    try:
        cls.example(4)
        return True
    except NotImplementedError:
        return False


@pytest.mark.parametrize("name", [n for n, cls in _registry() if n not in NO_ONNX_RULE and _has_example(cls)])
def test_registry_example_matches_numpy(name: str) -> None:
    """in -> example node (plus a noise input where it has a noise port), 100 steps, against the NumPy runtime."""
    from snnc.compiler.ir import PRIMITIVES

    rng = np.random.default_rng(7)
    node = PRIMITIVES[name].example(4, rng)
    g = Graph()
    if name == "Input":
        g.add("in", node)
        g.outputs = ["in"]
    else:
        g.add("in", Input(node.in_size("in")))
        g.add("node", node)
        g.connect("in", "node")
        if "noise" in node.ports:
            g.add("noise", Input(node.size))
            g.connect("noise", "node", port="noise")
        g.outputs = ["node"]
    x = {n: rng.normal(0.5, 1.0, (100, 3, g.nodes[n].size)) for n in g.inputs}
    x = {n: (v > 0.5).astype(float) if g.nodes[n].kind == "spike" else v for n, v in x.items()}  # a spike input takes 0/1
    if "noise" in x:
        x["noise"] = rng.random(x["noise"].shape)
    ref, ref_act = NumpyRuntime(g, "float32").run(x)
    out, act = OnnxRuntime(lower(g)).run(x)
    o = g.outputs[0]
    if g.nodes[o].out_kind == "spike":
        assert (out[o] == ref[o]).mean() >= 0.999
    else:
        np.testing.assert_allclose(out[o], ref[o], atol=1e-5, rtol=0)
    for k in ("node:decision", "node:time"):
        if k in ref:
            np.testing.assert_array_equal(out[k], ref[k])
    np.testing.assert_array_equal(act.steps, ref_act.steps)
