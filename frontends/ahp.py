"""Spiking layer with an after-hyperpolarizing (AHP) current of seed 002 (DESIGN §3 `AHP`).

The AHP current is a second state with its own decay, driven by the neuron's own
previous spike through a negative weight: each spike inhibits the neuron for a
while after it, on top of the hard reset.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
from torch import nn

from snnc.compiler.primitives import AHP as AHPNode
from snnc.frontends import zoo
from snnc.frontends.layers import LIReadout, SpikingLayer, _init_tau
from snnc.frontends.surrogate import SURROGATES
from snnc.frontends.tracing import Builder, _neuron_layer, _np, register_converter


class AHPLayer(SpikingLayer):
    """I = fc(x_t) [+ rec(s⁻)];  aux = alpha_aux·aux + w_ahp·s⁻;  v = alpha·v + gain·I + aux;
    s = H(v − theta);  v = v·(1−s), with alpha = exp(−dt/tau_m), alpha_aux = exp(−dt/tau_ahp),
    gain = (1−alpha)·R and w_ahp = −|ahp_weight| (always hyperpolarizing), all learned per neuron."""

    def __init__(self, in_features: int, out_features: int, recurrent: bool = False, *,
                 tau_m: float | Sequence[float] = (20.0, 5.0), tau_ahp: float | Sequence[float] = (50.0, 10.0),
                 w_ahp: float = -0.5, theta: float = 0.5, R: float = 1.0, dt: float = 1.0, learn_tau: bool = True,
                 surrogate: str = "multi_gaussian", bias: bool = True):
        super().__init__(in_features, out_features, recurrent, dt, bias)
        if w_ahp > 0:
            raise ValueError(f"AHPLayer: w_ahp must be <= 0 (hyperpolarizing), got {w_ahp}")
        self.tau_m = nn.Parameter(_init_tau(out_features, tau_m), requires_grad=learn_tau)
        self.tau_ahp = nn.Parameter(_init_tau(out_features, tau_ahp), requires_grad=learn_tau)
        self.ahp_weight = nn.Parameter(torch.full((out_features,), float(w_ahp)))
        self.theta, self.R = float(theta), float(R)
        self.spike = SURROGATES[surrogate]

    def decays(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(alpha, alpha_aux, w_ahp, gain) per neuron."""
        alpha = self._decay(self.tau_m)
        return alpha, self._decay(self.tau_ahp), -torch.abs(self.ahp_weight), (1 - alpha) * self.R

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        I_ff, T, B = self._start(x)
        alpha, alpha_aux, w, gain = self.decays()
        v, aux = self._state(0.0, B, I_ff), self._state(0.0, B, I_ff)
        s = torch.zeros_like(v)
        outs, vs, auxs = [], [], []
        I_ff = I_ff.unbind(0)  # one backward node: indexing I_ff[t] zeroed a whole [T, B, n] gradient per step
        for t in range(T):
            I = I_ff[t] + self.rec(s) if self.rec is not None else I_ff[t]
            aux = alpha_aux * aux + w * s
            v = alpha * v + gain * I + aux
            s = self.spike(v - self.theta)
            v = v * (1 - s)
            outs.append(s), vs.append(v), auxs.append(aux)
        self._keep(out=outs, v=vs, aux=auxs)
        return torch.stack(outs)


@register_converter(AHPLayer)
def _ahp(m: AHPLayer, b: Builder, path: str, src: str) -> str:
    alpha, alpha_aux, w, gain = (_np(a) for a in m.decays())
    return _neuron_layer(m, b, path, src, "ahp",
                         lambda: AHPNode(alpha=alpha, alpha_aux=alpha_aux, w_ahp=w, gain=gain, theta=m.theta))


def build_ahp(cfg: dict) -> nn.Module:
    """sizes [F, h1, ..., O]: AHP spiking layers and an LI readout."""
    sizes = cfg["sizes"]
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i, (a, c) in enumerate(zip(sizes[:-2], sizes[1:-1]), 1):
        layers[f"layer{i}"] = AHPLayer(a, c, recurrent=cfg["recurrent"], tau_m=cfg["tau_m"], tau_ahp=cfg["tau_ahp"],
                                       w_ahp=cfg["w_ahp"], theta=cfg["theta"])
    layers["readout"] = LIReadout(sizes[-2], sizes[-1], tau_m=cfg["tau_m"])
    return nn.Sequential(layers)


zoo.register_arch("ahp", build_ahp, {"sizes": [40, 64, 10], "recurrent": True, "tau_m": [20.0, 5.0],
                                     "tau_ahp": [50.0, 10.0], "w_ahp": -0.1, "theta": 0.02},
                  "spiking RNN with after-hyperpolarizing currents (seed 002), 40-64r-10 (AHP + LI readout)")
