"""Current-based LIF, integrate-and-fire and current-based leaky-integrator layers (Lava, NIR and snnTorch neurons).

IF maps to the IR's `LIF` with alpha = 1 and gain = 1 rather than a primitive of
its own: v = 1·v + 1·I is exactly the IF equation, so every backend that lowers
LIF (Lava's LIF with dv = 0 included) runs IF with no new code, and fixed-point
quantization treats it like any other LIF.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
from torch import nn

from snnc.compiler.primitives import LIF, CubaLIF
from snnc.compiler.primitives.lif import CubaLI
from snnc.frontends import zoo
from snnc.frontends.layers import RESETS, LIReadout, SpikingLayer, _init_tau
from snnc.frontends.surrogate import SURROGATES
from snnc.frontends.tracing import Builder, _neuron_layer, _np, register_converter


def _check_reset(layer: str, reset: str) -> str:
    if reset not in RESETS:
        raise ValueError(f"{layer}: reset must be one of {', '.join(RESETS)}, got {reset!r}")
    return reset


def _reset(v: torch.Tensor, s: torch.Tensor, theta: float, mode: str) -> torch.Tensor:
    if mode == "zero":
        return v * (1 - s)
    if mode == "subtract":
        return v - theta * s
    return v


class _CurrentLayer(SpikingLayer):
    """A layer with a synaptic current (tau_syn) behind its membrane (tau_mem): alpha = exp(−dt/tau) for each."""

    def decays(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha_syn, alpha_mem) per neuron."""
        return self._decay(self.tau_syn), self._decay(self.tau_mem)


class CubaLIFLayer(_CurrentLayer):
    """I = fc(x_t) [+ rec(s⁻)];  i = alpha_syn·i + I;  v = alpha_mem·v + gain·i + bias;  s = H(v − theta);
    reset zero / subtract / none; alpha_syn = exp(−dt/tau_syn), alpha_mem = exp(−dt/tau_mem) learned per neuron."""

    def __init__(self, in_features: int, out_features: int, recurrent: bool = False, *,
                 tau_syn: float | Sequence[float] = 5.0, tau_mem: float | Sequence[float] = (20.0, 5.0),
                 gain: float = 1.0, theta: float = 1.0, v_bias: float = 0.0, reset: str = "zero", dt: float = 1.0,
                 learn_tau: bool = True, surrogate: str = "multi_gaussian", bias: bool = True):
        super().__init__(in_features, out_features, recurrent, dt, bias)
        self.tau_syn = nn.Parameter(_init_tau(out_features, tau_syn), requires_grad=learn_tau)
        self.tau_mem = nn.Parameter(_init_tau(out_features, tau_mem), requires_grad=learn_tau)
        self.gain, self.theta, self.v_bias = float(gain), float(theta), float(v_bias)
        self.reset = _check_reset("CubaLIFLayer", reset)
        self.spike = SURROGATES[surrogate]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        I_ff, T, B = self._start(x)
        a_syn, a_mem = self.decays()
        i, v = self._state(0.0, B, I_ff), self._state(0.0, B, I_ff)
        s = torch.zeros_like(v)
        outs, iss, vs = [], [], []
        I_ff = I_ff.unbind(0)  # one backward node: indexing I_ff[t] zeroed a whole [T, B, n] gradient per step
        for t in range(T):
            I = I_ff[t] + self.rec(s) if self.rec is not None else I_ff[t]
            i = a_syn * i + I
            v = a_mem * v + self.gain * i + self.v_bias
            s = self.spike(v - self.theta)
            v = _reset(v, s, self.theta, self.reset)
            outs.append(s), iss.append(i), vs.append(v)
        self._keep(out=outs, i=iss, v=vs)
        return torch.stack(outs)


class IFLayer(SpikingLayer):
    """Integrate-and-fire: I = fc(x_t) [+ rec(s⁻)];  v = v + I;  s = H(v − theta);  reset zero / subtract / none."""

    def __init__(self, in_features: int, out_features: int, recurrent: bool = False, *, theta: float = 1.0,
                 reset: str = "subtract", dt: float = 1.0, surrogate: str = "multi_gaussian", bias: bool = True):
        super().__init__(in_features, out_features, recurrent, dt, bias)
        self.theta = float(theta)
        self.reset = _check_reset("IFLayer", reset)
        self.spike = SURROGATES[surrogate]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        I_ff, T, B = self._start(x)
        v = self._state(0.0, B, I_ff)
        s = torch.zeros_like(v)
        outs, vs = [], []
        I_ff = I_ff.unbind(0)  # one backward node: indexing I_ff[t] zeroed a whole [T, B, n] gradient per step
        for t in range(T):
            I = I_ff[t] + self.rec(s) if self.rec is not None else I_ff[t]
            # written as the LIF update with alpha = gain = 1, the same floating-point operations as the kernel
            v = 1.0 * v + 1.0 * I
            s = self.spike(v - self.theta)
            v = _reset(v, s, self.theta, self.reset)
            outs.append(s), vs.append(v)
        self._keep(out=outs, v=vs)
        return torch.stack(outs)


class CubaLIReadout(_CurrentLayer):
    """Current-based leaky-integrator readout (NIR's CubaLI): I = fc(x_t);  i = alpha_syn·i + I;
    v = alpha_mem·v + gain·i + bias;  the output is v [T, B, n]; alpha = exp(−dt/tau) learned per neuron."""

    def __init__(self, in_features: int, out_features: int, *, tau_syn: float | Sequence[float] = 5.0,
                 tau_mem: float | Sequence[float] = (20.0, 5.0), gain: float = 1.0, v_bias: float = 0.0,
                 dt: float = 1.0, learn_tau: bool = True, bias: bool = True):
        super().__init__(in_features, out_features, False, dt, bias)
        self.tau_syn = nn.Parameter(_init_tau(out_features, tau_syn), requires_grad=learn_tau)
        self.tau_mem = nn.Parameter(_init_tau(out_features, tau_mem), requires_grad=learn_tau)
        self.gain, self.v_bias = float(gain), float(v_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        I_ff, T, B = self._start(x)
        a_syn, a_mem = self.decays()
        i, v = self._state(0.0, B, I_ff), self._state(0.0, B, I_ff)
        iss, vs = [], []
        I_ff = I_ff.unbind(0)  # one backward node: indexing I_ff[t] zeroed a whole [T, B, n] gradient per step
        for t in range(T):
            i = a_syn * i + I_ff[t]
            v = a_mem * v + self.gain * i
            if self.v_bias:  # as the IR step: v + 0 is not computed
                v = v + self.v_bias
            iss.append(i), vs.append(v)
        self._keep(out=vs, i=iss, v=vs)
        return torch.stack(vs)


@register_converter(CubaLIReadout)
def _cuba_li(m: CubaLIReadout, b: Builder, path: str, src: str) -> str:
    a_syn, a_mem = (_np(a) for a in m.decays())
    return _neuron_layer(m, b, path, src, "cubali",
                         lambda: CubaLI(alpha_syn=a_syn, alpha_mem=a_mem, gain=m.gain, bias=m.v_bias))


@register_converter(CubaLIFLayer)
def _cuba(m: CubaLIFLayer, b: Builder, path: str, src: str) -> str:
    a_syn, a_mem = (_np(a) for a in m.decays())
    return _neuron_layer(m, b, path, src, "cuba", lambda: CubaLIF(alpha_syn=a_syn, alpha_mem=a_mem, gain=m.gain,
                                                                     theta=m.theta, bias=m.v_bias, reset=m.reset))


@register_converter(IFLayer)
def _if(m: IFLayer, b: Builder, path: str, src: str) -> str:
    return _neuron_layer(m, b, path, src, "if", lambda: LIF(alpha=[1.0] * m.out_features, gain=1.0, theta=m.theta,
                                                               reset=m.reset))


def build_cuba(cfg: dict) -> nn.Module:
    """sizes [F, h1, h2, O]: a recurrent CubaLIF layer, an IF layer and an LI readout."""
    F, h1, h2, O = cfg["sizes"]
    return nn.Sequential(OrderedDict([
        ("layer1", CubaLIFLayer(F, h1, recurrent=cfg["recurrent"], tau_syn=cfg["tau_syn"], tau_mem=cfg["tau_mem"],
                                theta=cfg["theta"], reset=cfg["reset"])),
        ("layer2", IFLayer(h1, h2, theta=cfg["theta"], reset=cfg["if_reset"])),
        ("readout", LIReadout(h2, O)),
    ]))


zoo.register_arch("cuba", build_cuba, {"sizes": [40, 64, 64, 10], "recurrent": True, "tau_syn": 5.0, "tau_mem": [20.0, 5.0],
                                       "theta": 1.0, "reset": "subtract", "if_reset": "zero"},
                  "CubaLIF (recurrent, subtractive reset) -> IF (zero reset) -> LI readout, 40-64r-64-10 (Lava/NIR neurons)")
