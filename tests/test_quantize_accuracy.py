"""quantize(loihi) keeps the trained fixtures' accuracy (issue 12.2): the NumPy integer runtime after quantize against
the float graph, on (a subset of) each Loihi-capable fixture's test split: at most 1 point lost on ECG, 2 on the
others, with a calibration set from the train split and, where the inputs are integers, without one."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from snnc.compiler.errors import InputError
import torch

import snnc
from snnc.compiler.passes.quantize import quantize
from snnc.frontends import zoo
from snnc.frontends.datasets import load_dataset
from snnc.runtime.numpy.runtime import NumpyRuntime

# fixture: (test samples, calibration samples from the train split, most points lost)
CASES = {"ecg": (60, 20, 1.0), "digits-srnn": (540, 200, 2.0), "digits-ltc": (300, 100, 2.0),
         "digits-spsn": (540, 200, 2.0)}


def _readout(graph, x, scale=None):
    """The quantity each fixture is classified on: ECG the output ALIF's membrane at every step (the graph output
    `readout.alif.v`), else the last step of the graded readout; quantized values are dequantized per neuron."""
    out = graph.outputs[0]
    node, var = graph.output_ref(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stochastic SPSN: both runs draw the same seeded noise
        if graph.nodes[node].out_kind == "spike" and var is None:  # a spiking output: classify on its membrane
            y, act = NumpyRuntime(graph, "float64", record=[node]).run(x)
            v = act.traces[node]["v"]
        else:
            y, _ = NumpyRuntime(graph, "float64").run(x)
            v = y[out]
    if scale is None:
        return v
    return v / np.asarray(scale[out] if out in scale else scale[node], float)


def _accuracy(name, v, y):
    return float((v.argmax(-1) == y).mean()) if name == "ecg" else float((v[-1].argmax(-1) == y).mean())


@pytest.mark.parametrize("name", list(CASES))
def test_loihi_quantization_keeps_the_accuracy(name):
    n_test, n_calib, points = CASES[name]
    model, _ = zoo.load_pretrained(name)
    x, y = load_dataset(name, "test")
    x, y = x[:, :n_test].astype(np.float64), y[..., :n_test]
    calib = load_dataset(name, "train")[0][:, :n_calib].astype(np.float64)
    g = snnc.trace(model, torch.as_tensor(x[:, :1], dtype=torch.float32))
    ref = _accuracy(name, _readout(g, x), y)
    assert ref > 0.5, ref  # a trained fixture
    integer_inputs = np.array_equal(calib, np.trunc(calib))
    for c in (calib, None):
        q = quantize(g, "loihi", calib=c)
        rep = q.meta["passes"][-1]
        if c is None and not integer_inputs:
            # without a range snnc cannot encode non-integer inputs for Loihi: the pass says so, and the integer
            # runtime refuses the fractional values instead of truncating them
            assert any("reaches Loihi as integers" in n for n in rep["notes"]), rep["notes"]
            with pytest.raises(InputError, match="takes graded inputs as integers"):
                _readout(q, x, rep["scales"])
            continue
        acc = _accuracy(name, _readout(q, x, rep["scales"]), y)
        assert acc >= ref - points / 100, (name, "calibrated" if c is not None else "uncalibrated", ref, acc)
        for d, lay in rep["layers"].items():  # no neuron lost its inputs, few weights flushed (the tiniest)
            if "flushed" in lay:
                assert lay["flushed"] <= 0.15 * lay["nonzero"] and lay["neurons_without_input"] == 0, (d, lay)
