"""Liquid-time-constant spiking layers of seed 003 (Yin, Corradi, Bohté 2023): LTCLayer and LTCReadout.

The membrane and adaptation decays are gates computed every step from the input
current and the neuron's own state (DESIGN §3 `LTC`, `LTCReadout`). Both layers
also expose `init_state(B, like)` and `step(x_t, state)` so that FPTT
(frontends/fptt.py) can train them online one step at a time.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from snnc.compiler.primitives import LTC as LTCNode, LTCReadout as LTCReadoutNode
from snnc.frontends.surrogate import SURROGATES
from snnc.frontends.layers import LIReadout, SpikingLayer
from snnc.frontends.tracing import Builder, _neuron_layer, _np, register_converter
from snnc.frontends import zoo


class LTCLayer(SpikingLayer):
    """Per step, s⁻ the previous spikes:  I = fc(x_t) [+ rec(s⁻)];  a = σ(Wa·[I, v] + ba);  r = σ(Wr·[I, b] + br);
    b = r·b + (1−r)·s⁻;  B = b0 + beta·b;  v = (1−a)·v + a·I;  s = H(v − B);  v = v·(1−s)."""

    def __init__(self, in_features: int, out_features: int, recurrent: bool = True, *, b0: float = 0.01,
                 beta: float = 1.8, dt: float = 1.0, surrogate: str = "multi_gaussian", bias: bool = True):
        super().__init__(in_features, out_features, recurrent, dt, bias)
        self.gate_a = nn.Linear(2 * out_features, out_features)  # Wa, ba on [I, v]
        self.gate_r = nn.Linear(2 * out_features, out_features)  # Wr, br on [I, b]
        self.b0, self.beta = float(b0), float(beta)
        self.spike = SURROGATES[surrogate]

    def init_state(self, B: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(v, b, s⁻) at the start of a sequence."""
        z = torch.zeros(B, self.out_features, dtype=like.dtype, device=like.device)
        return z, z.clone(), z.clone()

    def cell(self, I_ff: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """One step from the feed-forward current I_ff [B, n]; returns (spikes, new state)."""
        v, b, s = state
        I = I_ff + self.rec(s) if self.rec is not None else I_ff
        a = torch.sigmoid(self.gate_a(torch.cat([I, v], dim=1)))
        r = torch.sigmoid(self.gate_r(torch.cat([I, b], dim=1)))
        b = r * b + (1 - r) * s
        Bt = self.b0 + self.beta * b
        v = (1 - a) * v + a * I
        s = self.spike(v - Bt)
        return s, (v * (1 - s), b, s)

    def step(self, x_t: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        return self.cell(self.fc(x_t), state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        I_ff, T, B = self._start(x)
        state = self.init_state(B, I_ff)
        outs, vs, bs = [], [], []
        I_ff = I_ff.unbind(0)  # one backward node: indexing I_ff[t] zeroed a whole [T, B, n] gradient per step
        for t in range(T):
            s, state = self.cell(I_ff[t], state)
            outs.append(s), vs.append(state[0]), bs.append(state[1])
        self._keep(out=outs, v=vs, b=bs)
        return torch.stack(outs)


class LTCReadout(SpikingLayer):
    """Graded LTC readout: I = fc(x_t);  a = σ(Wa·[I, v] + ba);  v = (1−a)·v + a·I; the output is v [T, B, n]."""

    def __init__(self, in_features: int, out_features: int, *, dt: float = 1.0, bias: bool = True):
        super().__init__(in_features, out_features, False, dt, bias)
        self.gate_a = nn.Linear(2 * out_features, out_features)

    def init_state(self, B: int, like: torch.Tensor) -> tuple[torch.Tensor]:
        return (torch.zeros(B, self.out_features, dtype=like.dtype, device=like.device),)

    def cell(self, I: torch.Tensor, state: tuple[torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor]]:
        (v,) = state
        a = torch.sigmoid(self.gate_a(torch.cat([I, v], dim=1)))
        v = (1 - a) * v + a * I
        return v, (v,)

    def step(self, x_t: torch.Tensor, state: tuple[torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor]]:
        return self.cell(self.fc(x_t), state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        I_ff, T, B = self._start(x)
        state = self.init_state(B, I_ff)
        vs = []
        I_ff = I_ff.unbind(0)  # one backward node: indexing I_ff[t] zeroed a whole [T, B, n] gradient per step
        for t in range(T):
            v, state = self.cell(I_ff[t], state)
            vs.append(v)
        self._keep(out=vs, v=vs)
        return torch.stack(vs)


@register_converter(LTCLayer)
def _ltc(m: LTCLayer, b: Builder, path: str, src: str) -> str:
    Wa, ba, Wr, br = (_np(t) for t in (m.gate_a.weight, m.gate_a.bias, m.gate_r.weight, m.gate_r.bias))
    return _neuron_layer(m, b, path, src, "ltc", lambda: LTCNode(Wa, ba, Wr, br, b0=m.b0, beta=m.beta))


@register_converter(LTCReadout)
def _ltc_readout(m: LTCReadout, b: Builder, path: str, src: str) -> str:
    Wa, ba = _np(m.gate_a.weight), _np(m.gate_a.bias)
    return _neuron_layer(m, b, path, src, "ltc_readout", lambda: LTCReadoutNode(Wa, ba))


def build_ltc(cfg: dict) -> nn.Module:
    """sizes [F, h1, ..., O]: recurrent LTC spiking layers and an LTC (or LI) readout."""
    sizes = cfg["sizes"]
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i, (a, c) in enumerate(zip(sizes[:-2], sizes[1:-1]), 1):
        layers[f"layer{i}"] = LTCLayer(a, c, recurrent=cfg["recurrent"], b0=cfg["b0"], beta=cfg["beta"])
    layers["readout"] = LTCReadout(sizes[-2], sizes[-1]) if cfg["readout"] == "ltc" else LIReadout(sizes[-2], sizes[-1])
    return nn.Sequential(OrderedDict(layers))


zoo.register_arch("ltc", build_ltc, {"sizes": [40, 64, 10], "recurrent": True, "b0": 0.01, "beta": 1.8, "readout": "ltc"},
                  "liquid-time-constant spiking RNN of seed 003, 40-64r-10 (LTC + LTCReadout), trainable with FPTT")
