"""SPSN: parallel-in-time integration equals the recurrence; the same noise gives the same spikes; noise input errors."""
from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from snnc.compiler.errors import GraphError, InputError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives import SPSN, Input
from snnc.compiler.verify import verify
from snnc.frontends import trace
from snnc.frontends.layers import LIReadout
from snnc.frontends.reference import prepare, torch_reference
from snnc.frontends.spsn import SPSNLayer, parallel_integrate, sequential_integrate
from snnc.runtime.inputs import NoiseWarning, fill_noise
from snnc.runtime.numpy.runtime import NumpyRuntime


@pytest.mark.parametrize("T", [1, 7, 1000])
def test_parallel_integration_equals_recurrence(T):
    g = torch.Generator().manual_seed(T)
    I = torch.randn(T, 3, 16, generator=g, dtype=torch.float64)
    alpha = torch.rand(16, generator=g, dtype=torch.float64) * 0.98
    beta = torch.rand(16, generator=g, dtype=torch.float64) * 0.98 + 0.01
    alpha[0] = 0.0  # no synaptic memory at all
    (i_p, v_p), (i_s, v_s) = parallel_integrate(I, alpha, beta), sequential_integrate(I, alpha, beta)
    assert (i_p - i_s).abs().max() < 1e-5 and (v_p - v_s).abs().max() < 1e-5
    assert (v_p - v_s).abs().max() < 1e-9  # in float64 the scan is far tighter than the required 1e-5


def test_decay_scan_gradients_with_fast_and_zero_decays():
    # decays below SCAN_MIN_DECAY (0 included) take the recurrence, the others the chunked closed form
    from snnc.frontends.spsn import causal_decay_conv, decay_scan
    g = torch.Generator().manual_seed(3)
    x = torch.randn(40, 2, 4, generator=g, dtype=torch.float64, requires_grad=True)
    a = torch.tensor([0.0, 0.01, 0.5, 0.95], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(decay_scan, (x, a))
    torch.testing.assert_close(decay_scan(x, a), causal_decay_conv(x, a), rtol=1e-9, atol=1e-9)


def test_parallel_training_gradients_equal_recurrence():
    torch.manual_seed(0)
    layer = SPSNLayer(5, 8, stochastic=True).double()
    x = torch.randn(50, 2, 5, dtype=torch.float64)
    u = torch.rand(50, 2, 8, dtype=torch.float64)
    grads = []
    for par in (True, False):
        layer.zero_grad()
        layer.parallel, layer.noise = par, u
        layer(x).sum().backward()
        grads.append([p.grad.clone() for p in layer.parameters()])
    for gp, gs in zip(*grads):
        assert (gp - gs).abs().max() < 1e-5
    assert any(g.abs().sum() > 0 for g in grads[0])


def _model(stochastic: bool = True) -> nn.Module:
    torch.manual_seed(1)
    return prepare(nn.Sequential(OrderedDict(l1=SPSNLayer(10, 12, stochastic=stochastic), out=LIReadout(12, 3))), "float64")


def test_same_noise_same_spikes_and_other_noise_other_spikes():
    m = _model()
    g = trace(m, torch.zeros(2, 1, 10, dtype=torch.float64))
    assert g.inputs == ["input", "l1.noise"]
    x = np.random.default_rng(0).normal(0, 1, (60, 4, 10))
    spikes = []
    for seed in (7, 7, 8):
        xs = fill_noise(g, {"input": x, "l1.noise": np.random.default_rng(seed).random((60, 4, 12))})
        _, ref = torch_reference(m, g, xs)
        _, act = NumpyRuntime(g, "float64", record=["l1.spsn"]).run(xs)
        np.testing.assert_array_equal(act.traces["l1.spsn"]["out"], ref["l1.spsn"])
        spikes.append(ref["l1.spsn"])
    assert np.array_equal(spikes[0], spikes[1]) and not np.array_equal(spikes[0], spikes[2])
    assert 0.1 < spikes[0].mean() < 0.9


def test_deterministic_mode_has_no_noise_input():
    m = _model(stochastic=False)
    g = trace(m, torch.zeros(2, 1, 10, dtype=torch.float64))
    assert g.inputs == ["input"] and g.nodes["l1.spsn"].ports == {"in": "any"}
    x = np.random.default_rng(0).normal(0, 1, (30, 2, 10))
    _, ref = torch_reference(m, g, x)
    _, act = NumpyRuntime(g, "float64", record=["l1.spsn"]).run(x)
    np.testing.assert_array_equal(act.traces["l1.spsn"]["out"], ref["l1.spsn"])
    v = m.l1.trace["v"].numpy()
    np.testing.assert_array_equal(ref["l1.spsn"], (v > 0).astype(float))


def test_missing_noise_is_drawn_from_a_named_seed_and_repeats():
    g = trace(_model(), torch.zeros(2, 1, 10, dtype=torch.float64))
    x = np.random.default_rng(0).normal(0, 1, (20, 2, 10))
    with pytest.warns(NoiseWarning, match=r"l1\.noise.*default_rng\(seed=3\)"):
        a, _ = NumpyRuntime(g, "float64", noise_seed=3).run(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoiseWarning)
        b, _ = NumpyRuntime(g, "float64", noise_seed=3).run(x)
        c, _ = NumpyRuntime(g, "float64", noise_seed=4).run(x)
    given, _ = NumpyRuntime(g, "float64").run({"input": x, "l1.noise": np.random.default_rng(3).random((20, 2, 12))})
    np.testing.assert_array_equal(a["out.li"], b["out.li"])
    np.testing.assert_array_equal(a["out.li"], given["out.li"])  # exactly the numbers the message promises
    assert not np.array_equal(a["out.li"], c["out.li"])


def test_streaming_without_noise_matches_run_with_the_same_seed():
    g = trace(_model(), torch.zeros(2, 1, 10, dtype=torch.float64))
    x = np.random.default_rng(0).normal(0, 1, (15, 2, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoiseWarning)
        whole, _ = NumpyRuntime(g, "float64", noise_seed=2).run(x)
        rt = NumpyRuntime(g, "float64", noise_seed=2)
        steps = np.stack([rt.step(x[t])["out.li"] for t in range(15)])
    np.testing.assert_array_equal(steps, whole["out.li"])


@pytest.mark.parametrize("noise, match", [
    (np.full((20, 2, 11), 0.5), r"noise input 'l1\.noise' must have shape \[T, B, 12\]"),
    (np.full((19, 2, 12), 0.5), r"noise input 'l1\.noise' must have shape"),
    (np.full((20, 2, 12), 1.0), r"noise input 'l1\.noise' must hold uniform samples in \[0, 1\)"),
    (np.full((20, 2, 12), -0.1), r"uniform samples"),
])
def test_bad_noise_is_named(noise, match):
    g = trace(_model(), torch.zeros(2, 1, 10, dtype=torch.float64))
    x = np.zeros((20, 2, 10))
    with pytest.raises(InputError, match=match):
        NumpyRuntime(g, "float64").run({"input": x, "l1.noise": noise})


def test_spsn_primitive_validation():
    g = Graph()
    g.add("x", Input(2))
    g.add("s", SPSN(alpha=[0.5, 0.5], beta=[0.5, 1.5], stochastic=False))
    g.connect("x", "s")
    g.inputs, g.outputs = ["x"], ["s"]
    with pytest.raises(GraphError, match=r"node 's' \(SPSN\): decay 'beta' must lie in \(0, 1\], got 1.5 at index 1"):
        verify(g)
    with pytest.raises(ValueError, match="noise must have shape"):
        layer = SPSNLayer(3, 4)
        layer.noise = torch.rand(5, 1, 3)
        layer(torch.zeros(5, 1, 3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_drawn_noise_is_uniform_and_fixed_by_torch_seed(dtype):
    from snnc.frontends.spsn import uniform_noise
    like = torch.zeros(200, 8, 50, dtype=dtype)
    torch.manual_seed(5)
    a = uniform_noise(like)
    torch.manual_seed(5)
    b, c = uniform_noise(like), uniform_noise(like)
    assert a.dtype == dtype and a.shape == like.shape
    assert torch.equal(a, b) and not torch.equal(b, c)
    assert float(a.min()) >= 0.0 and float(a.max()) < 1.0
    # the deciles of 80000 draws of U[0, 1): each within 0.006 (about 5 standard deviations) of 0.1
    hist = torch.histc(a.double(), bins=10, min=0.0, max=1.0) / a.numel()
    assert (hist - 0.1).abs().max() < 0.006
    # a layer without given noise fires at the rate sigma(v): v = 0 everywhere (zero weights) fires half the time
    layer = SPSNLayer(3, 50, bias=True).to(dtype)
    nn.init.zeros_(layer.fc.weight)
    s = layer(torch.zeros(400, 8, 3, dtype=dtype))
    assert abs(float(s.detach().mean()) - 0.5) < 0.01
