"""State outputs (`node.v`) on Lava from the first step: on the trained ECG fixture, every state of every neuron as a
graph output equals the NumPy runtime's at steps 0..5, though Lava's Dense pipeline puts the layers 1 and 2 steps
behind the reference; on floating_pt and fixed_pt, through snnc's NodeStep and Lava's own LIF process."""
from __future__ import annotations

import copy
import dataclasses

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

STEPS = 6  # steps 0..5: the startup, while the pipeline fills


def _ecg(lif_reset: str):
    """The ECG graph with every state as an output and its first test steps; reset 'zero' (with a nonzero initial
    membrane) moves the hidden LIF from NodeStep onto Lava's own LIF process."""
    model, _ = zoo.load_pretrained("ecg")
    x, _ = load_dataset("ecg", "test")
    g = copy.deepcopy(resolve(snnc.trace(model, torch.as_tensor(x[:, :1])), "graded"))
    lif = g.nodes["layer1.lif"]
    if lif_reset != lif.reset:
        g.nodes["layer1.lif"] = dataclasses.replace(lif, reset=lif_reset,
                                                    v0=np.linspace(0.1, 0.9, lif.size) * lif.theta)
    states = [f"{n}.{s}" for n, v in g.nodes.items() for s in getattr(v, "states", ())]
    g.outputs = [*g.outputs, *(s for s in states if s not in g.outputs)]
    calib = load_dataset("ecg", "train")[0][:, :8].astype(np.float64)
    return g, x[:STEPS + 2, :3].astype(np.float64), calib


@pytest.mark.parametrize("mode", ["float", "fixed"])
@pytest.mark.parametrize("lif_reset,path", [("subtract", "snnc.backends.lava.procs.step.NodeStep"),
                                            ("zero", "lava.proc.lif.process.LIF")])
def test_lava_state_outputs_from_step_zero(lif_reset, path, mode):
    g, x, calib = _ecg(lif_reset)
    if mode == "fixed":
        g = quantize(g, "loihi", calib)
    net = lower(g)
    assert net.procs["layer1.lif"]["impl"] == path
    assert net.latency["layer1.lif"] >= 1 and net.latency["readout.alif"] >= 2  # Lava runs these steps behind
    ref, _ = NumpyRuntime(g, "float64").run(x)
    got, _ = get_target("loihi").run_graph(g, x, {"dtype": "float64"})
    for o in g.outputs:
        a, b = np.asarray(ref[o], np.float64), np.asarray(got[o], np.float64)
        assert b.shape == a.shape, (o, b.shape, a.shape)
        if o.endswith(".v"):  # the startup is visible: a state shifted by one step would differ
            assert not np.allclose(a[:STEPS - 1], a[1:STEPS]), o
        for t in range(STEPS):
            if mode == "fixed":
                np.testing.assert_array_equal(b[t], a[t], err_msg=f"{o} at step {t} (Lava fixed_pt)")
            else:
                np.testing.assert_allclose(b[t], a[t], rtol=1e-9, atol=1e-12, err_msg=f"{o} at step {t} (Lava float)")
