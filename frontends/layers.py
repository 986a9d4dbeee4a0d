"""Trainable PyTorch layers with the semantics of seed 000 (adaptive spiking RNNs, Yin et al. 2021).

Every layer takes a whole sequence x [T, B, F] (time first, as the IR) and loops
over time inside, so a user writes the paper's `700 -> 128r -> 128r -> 20` as

    nn.Sequential(ALIFLayer(700, 128, recurrent=True),
                  ALIFLayer(128, 128, recurrent=True),
                  LIReadout(128, 20))

and trains it with BPTT. Time constants are learned per neuron; the decays are
alpha = exp(-dt/tau). The per-step equations are exactly the IR primitives'
(compiler/primitives/lif.py), written in the same order of floating-point
operations so that float32 results match the NumPy runtime closely.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from snnc.frontends.sparse_input import sparse_linear, sparse_pays
from snnc.frontends.surrogate import SURROGATES

RESETS = ("zero", "subtract", "none")
READOUTS = ("spikes", "v")  # what a spiking layer returns: its spikes (default) or its membrane potential v [T, B, n]


def _check_readout(layer: str, readout: str) -> str:
    if readout not in READOUTS:
        raise ValueError(f"{layer}: readout must be one of {', '.join(READOUTS)}, got {readout!r}")
    return readout


def _init_tau(n: int, init: float | Sequence[float]) -> torch.Tensor:
    """Per-neuron time constants: a constant, or (mean, std) of a normal distribution."""
    if isinstance(init, (int, float)):
        return torch.full((n,), float(init))
    mean, std = init
    return torch.empty(n).normal_(mean, std).clamp_(min=1e-3)  # a tau <= 0 has no decay


class _DecayRecurrence(torch.autograd.Function):
    """y_t = x_t + a·y_{t−1} from zero over axis 0 of x [T, ...n] as ONE autograd node: one fused row operation
    per step forward, the reverse recurrence g_x,t = g_t + a·g_x,t+1 backward, instead of a graph of T steps."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        x = x.contiguous()
        y = torch.empty_like(x)
        a_row = a.to(x.dtype).expand(x.shape[1:]).contiguous()  # a contiguous row operand: 2x faster than broadcasting
        xs, ys = x.unbind(0), y.unbind(0)  # views made once: indexing y[t] per step costs as much as the step
        ys[0].copy_(xs[0])
        for t in range(1, len(xs)):
            torch.addcmul(xs[t], a_row, ys[t - 1], out=ys[t])
        ctx.save_for_backward(y, a_row)
        ctx.a_shape = a.shape
        return y

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        y, a_row = ctx.saved_tensors
        g = g.contiguous()
        gx = torch.empty_like(g)
        gs, gxs = g.unbind(0), gx.unbind(0)
        gxs[-1].copy_(gs[-1])
        for t in range(len(gs) - 2, -1, -1):
            torch.addcmul(gs[t], a_row, gxs[t + 1], out=gxs[t])
        ga = None
        if ctx.needs_input_grad[1]:  # dL/da = Σ_t g_x,t · y_{t−1}, summed down to a's shape
            ga = (gx[1:] * y[:-1]).sum(0).sum_to_size(ctx.a_shape)
        return gx, ga


def decay_recurrence(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """y_t = a·y_{t−1} + x_t from zero over axis 0 of x [T, ...n] (a broadcasts over n), differentiable in x and a:
    the linear recurrence of a neuron without reset, vectorized over batch and neurons in one autograd node."""
    if x.shape[0] == 0:
        return x.clone()
    return _DecayRecurrence.apply(x, a)


class SpikingLayer(nn.Module):
    """Shared machinery: input weights `fc`, optional recurrent weights `rec`, recording of traces."""

    def __init__(self, in_features: int, out_features: int, recurrent: bool = False, dt: float = 1.0, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features, self.recurrent, self.dt = in_features, out_features, recurrent, float(dt)
        self.fc = nn.Linear(in_features, out_features, bias=bias)
        nn.init.xavier_uniform_(self.fc.weight)
        if bias:
            nn.init.zeros_(self.fc.bias)
        self.rec = None
        if recurrent:
            self.rec = nn.Linear(out_features, out_features, bias=bias)
            nn.init.orthogonal_(self.rec.weight)
            if bias:
                nn.init.zeros_(self.rec.bias)
        self.record = False  # when True, forward() keeps self.trace = {"out", state...} as [T, B, n]
        # the input product in training: None = from x's nonzero entries where x is sparse enough to pay
        # (frontends/sparse_input.py), True = always so, False = dense; evaluation is always dense (the reference)
        self.sparse_input: bool | None = None
        self.trace: dict[str, torch.Tensor] = {}

    def _decay(self, tau: torch.Tensor) -> torch.Tensor:
        return torch.exp(-self.dt / tau)

    def _start(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        if x.dim() != 3 or x.shape[-1] != self.in_features:
            raise ValueError(f"{type(self).__name__}: expected input [T, B, {self.in_features}], got {tuple(x.shape)}")
        mode = getattr(self, "sparse_input", None)
        sparse = self.training and (mode is True or (mode is None and sparse_pays(x)))
        return (sparse_linear(x, self.fc) if sparse else self.fc(x)), x.shape[0], x.shape[1]  # all steps in one product

    def _state(self, init: float | torch.Tensor, B: int, like: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(init, dtype=like.dtype, device=like.device).expand(B, self.out_features).clone()

    def _keep(self, **seqs: list[torch.Tensor]) -> None:
        if self.record:
            self.trace = {k: torch.stack(v).detach() for k, v in seqs.items()}

    def extra_repr(self) -> str:
        ro = getattr(self, "readout", "spikes")
        return (f"{self.in_features} -> {self.out_features}{'r' if self.recurrent else ''}, dt={self.dt}"
                + (f", readout={ro}" if ro != "spikes" else ""))


class ALIFLayer(SpikingLayer):
    """Adaptive LIF layer (seed 000). Per step, with s⁻ the layer's spikes of the previous step:

    I = fc(x_t) [+ rec(s⁻)];  b = rho·b + (1−rho)·s⁻;  B = b0 + beta·b;
    v = alpha·v + (1−alpha)·R·I − B·s⁻;  s = H(v − B)
    with alpha = exp(−dt/tau_m), rho = exp(−dt/tau_adp) learned per neuron.

    `readout="v"` returns the membrane potential v of every step [T, B, n] instead of the spikes
    (a spiking output layer classified on its membrane, as seed 000 does for ECG); the spikes still
    drive the reset and adaptation exactly as with the default `readout="spikes"`.
    """

    def __init__(self, in_features: int, out_features: int, recurrent: bool = True, *,
                 tau_m: float | Sequence[float] = (20.0, 5.0), tau_adp: float | Sequence[float] = (200.0, 25.0),
                 b0: float = 0.01, beta: float = 1.8, R: float = 1.0, dt: float = 1.0,
                 v_init: float = 0.0, b_init: float | None = None, learn_tau: bool = True,
                 surrogate: str = "multi_gaussian", bias: bool = True, readout: str = "spikes"):
        super().__init__(in_features, out_features, recurrent, dt, bias)
        self.readout = _check_readout("ALIFLayer", readout)
        self.tau_m = nn.Parameter(_init_tau(out_features, tau_m), requires_grad=learn_tau)
        self.tau_adp = nn.Parameter(_init_tau(out_features, tau_adp), requires_grad=learn_tau)
        self.b0, self.beta, self.R = float(b0), float(beta), float(R)
        self.v_init = float(v_init)
        self.b_init = float(b0 if b_init is None else b_init)  # the seed starts b at b0
        self.spike = SURROGATES[surrogate]

    def decays(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha, rho) per neuron."""
        return self._decay(self.tau_m), self._decay(self.tau_adp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        I_ff, T, B = self._start(x)
        alpha, rho = self.decays()
        v, b = self._state(self.v_init, B, I_ff), self._state(self.b_init, B, I_ff)
        I_ff = I_ff.unbind(0)  # one backward node for all steps: indexing I_ff[t] costs a zeroed [T, B, n] gradient per step
        s = torch.zeros_like(v)
        outs, vs, bs = [], [], []
        for t in range(T):
            I = I_ff[t] + self.rec(s) if self.rec is not None else I_ff[t]
            b = rho * b + (1 - rho) * s
            Bt = self.b0 + self.beta * b
            v = alpha * v + (1 - alpha) * self.R * I - Bt * s
            s = self.spike(v - Bt)
            outs.append(s), vs.append(v), bs.append(b)
        self._keep(out=outs, v=vs, b=bs)
        return torch.stack(vs if self.readout == "v" else outs)


class _MembraneLayer(SpikingLayer):
    """A layer whose membrane leaks with tau_m through a resistance R: alpha = exp(−dt/tau_m), gain = (1−alpha)·R."""

    def decays(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha, gain) per neuron."""
        alpha = self._decay(self.tau_m)
        return alpha, (1 - alpha) * self.R


class LIFLayer(_MembraneLayer):
    """LIF layer: I = fc(x_t) [+ rec(s⁻)];  v = alpha·v + gain·I with gain = (1−alpha)·R;
    s = H(v − theta);  reset zero (v·(1−s)), subtract (v − theta·s) or none.

    `readout="v"` returns the membrane potential v [T, B, n] (after the reset, the neuron's state) instead of the spikes."""

    def __init__(self, in_features: int, out_features: int, recurrent: bool = False, *,
                 tau_m: float | Sequence[float] = (20.0, 5.0), theta: float = 1.0, R: float = 1.0,
                 reset: str = "zero", dt: float = 1.0, v_init: float = 0.0, learn_tau: bool = True,
                 surrogate: str = "multi_gaussian", bias: bool = True, readout: str = "spikes"):
        super().__init__(in_features, out_features, recurrent, dt, bias)
        self.readout = _check_readout("LIFLayer", readout)
        if reset not in RESETS:
            raise ValueError(f"LIFLayer: reset must be one of {', '.join(RESETS)}, got {reset!r}")
        self.tau_m = nn.Parameter(_init_tau(out_features, tau_m), requires_grad=learn_tau)
        self.theta, self.R, self.reset, self.v_init = float(theta), float(R), reset, float(v_init)
        self.spike = SURROGATES[surrogate]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        I_ff, T, B = self._start(x)
        alpha, gain = self.decays()
        v = self._state(self.v_init, B, I_ff)
        I_ff = I_ff.unbind(0)  # one backward node, not a zeroed [T, B, n] gradient per step (see ALIFLayer)
        s = torch.zeros_like(v)
        outs, vs = [], []
        for t in range(T):
            I = I_ff[t] + self.rec(s) if self.rec is not None else I_ff[t]
            v = alpha * v + gain * I
            s = self.spike(v - self.theta)
            if self.reset == "zero":
                v = v * (1 - s)
            elif self.reset == "subtract":
                v = v - self.theta * s
            outs.append(s), vs.append(v)
        self._keep(out=outs, v=vs)
        return torch.stack(vs if self.readout == "v" else outs)


class LIReadout(_MembraneLayer):
    """Leaky-integrator readout: v = alpha·v + gain·fc(x_t) with gain = (1−alpha)·R; the output is v [T, B, n]."""

    def __init__(self, in_features: int, out_features: int, *, tau_m: float | Sequence[float] = (20.0, 5.0),
                 R: float = 1.0, dt: float = 1.0, v_init: float = 0.0, learn_tau: bool = True, bias: bool = True):
        super().__init__(in_features, out_features, False, dt, bias)
        self.tau_m = nn.Parameter(_init_tau(out_features, tau_m), requires_grad=learn_tau)
        self.R, self.v_init = float(R), float(v_init)
        # True: the whole sequence as one linear recurrence node (decay_recurrence); None: so in training only;
        # False (default): the step loop, as every stepwise network (the SPSN zoo model sets None)
        self.parallel: bool | None = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        I_ff, T, B = self._start(x)
        alpha, gain = self.decays()
        par = getattr(self, "parallel", False)
        if (self.training if par is None else par) and T > 0:
            drive = gain * I_ff
            if self.v_init != 0.0:  # v_0 = alpha·v_init + gain·I_0: fold the initial state into the first drive
                drive = torch.cat([(drive[0] + alpha * self.v_init).unsqueeze(0), drive[1:]])
            v = decay_recurrence(drive, alpha)
            if self.record:
                self.trace = {"out": v.detach(), "v": v.detach()}
            return v
        v = self._state(self.v_init, B, I_ff)
        I_ff = I_ff.unbind(0)  # one backward node, not a zeroed [T, B, n] gradient per step (see ALIFLayer)
        vs = []
        for t in range(T):
            v = alpha * v + gain * I_ff[t]
            vs.append(v)
        self._keep(out=vs, v=vs)
        return torch.stack(vs)
