"""PyTorch layers, tracing and PyTorch-vs-NumPy equivalence of the SRNN family (seed 000)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import snnc
from snnc.compiler import ALIF, LI, LIF, Dense, TraceError
from snnc.frontends import ALIFLayer, LIFLayer, LIReadout, register_converter
from snnc.frontends.reference import prepare, torch_reference
from snnc.frontends.surrogate import MultiGaussian, multi_gaussian
from snnc.frontends.tracing import CONVERTERS
from snnc.runtime.numpy.runtime import NumpyRuntime


def models():
    """Several SRNN shapes: two recurrent ALIF layers, LIF with each reset, a feed-forward layer."""
    return {
        "alif-2rec": lambda: nn.Sequential(ALIFLayer(40, 32, recurrent=True), ALIFLayer(32, 24, recurrent=True), LIReadout(24, 5)),
        "alif-ff": lambda: nn.Sequential(ALIFLayer(40, 32, recurrent=False), LIReadout(32, 5)),
        "lif-zero": lambda: nn.Sequential(LIFLayer(40, 32, recurrent=True, tau_m=5.0, theta=0.1, reset="zero"), LIReadout(32, 5)),
        "lif-subtract": lambda: nn.Sequential(LIFLayer(40, 32, recurrent=True, tau_m=5.0, theta=0.1, reset="subtract"),
                                              LIFLayer(32, 16, tau_m=5.0, theta=0.05, reset="subtract"), LIReadout(16, 5)),
        "lif-none": lambda: nn.Sequential(LIFLayer(40, 32, recurrent=False, tau_m=5.0, theta=0.1, reset="none"), LIReadout(32, 5)),
        "mixed-linear": lambda: nn.Sequential(nn.Linear(40, 30), nn.Dropout(0.3), ALIFLayer(30, 20, recurrent=True),
                                              nn.Identity(), LIReadout(20, 5)),
    }


def _input(T=150, B=4, F=40, rate=0.2, seed=0):
    return (np.random.default_rng(seed).random((T, B, F)) < rate).astype(np.float64)


def _compare(name: str, dtype: str):
    torch.manual_seed(1)
    module = prepare(models()[name](), dtype)
    x = _input()
    graph = snnc.trace(module, torch.as_tensor(x[:2]))
    ref_out, ref_spikes = torch_reference(module, graph, x.astype(dtype))
    out, act = NumpyRuntime(graph, dtype, record=list(ref_spikes)).run(x)
    assert ref_spikes, "no spiking layer was compared"
    return graph, ref_out, ref_spikes, out, act


@pytest.mark.parametrize("name", list(models()))
def test_torch_numpy_float64_equivalence(name):
    graph, ref_out, ref_spikes, out, act = _compare(name, "float64")
    for node, s in ref_spikes.items():
        np.testing.assert_array_equal(act.traces[node]["out"], s, err_msg=node)
        assert 0 < s.mean() < 0.9, f"{node}: spike rate {s.mean()} does not exercise the dynamics"
    for o, y in ref_out.items():
        np.testing.assert_allclose(out[o], y, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["alif-2rec", "lif-subtract"])
def test_torch_numpy_membranes_float64(name):
    torch.manual_seed(2)
    module = prepare(models()[name](), "float64")
    x = _input(T=120)
    graph = snnc.trace(module, torch.as_tensor(x[:2]))
    torch_reference(module, graph, x)
    _, act = NumpyRuntime(graph, "float64", record=True).run(x)
    for node, info in graph.meta["node_meta"].items():
        layer = module.get_submodule(info["module"])
        if isinstance(graph.nodes[node], (ALIF, LIF)):
            np.testing.assert_allclose(act.traces[node]["v"], layer.trace["v"].numpy(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["alif-2rec", "lif-subtract"])
def test_torch_numpy_float32_spike_agreement(name):
    _, ref_out, ref_spikes, out, act = _compare(name, "float32")
    for node, s in ref_spikes.items():
        agree = (act.traces[node]["out"] == s).mean()
        print(f"{name} {node}: float32 spike agreement {100 * agree:.4f} %")
        assert agree >= 0.999


def test_trace_structure_of_recurrent_alif():
    module = nn.Sequential(ALIFLayer(10, 8, recurrent=True, dt=0.5), LIReadout(8, 3, dt=0.5))
    g = snnc.trace(module, torch.zeros(2, 1, 10))
    assert [type(n).__name__ for n in g.nodes.values()] == ["Input", "Dense", "ALIF", "Dense", "Dense", "LI"]
    rec = [e for e in g.edges if e.delay]
    assert [(e.src, e.dst, e.delay) for e in rec] == [("0.alif", "0.rec", 1)]
    alif = g.nodes["0.alif"]
    np.testing.assert_allclose(alif.alpha, np.exp(-0.5 / module[0].tau_m.detach().double().numpy()), rtol=1e-6)
    np.testing.assert_allclose(alif.rho, np.exp(-0.5 / module[0].tau_adp.detach().double().numpy()), rtol=1e-6)
    assert g.meta["dt"] == 0.5 and g.outputs == ["1.li"]
    assert module.training  # tracing restored the mode


def test_unsupported_module_names_path_and_type():
    module = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU()), LIReadout(4, 2))
    with pytest.raises(TraceError, match=r"unsupported module '1.0' \(torch.nn.modules.activation.ReLU\)"):
        snnc.trace(module, torch.zeros(2, 1, 4))


def test_unsupported_function_is_named():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return torch.sigmoid(self.fc(x))

    with pytest.raises(TraceError, match=r"unsupported function torch.sigmoid \(fx node 'sigmoid'\) in the forward\(\) of .*Net"):
        snnc.trace(Net(), torch.zeros(2, 1, 4))


def test_untraceable_user_module_is_named():
    class Loopy(nn.Module):
        def forward(self, x):
            out = []
            for t in range(x.shape[0]):  # data-dependent Python loop: fx cannot trace it
                out.append(x[t])
            return torch.stack(out)

    with pytest.raises(TraceError, match=r"cannot trace module '0' \(.*Loopy\).*register a converter"):
        snnc.trace(nn.Sequential(Loopy(), LIReadout(4, 2)), torch.zeros(2, 1, 4))


def test_user_converter_and_user_container():
    class Scale(nn.Module):
        def __init__(self, n, k):
            super().__init__()
            self.n, self.k = n, k

        def forward(self, x):
            return x * self.k

    @register_converter(Scale)
    def _scale(m, b, path, src):
        name = b.add(path, Dense(np.eye(m.n) * m.k, np.zeros(m.n)), path)
        b.connect(src, name)
        return name

    class Block(nn.Module):  # a user container: traced into
        def __init__(self):
            super().__init__()
            self.scale = Scale(6, 2.0)
            self.lif = ALIFLayer(6, 4, recurrent=False)

        def forward(self, x):
            return self.lif(self.scale(x))

    try:
        module = nn.Sequential(Block(), LIReadout(4, 2)).double()
        x = _input(T=50, B=2, F=6, rate=0.5)
        g = snnc.trace(module, torch.as_tensor(x[:2]))
        assert isinstance(g.nodes["0.scale"], Dense) and g.nodes["0.scale"].W[0, 0] == 2.0
        ref, _ = torch_reference(module.eval(), g, x)
        out, _ = NumpyRuntime(g, "float64").run(x)
        np.testing.assert_allclose(out[g.outputs[0]], ref[g.outputs[0]], atol=1e-9)
    finally:
        CONVERTERS.pop(Scale, None)


def test_register_converter_rejects_non_modules():
    with pytest.raises(TypeError, match="not an nn.Module subclass"):
        register_converter(int)


def test_multi_gaussian_surrogate_forward_and_gradient():
    x = torch.tensor([-1.0, -0.2, 0.0, 0.3, 2.0], requires_grad=True)
    s = multi_gaussian(x)
    assert s.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    s.sum().backward()

    def g(x, mu, sigma):
        return math.exp(-((x - mu) ** 2) / (2 * sigma**2)) / math.sqrt(2 * math.pi) / sigma

    c = MultiGaussian
    for xi, gi in zip(x.tolist(), x.grad.tolist()):
        want = (g(xi, 0, c.lens) * (1 + c.height) - g(xi, c.lens, c.scale * c.lens) * c.height
                - g(xi, -c.lens, c.scale * c.lens) * c.height) * c.gamma
        assert gi == pytest.approx(want, rel=1e-5)


def test_bptt_training_lowers_the_loss():
    """The layers train: a few Adam steps on a tiny temporal task lower the loss and move the time constants."""
    torch.manual_seed(0)
    model = nn.Sequential(ALIFLayer(8, 16, recurrent=True), LIReadout(16, 2))
    x = (torch.rand(30, 16, 8) < 0.3).float()
    y = (x[:10].sum((0, 2)) > x[:10].sum((0, 2)).median()).long()  # depends on early inputs: needs memory
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    tau0 = model[0].tau_m.detach().clone()
    losses = []
    for _ in range(30):
        out = model(x)
        loss = nn.functional.cross_entropy(out.mean(0), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
    assert not torch.equal(tau0, model[0].tau_m.detach())


def test_layer_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"expected input \[T, B, 8\], got \(3, 8\)"):
        ALIFLayer(8, 4)(torch.zeros(3, 8))
    with pytest.raises(ValueError, match="reset must be one of"):
        LIFLayer(8, 4, reset="hard")
