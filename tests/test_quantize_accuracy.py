"""quantize(loihi) keeps the trained fixtures' accuracy (issue 12.2): the NumPy integer runtime after quantize against
the float graph, on each Loihi-capable fixture's whole test split: at most 1 point lost on ECG, 2 on the others, both
with a calibration set (32 train sequences, as `snnc verify --quantize` takes by default) and without one (the input
range recorded in the model file)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from snnc.compiler.inputkinds import resolve
from snnc.compiler.passes.quantize import quantize
from snnc.frontends import zoo
from snnc.frontends.datasets import load_dataset
from snnc.frontends.modelfile import load_model
from snnc.frontends.tracing import trace
from snnc.runtime.inputs import noise_inputs
from snnc.runtime.numpy.runtime import NumpyRuntime

# fixture: most points lost (issue 12.2); the rc-lstm fixture has no Loihi formulation (an LSTM)
POINTS = {"ecg": 1.0, "digits-srnn": 2.0, "digits-psrnn": 2.0, "digits-ltc": 2.0, "digits-spsn": 2.0, "ahp-memory": 2.0}
N_CALIB = 32


def _readout(graph, x, scale=None):
    """The quantity each fixture is classified on (ECG: the output ALIF's membrane `readout.alif.v`; else the graded
    readout), dequantized per neuron for a quantized graph."""
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
    """Scored as the fixture is (zoo.PRETRAINED): per step, or at the last step."""
    if zoo.PRETRAINED[name].scoring == "per-step":
        return float((v.argmax(-1) == y).mean())
    return float((v[-1].argmax(-1) == y).mean())


def fixture_graph(name: str, x: np.ndarray):
    """The fixture's float64 graph as `snnc compile` builds it from the model file (kinds and ranges recorded)."""
    lm = load_model(str(zoo.pretrained_path(name)))
    g = trace(lm.module.double(), torch.zeros(2, 1, x.shape[-1], dtype=torch.float64))
    recorded = {g.inputs[0]: lm.input_kind} if lm.input_kind else None
    ranges = {g.inputs[0]: lm.input_range} if lm.input_range else None
    return resolve(g, recorded=recorded, recorded_ranges=ranges)


@pytest.mark.parametrize("name", list(POINTS))
def test_loihi_quantization_keeps_the_accuracy(name):
    x, y = load_dataset(name, "test")
    x = x.astype(np.float64)
    calib = load_dataset(name, "train")[0][:, :N_CALIB].astype(np.float64)
    g = fixture_graph(name, x)
    ref = _accuracy(name, _readout(g, x), y)
    if not noise_inputs(g):  # the fixture as recorded (a stochastic one draws other noise than PyTorch's)
        assert abs(ref - zoo.pretrained_info(name)["test_accuracy"]) < 0.01
    for c in (calib, None):
        q = quantize(g, "loihi", calib=c)
        rep = q.meta["passes"][-1]
        acc = _accuracy(name, _readout(q, x, rep["scales"]), y)
        assert acc >= ref - POINTS[name] / 100, (name, "calibrated" if c is not None else "uncalibrated", ref, acc)
        for d, lay in rep["layers"].items():  # no neuron lost its inputs, few weights flushed (the tiniest)
            if "flushed" in lay:
                assert lay["flushed"] <= 0.15 * lay["nonzero"] and lay["neurons_without_input"] == 0, (d, lay)
        # the model file records the input's range: nothing is assumed, nothing truncated
        assert not [n for n in rep["notes"] if "reaches Loihi as integers" in n or "no known range" in n], rep["notes"]
