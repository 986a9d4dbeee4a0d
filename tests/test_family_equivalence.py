"""PyTorch layers of every seed family vs the NumPy runtime in float64: identical spikes, states within 1e-6."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from snnc.compiler.serialize import from_bytes, to_bytes
from snnc.frontends import trace, zoo
from snnc.frontends.ahp import AHPLayer
from snnc.frontends.cuba import CubaLIFLayer, IFLayer
from snnc.frontends.layers import LIReadout
from snnc.frontends.ltc import LTCLayer, LTCReadout
from snnc.frontends.reference import prepare, torch_reference
from snnc.frontends.spsn import SPSNLayer
from snnc.runtime.inputs import NoiseWarning, fill_noise
from snnc.runtime.numpy.runtime import NumpyRuntime


def _models() -> dict[str, nn.Module]:
    torch.manual_seed(3)
    return {
        "ltc": nn.Sequential(OrderedDict(l1=LTCLayer(12, 16, recurrent=True), l2=LTCLayer(16, 8, recurrent=False),
                                         out=LTCReadout(8, 4))),
        "ahp": nn.Sequential(OrderedDict(l1=AHPLayer(12, 16, recurrent=True, theta=0.05, R=4.0, w_ahp=-0.05), out=LIReadout(16, 4))),
        "spsn": nn.Sequential(OrderedDict(l1=SPSNLayer(12, 16), l2=SPSNLayer(16, 8, stochastic=False), out=LIReadout(8, 4))),
        "cuba-zero": nn.Sequential(OrderedDict(l1=CubaLIFLayer(12, 16, recurrent=True, theta=0.5, reset="zero"),
                                               l2=IFLayer(16, 8, theta=0.5, reset="subtract"), out=LIReadout(8, 4))),
        "cuba-none": nn.Sequential(OrderedDict(l1=CubaLIFLayer(12, 16, theta=0.5, reset="none", v_bias=0.01),
                                               l2=IFLayer(16, 8, theta=0.5, reset="none", recurrent=True), out=LIReadout(8, 4))),
        "cuba-sub": nn.Sequential(OrderedDict(l1=CubaLIFLayer(12, 16, theta=0.5, reset="subtract"),
                                              l2=IFLayer(16, 8, theta=0.5, reset="zero"), out=LIReadout(8, 4))),
    }


STATE_OF_TRACE = {"v": "v", "b": "b", "aux": "aux", "i": "i"}


@pytest.mark.parametrize("family", list(_models()))
def test_torch_and_numpy_agree_float64(family):
    module = prepare(_models()[family], "float64")
    x = (np.random.default_rng(1).random((80, 3, 12)) < 0.3).astype(np.float64)
    graph = from_bytes(to_bytes(trace(module, torch.zeros(2, 1, 12, dtype=torch.float64))))  # through a .snn file too
    inputs = x
    if len(graph.inputs) > 1:
        with pytest.warns(NoiseWarning, match="seed=5"):
            inputs = fill_noise(graph, x, seed=5)
    ref_out, ref_spikes = torch_reference(module, graph, inputs)
    spiking = [n for n, v in graph.nodes.items() if v.out_kind == "spike" and n not in graph.inputs]
    assert set(ref_spikes) == set(spiking) and spiking
    outs, act = NumpyRuntime(graph, "float64", record=spiking).run(inputs)
    for name, ref in ref_out.items():
        np.testing.assert_allclose(outs[name], ref, atol=1e-6, rtol=0)
    total = 0
    for node in spiking:
        np.testing.assert_array_equal(act.traces[node]["out"], ref_spikes[node], err_msg=node)
        total += int(ref_spikes[node].sum())
        layer = module.get_submodule(graph.meta["node_meta"][node]["module"])
        shared = set(layer.trace) & set(act.traces[node]) - {"out"}
        assert shared, node
        for var in shared:
            np.testing.assert_allclose(act.traces[node][var], layer.trace[var].numpy(), atol=1e-6, rtol=0, err_msg=f"{node}.{var}")
    assert total > 50, f"{family}: too few spikes ({total}) for the comparison to mean anything"


@pytest.mark.parametrize("name", ["ltc", "rc-lstm", "ahp", "spsn", "cuba"])
def test_zoo_models_trace_to_their_primitives(name):
    module, cfg = zoo.build(name)
    g = trace(module, torch.zeros(2, 1, zoo.ARCHS[name].input_size(cfg)))
    kinds = {type(v).__name__ for v in g.nodes.values()}
    want = {"ltc": {"LTC", "LTCReadout"}, "rc-lstm": {"LSTM", "EarlyExit"}, "ahp": {"AHP", "LI"},
            "spsn": {"SPSN", "LI"}, "cuba": {"CubaLIF", "LIF", "LI"}}[name]
    assert want <= kinds, kinds
    if name == "cuba":  # IF is LIF with alpha = gain = 1
        lif = next(v for v in g.nodes.values() if type(v).__name__ == "LIF")
        assert np.all(lif.alpha == 1.0) and np.all(lif.gain == 1.0)


def test_ltc_gate_parameters_reach_the_ir():
    torch.manual_seed(0)
    m = nn.Sequential(LTCLayer(5, 3, recurrent=True))
    g = trace(m, torch.zeros(2, 1, 5))
    node = g.nodes["0.ltc"]
    np.testing.assert_array_equal(node.Wa, m[0].gate_a.weight.detach().double().numpy())
    np.testing.assert_array_equal(node.br, m[0].gate_r.bias.detach().double().numpy())
    assert any(e.src == "0.ltc" and e.delay == 1 for e in g.edges)  # the recurrent Dense reads s(t-1)
