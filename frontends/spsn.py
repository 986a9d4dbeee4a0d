"""Stochastic parallelizable spiking neurons of seed 004 (SPSN): CUBA integration without reset, Bernoulli spikes.

Per step:  i = alpha·i + I;  v = beta·v + (1−beta)·i;  s = 1[u < σ(v)] with u ~ U(0, 1),
or s = H(v) in deterministic mode. With no reset, i and v are linear in the
input, so training integrates all T steps at once (`parallel_integrate`, an FFT
convolution with the kernels alpha^t and beta^t) instead of a Python loop; the
step-by-step recurrence is kept for evaluation, where it is the reference for
the NumPy runtime. The noise u is an explicit input: set `layer.noise` [T, B, n]
to replay given numbers (snnc verify does), else it is drawn with torch.rand.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
from torch import nn

from snnc.compiler.primitives import SPSN, Input
from snnc.frontends import zoo
from snnc.frontends.layers import LIReadout, SpikingLayer, _init_tau
from snnc.frontends.surrogate import SURROGATES
from snnc.frontends.tracing import Builder, _np, register_converter


def causal_decay_conv(x: torch.Tensor, decay: torch.Tensor) -> torch.Tensor:
    """y_t = Σ_{k<=t} decay^(t−k)·x_k over axis 0 of x [T, ...n], i.e. y = decay·y⁻ + x, by FFT in O(T log T)."""
    T = x.shape[0]
    L = 1 << (2 * T - 1).bit_length()  # linear (not circular) convolution needs at least 2T−1 points
    t = torch.arange(T, dtype=x.dtype, device=x.device)
    kern = decay.to(x.dtype) ** t.view(T, *([1] * decay.dim()))  # [T, n]; 0**0 = 1 keeps decay 0 exact at lag 0
    kern = kern.view(T, *([1] * (x.dim() - 1 - decay.dim())), *decay.shape)
    y = torch.fft.irfft(torch.fft.rfft(x, n=L, dim=0) * torch.fft.rfft(kern, n=L, dim=0), n=L, dim=0)
    return y[:T]


def parallel_integrate(I: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(i, v) [T, B, n] of the SPSN recurrence from zero state, all steps at once."""
    i = causal_decay_conv(I, alpha)
    return i, causal_decay_conv((1 - beta) * i, beta)


def sequential_integrate(I: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(i, v) [T, B, n] by the step-by-step recurrence (the reference semantics)."""
    i = torch.zeros_like(I[0])
    v = torch.zeros_like(I[0])
    iss, vs = [], []
    for t in range(I.shape[0]):
        i = alpha * i + I[t]
        v = beta * v + (1 - beta) * i
        iss.append(i), vs.append(v)
    return torch.stack(iss), torch.stack(vs)


class BernoulliSpike(torch.autograd.Function):
    """s = 1[u < σ(v)] forward; the gradient of its expectation σ(v) backward (straight-through)."""

    @staticmethod
    def forward(ctx, v: torch.Tensor, u: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        p = torch.sigmoid(v)
        ctx.save_for_backward(p)
        return (u < p).to(v.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (p,) = ctx.saved_tensors
        return grad * p * (1 - p), None


class SPSNLayer(SpikingLayer):
    """I = fc(x_t);  i = alpha·i + I;  v = beta·v + (1−beta)·i;  s = 1[u < σ(v)] (stochastic) or H(v);
    alpha = exp(−dt/tau_syn), beta = exp(−dt/tau_mem) learned per neuron. No recurrence: that keeps it parallel."""

    def __init__(self, in_features: int, out_features: int, *, stochastic: bool = True,
                 tau_syn: float | Sequence[float] = 5.0, tau_mem: float | Sequence[float] = (20.0, 5.0),
                 dt: float = 1.0, parallel: bool | None = None, learn_tau: bool = True,
                 surrogate: str = "multi_gaussian", bias: bool = True):
        super().__init__(in_features, out_features, False, dt, bias)
        self.stochastic = bool(stochastic)
        self.parallel = parallel  # None: parallel in training mode, the recurrence in eval mode
        self.tau_syn = nn.Parameter(_init_tau(out_features, tau_syn), requires_grad=learn_tau)
        self.tau_mem = nn.Parameter(_init_tau(out_features, tau_mem), requires_grad=learn_tau)
        self.spike = SURROGATES[surrogate]
        self.noise: torch.Tensor | None = None  # [T, B, n] uniform noise to use instead of torch.rand

    def decays(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha, beta) per neuron."""
        return self._decay(self.tau_syn), self._decay(self.tau_mem)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        I, T, B = self._start(x)
        alpha, beta = self.decays()
        par = self.training if self.parallel is None else self.parallel
        i, v = (parallel_integrate if par else sequential_integrate)(I, alpha, beta)
        if self.stochastic:
            u = self.noise
            if u is None:
                u = torch.rand_like(v)
            elif tuple(u.shape) != tuple(v.shape):
                raise ValueError(f"SPSNLayer: noise must have shape [T, B, n] = {tuple(v.shape)}, got {tuple(u.shape)}")
            s = BernoulliSpike.apply(v, u.to(v.dtype))
        else:
            s = self.spike(v)
        if self.record:
            self.trace = {"out": s.detach(), "i": i.detach(), "v": v.detach()}
        return s

    def extra_repr(self) -> str:
        return super().extra_repr() + f", stochastic={self.stochastic}"


@register_converter(SPSNLayer)
def _spsn(m: SPSNLayer, b: Builder, path: str, src: str) -> str:
    alpha, beta = (_np(a) for a in m.decays())
    fc = b.dense(f"{path}.fc", m.fc, src)
    node = b.add(f"{path}.spsn", lambda: SPSN(alpha=alpha, beta=beta, stochastic=m.stochastic), path)
    b.connect(fc, node)
    if m.stochastic:  # the uniform noise becomes a graph input, mapped back to this layer for the reference run
        noise = b.add(f"{path}.noise", Input(m.out_features, "graded"), path)
        b.connect(noise, node, "noise")
    return node


def build_spsn(cfg: dict) -> nn.Module:
    """sizes [F, h1, ..., O]: SPSN layers and an LI readout."""
    sizes = cfg["sizes"]
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for k, (a, c) in enumerate(zip(sizes[:-2], sizes[1:-1]), 1):
        layers[f"layer{k}"] = SPSNLayer(a, c, stochastic=cfg["stochastic"], tau_syn=cfg["tau_syn"], tau_mem=cfg["tau_mem"])
    layers["readout"] = LIReadout(sizes[-2], sizes[-1])
    return nn.Sequential(layers)


zoo.register_arch("spsn", build_spsn, {"sizes": [40, 64, 64, 10], "stochastic": True, "tau_syn": 5.0, "tau_mem": [20.0, 5.0]},
                  "stochastic parallelizable spiking network of seed 004, 40-64-64-10 (SPSN x2 + LI readout)")
