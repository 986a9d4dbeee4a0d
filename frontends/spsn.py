"""Stochastic parallelizable spiking neurons of seed 004 (SPSN): CUBA integration without reset, Bernoulli spikes.

Per step:  i = alpha·i + I;  v = beta·v + (1−beta)·i;  s = 1[u < σ(v)] with u ~ U(0, 1),
or s = H(v) in deterministic mode. With no reset, i and v are linear in the
input, so training integrates the whole sequence in one autograd node (`parallel_integrate`; `layer.integrator`:
"recurrence", the linear recurrence vectorized over batch and neurons, fastest on CPU; "scan", a closed form;
"fft", `causal_decay_conv`) instead of an autograd graph per step; the step-by-step recurrence is kept for
evaluation, where it is the reference for the NumPy runtime. The noise u is an explicit input: set `layer.noise` [T, B, n]
to replay given numbers (snnc verify does), else it is drawn by `uniform_noise` (seeded from torch's generator).
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch
from torch import nn

from snnc.compiler.primitives import SPSN, Input
from snnc.frontends import zoo
from snnc.frontends.layers import LIReadout, SpikingLayer, _init_tau, decay_recurrence
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


class _Cumsum0(torch.autograd.Function):
    """cumsum over axis 0 as in-place row additions: torch's CPU cumsum over a non-last axis walks each
    column with a stride of B·n (30 % of an SPSN training step at SHD size)."""

    @staticmethod
    def forward(ctx, u: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        out = u.clone()
        for t in range(1, out.shape[0]):
            out[t] += out[t - 1]
        return out

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        gi = g.clone()
        for t in range(gi.shape[0] - 2, -1, -1):
            gi[t] += gi[t + 1]
        return gi


SCAN_MIN_DECAY = 0.05  # below it the closed form needs chunks of a few steps: those neurons step instead


def decay_scan(x: torch.Tensor, decay: torch.Tensor) -> torch.Tensor:
    """y_t = decay·y_{t−1} + x_t from zero over axis 0 of x [T, ...n], differentiable in x and decay.

    Closed form per chunk, y_t = a^t·(y_c + Σ_{k<=t} a^{−k}·x_k), with chunks short enough that a^{−k} stays
    below 1e15 (its square, in the backward pass, stays finite in float32): O(T) work in a few passes.
    Neurons with decay below SCAN_MIN_DECAY (decay 0 included) run the recurrence itself.
    """
    a = decay.to(x.dtype)
    small = a < SCAN_MIN_DECAY
    if bool(small.any()):
        big = ~small
        y = torch.empty_like(x)
        y[..., small] = decay_recurrence(x[..., small], a[small])
        if bool(big.any()):
            y[..., big] = decay_scan(x[..., big], a[big])
        return y
    T = x.shape[0]
    amin = float(a.detach().min())
    L = T if amin >= 1 else max(1, min(T, int(15 * math.log(10) / -math.log(amin))))
    pw = a ** torch.arange(1, L + 1, dtype=x.dtype, device=x.device).view(L, *([1] * (x.dim() - 1)))
    out, carry = [], torch.zeros_like(x[0])
    for c in range(0, T, L):
        p = pw[:min(L, T - c)]
        y = p * (carry + _Cumsum0.apply(x[c:c + L] / p))
        out.append(y)
        carry = y[-1]
    return torch.cat(out)


class _SPSNIntegrate(torch.autograd.Function):
    """(i, v) of i_t = I_t + alpha·i_{t−1}, v_t = (1−beta)·i_t + beta·v_{t−1} from zero as ONE autograd node: two
    fused row operations per step forward, the two reverse recurrences backward, the decay gradients as sums."""

    @staticmethod
    def forward(ctx, I: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor):  # type: ignore[override]
        ctx.set_materialize_grads(False)  # an unused i (the usual case) costs no zero gradient
        I = I.contiguous()
        a, b = (d.to(I.dtype).expand(I.shape[1:]).contiguous() for d in (alpha, beta))  # contiguous row operands
        i = torch.empty_like(I)
        Is, i_s = I.unbind(0), i.unbind(0)
        i_s[0].copy_(Is[0])
        for t in range(1, len(Is)):
            torch.addcmul(Is[t], a, i_s[t - 1], out=i_s[t])
        v = torch.mul(i, 1 - b)  # the drive (1−beta)·i, integrated in place
        vs = v.unbind(0)
        for t in range(1, len(vs)):
            torch.addcmul(vs[t], b, vs[t - 1], out=vs[t])
        ctx.save_for_backward(i, v, a, b)
        ctx.shapes = alpha.shape, beta.shape
        return i, v

    @staticmethod
    def backward(ctx, gi: torch.Tensor | None, gv: torch.Tensor | None):  # type: ignore[override]
        i, v, a, b = ctx.saved_tensors
        a_shape, b_shape = ctx.shapes
        ga = gb = None
        if gv is not None:
            gw = gv.contiguous().clone()  # dL/d(drive): the reverse recurrence of v, in place
            gws = gw.unbind(0)
            for t in range(len(gws) - 2, -1, -1):
                torch.addcmul(gws[t], b, gws[t + 1], out=gws[t])
            if ctx.needs_input_grad[2]:  # v_t depends on beta through beta·v_{t−1} and (1−beta)·i_t
                gb = (gw[1:] * v[:-1]).sum_to_size(b_shape) - (gw * i).sum_to_size(b_shape)  # one reduction each
            gI = gw.mul_(1 - b)  # dL/di through v
            if gi is not None:
                gI += gi
        elif gi is not None:
            gI = gi.contiguous().clone()
        else:
            return None, None, None
        gIs = gI.unbind(0)  # the reverse recurrence of i, in place
        for t in range(len(gIs) - 2, -1, -1):
            torch.addcmul(gIs[t], a, gIs[t + 1], out=gIs[t])
        if ctx.needs_input_grad[1]:
            ga = (gI[1:] * i[:-1]).sum_to_size(a_shape)
        return gI, ga, gb


def _spsn_recurrence(I: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if I.shape[0] == 0:
        return I.clone(), I.clone()
    return _SPSNIntegrate.apply(I, alpha, beta)


INTEGRATORS = {"recurrence": decay_recurrence, "scan": decay_scan, "fft": causal_decay_conv}


def parallel_integrate(I: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor,
                       method: str = "recurrence") -> tuple[torch.Tensor, torch.Tensor]:
    """(i, v) [T, B, n] of the SPSN recurrence from zero state, the whole sequence in one autograd node per state.

    method "recurrence": the linear recurrence, one fused row operation per step vectorized over B·n (no
    autograd graph per step; fastest on CPU: 2-3x the closed form, whose cumsum is a row loop too);
    "scan": the closed-form chunked scan; "fft": the causal FFT convolution (both parallel over T)."""
    if method not in INTEGRATORS:
        raise ValueError(f"SPSN: integrator must be one of {', '.join(INTEGRATORS)}, got {method!r}")
    if method == "recurrence":
        return _spsn_recurrence(I, alpha, beta)
    f = INTEGRATORS[method]
    i = f(I, alpha)
    return i, f((1 - beta) * i, beta)


def sequential_integrate(I: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(i, v) [T, B, n] by the step-by-step recurrence (the reference semantics)."""
    i = torch.zeros_like(I[0])
    v = torch.zeros_like(I[0])
    iss, vs = [], []
    for I_t in I.unbind(0):  # one backward node, not a zeroed [T, B, n] gradient per step
        i = alpha * i + I_t
        v = beta * v + (1 - beta) * i
        iss.append(i), vs.append(v)
    return torch.stack(iss), torch.stack(vs)


def uniform_noise(like: torch.Tensor) -> torch.Tensor:
    """U[0, 1) noise shaped like `like` (float32/64 on CPU) from NumPy's PCG64, seeded by one draw of torch's default
    generator so that torch.manual_seed still fixes it: 3x faster than torch.rand (a third of the sampling cost)."""
    if like.device.type != "cpu" or like.dtype not in (torch.float32, torch.float64):
        return torch.rand_like(like)
    gen = np.random.default_rng(int(torch.randint(0, 1 << 62, (), dtype=torch.int64)))
    dtype = np.float32 if like.dtype == torch.float32 else np.float64
    return torch.from_numpy(gen.random(tuple(like.shape), dtype=dtype))


class BernoulliSpike(torch.autograd.Function):
    """s = 1[u < σ(v)] forward; the gradient of its expectation σ(v) backward (straight-through)."""

    @staticmethod
    def forward(ctx, v: torch.Tensor, u: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        p = torch.sigmoid(v)
        s = torch.lt(u, p, out=torch.empty_like(v))  # straight into v's dtype: 5x faster than (u < p).to(dtype)
        ctx.save_for_backward(torch.addcmul(p, p, p, value=-1))  # σ'(v) = p − p², one pass now and one backward
        return s

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (dp,) = ctx.saved_tensors
        return grad * dp, None


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
        self.integrator = "recurrence"  # how the parallel path integrates (parallel_integrate's method)
        self.tau_syn = nn.Parameter(_init_tau(out_features, tau_syn), requires_grad=learn_tau)
        self.tau_mem = nn.Parameter(_init_tau(out_features, tau_mem), requires_grad=learn_tau)
        self.spike = SURROGATES[surrogate]
        self.noise: torch.Tensor | None = None  # [T, B, n] uniform noise to use instead of drawing it

    def decays(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha, beta) per neuron."""
        return self._decay(self.tau_syn), self._decay(self.tau_mem)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        I, T, B = self._start(x)
        alpha, beta = self.decays()
        par = self.training if self.parallel is None else self.parallel
        i, v = parallel_integrate(I, alpha, beta, self.integrator) if par else sequential_integrate(I, alpha, beta)
        if self.stochastic:
            u = self.noise
            if u is None:
                u = uniform_noise(v)
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
    layers["readout"].parallel = None  # LI is linear too: in training one recurrence node, like the SPSN layers
    return nn.Sequential(layers)


zoo.register_arch("spsn", build_spsn, {"sizes": [40, 64, 64, 10], "stochastic": True, "tau_syn": 5.0, "tau_mem": [20.0, 5.0]},
                  "stochastic parallelizable spiking network of seed 004, 40-64-64-10 (SPSN x2 + LI readout)")
