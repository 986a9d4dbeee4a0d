"""quantize(loihi)'s input encoder on Lava: a graded input is encoded on the host, trunc(x·2^q), in the source that
feeds Lava, so Lava fixed_pt runs the trained digits fixture bit for bit as the NumPy integer runtime (it used to refuse
the graph: a float Affine among fixed-point nodes), negative values included (truncation toward zero)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import snnc
from snnc.backends.lava.lower import lower
from snnc.compiler.inputkinds import resolve
from snnc.compiler.passes.quantize import quantize
from snnc.compiler.targets import get_target
from snnc.frontends import zoo
from snnc.frontends.datasets import load_dataset
from snnc.runtime.numpy.runtime import NumpyRuntime


@pytest.fixture(scope="module")
def digits():
    model, _ = zoo.load_pretrained("digits-srnn")
    x, _ = load_dataset("digits-srnn", "test")
    g = resolve(snnc.trace(model, torch.as_tensor(x[:, :1])), "graded")
    return quantize(g, "loihi"), x[:, :3].astype(np.float64)


def test_the_encoder_is_a_host_source_not_a_float_node(digits):
    q, _ = digits
    enc = [n for n in q.nodes if type(q.nodes[n]).__name__ == "Affine"]
    assert enc, "quantize(loihi) without --calib encodes the fixture's graded [0, 1] input"
    net = lower(q)
    assert net.mode == "fixed"
    for n in enc:
        src = q.in_edges(n)[0].src
        assert n not in net.procs and src in q.inputs
        assert net.procs[src]["kind"] == "source" and "encode" in net.procs[src]["params"]


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_lava_fixed_pt_equals_numpy_integer_runtime_on_the_encoded_input(digits, sign):
    q, x = digits
    # digits are k/16, whole numbers after x·2^6: a small jitter makes the truncation matter
    xs = sign * np.clip(x + np.random.default_rng(1).uniform(0, 0.02, x.shape), 0, 1)
    enc = next(n for n in q.nodes if type(q.nodes[n]).__name__ == "Affine")
    scaled = np.asarray(q.nodes[enc].scale) * xs
    assert np.any(scaled != np.trunc(scaled)), "the test needs fractional encoded values, where truncation matters"
    ref, _ = NumpyRuntime(q, "float64").run(xs)
    got, _ = get_target("loihi").run_graph(q, xs, {"dtype": "float64"})
    for o in q.outputs:
        np.testing.assert_array_equal(np.asarray(got[o], np.float64), np.asarray(ref[o], np.float64), err_msg=o)
    assert np.any(np.asarray(ref[q.outputs[0]]) != 0)
