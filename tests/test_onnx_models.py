"""ONNX backend on whole models: EarlyExit's Loop condition, drawn noise, the pass primitives (Int8Dense, Affine),
activity counting and every registered primitive's example, each against the NumPy runtime."""
from __future__ import annotations

import numpy as np
import pytest

import onnx  # the onnx extra is part of `make setup`: a missing onnx is a failure, never a skip
from factories_onnx import F, inputs, multilayer, neuron, single

from snnc.backends.onnx.lower import lower
from snnc.compiler.errors import LoweringError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives import LI, Dense, EarlyExit, Input
from snnc.runtime.numpy.runtime import NumpyRuntime
from snnc.runtime.onnx.runtime import OnnxRuntime


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
        np.testing.assert_allclose(out[o], ref[o], atol=1e-5, rtol=1e-5)  # float32 sums in another order: values reach ~20 (CubaLI)
    for k in ("node:decision", "node:time"):
        if k in ref:
            np.testing.assert_array_equal(out[k], ref[k])
    np.testing.assert_array_equal(act.steps, ref_act.steps)
