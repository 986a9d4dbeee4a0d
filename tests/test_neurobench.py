"""snnc's report against NeuroBench 2.3.0 itself, on snnTorch models with the same weights and spike input.

The snnc graphs are built by hand from the snnTorch modules: Leaky with reset to zero is snnc's LIF (zero reset,
gain 1), and RLeaky with subtractive reset (m = βm + I + V·s⁻ − θ·s⁻) is snnc's ALIF with beta = 0 and
R = 1/(1 − α). Weights are multiples of 1/64 and inputs binary, so both frameworks compute the same spikes exactly.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the NeuroBench cross-check needs torch (main environment)")
snn = pytest.importorskip("snntorch", reason="snntorch is installed by `make setup` (--no-deps)")
pytest.importorskip("neurobench", reason="neurobench is installed by `make setup` (--no-deps)")

from snnc.cli.report import attach_inputs, build_report, record_list  # noqa: E402
from snnc.compiler import ALIF, LIF, Dense, Graph, Input  # noqa: E402
from snnc.runtime.numpy.runtime import NumpyRuntime  # noqa: E402

T, B, F, H, O = 30, 4, 20, 16, 5


class Net(torch.nn.Module):
    def __init__(self, recurrent: bool):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(F, H), torch.nn.Linear(H, O)
        self.l1 = (snn.RLeaky(beta=0.875, linear_features=H, reset_mechanism="subtract", init_hidden=True) if recurrent
                   else snn.Leaky(beta=0.875, reset_mechanism="zero", init_hidden=True))
        self.l2 = snn.Leaky(beta=0.75, reset_mechanism="zero", init_hidden=True, output=True)

    def forward(self, x):
        return self.l2(self.fc2(self.l1(self.fc1(x))))


def _model(recurrent: bool, seed: int):
    torch.manual_seed(seed)
    net = Net(recurrent)
    with torch.no_grad():
        net.fc1.weight.mul_(3)
        for p in net.parameters():
            p.copy_(torch.round(p * 64) / 64)  # exact in float32: both frameworks sum to the same values
    x = (torch.rand(B, T, F) < 0.3).float()
    return net, x


def _graph(net: Net, recurrent: bool) -> Graph:
    w = lambda lin: (lin.weight.detach().double().numpy(), lin.bias.detach().double().numpy())  # noqa: E731
    g = Graph()
    g.add("x", Input(F, "spike"))
    g.add("fc1", Dense(*w(net.fc1)))
    g.connect("x", "fc1")
    if recurrent:
        g.add("l1", ALIF(np.full(H, 0.875), np.full(H, 0.5), np.ones(H), np.zeros(H), np.full(H, 8.0)))
        g.add("rec", Dense(*w(net.l1.recurrent)))
        g.connect("l1", "rec", delay=1)
        g.connect("rec", "l1")
    else:
        g.add("l1", LIF(np.full(H, 0.875), np.ones(H), np.ones(H), "zero"))
    g.connect("fc1", "l1")
    g.add("fc2", Dense(*w(net.fc2)))
    g.connect("l1", "fc2")
    g.add("l2", LIF(np.full(O, 0.75), np.ones(O), np.ones(O), "zero"))
    g.connect("fc2", "l2")
    g.outputs = ["l2"]
    return g


def _neurobench(net: Net, x) -> dict:
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.workload import ActivationSparsity, MembraneUpdates, NeuronOperations, SynapticOperations
    from neurobench.models import SNNTorchModel
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(x, torch.zeros(len(x))), batch_size=len(x))
    metrics = [SynapticOperations, ActivationSparsity, MembraneUpdates]
    if isinstance(net.l1, snn.Leaky) and not isinstance(net.l1, snn.RLeaky):
        metrics.append(NeuronOperations)  # NeuroBench 2.3.0 has no operation count for RLeaky
    return Benchmark(SNNTorchModel(net), loader, [], [], [[], metrics]).run(verbose=False)


@pytest.mark.parametrize("recurrent", [False, True], ids=["leaky", "rleaky"])
@pytest.mark.parametrize("seed", [0, 1])
def test_report_equals_neurobench(recurrent, seed):
    net, x = _model(recurrent, seed)
    ref = _neurobench(net, x)
    g = _graph(net, recurrent)
    xs = x.transpose(0, 1).numpy()
    _, activity = NumpyRuntime(g, "float32", record=record_list(g)).run(xs)
    attach_inputs(activity, g, xs)
    nb = build_report(g, activity)["neurobench"]
    syn = ref["SynapticOperations"]
    assert syn["Effective_ACs"] > 0 and syn["Effective_MACs"] == 0  # a binary input: NeuroBench counts ACs
    assert nb["Effective_ACs"] == syn["Effective_ACs"]
    assert nb["Effective_MACs"] == syn["Effective_MACs"]
    assert nb["Dense"] == syn["Dense"]
    assert nb["ActivationSparsity"] == pytest.approx(ref["ActivationSparsity"], abs=1e-12)
    assert nb["MembraneUpdates"] == ref["MembraneUpdates"]
    if "NeuronOperations" in ref:
        no = ref["NeuronOperations"]
        assert nb["NeuronOperations"] == {"Effective_Neuron_Ops": no["Effective Neuron Ops"],
                                          "Neuron_Dense_Ops": no["Neuron Dense Ops"]}
    # per layer, the synaptic ops add up to the totals
    assert sum(lay["Effective_ACs"] for lay in nb["SynapticOperations_per_layer"]) == nb["Effective_ACs"]
