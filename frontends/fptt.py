"""Forward Propagation Through Time (FPTT, Kag & Saligrama 2021), as seed 003 trains LTC spiking networks.

Instead of backpropagating through the whole sequence, FPTT updates the weights
after every step (or every K steps) from an instantaneous loss plus a dynamic
regularizer that pulls W towards a running average W̄:

    ℓ_t = (t+1)/T · task_loss(y_t, target) + (rho − 1)·⟨W, λ⟩ + (alpha/2)·‖W − W̄‖²
    after the optimizer step:  λ ← λ − alpha·(W − W̄);  W̄ ← (1 − rho)·W̄ + rho·W − (rho/alpha)·λ
    at the end of an epoch:    W ← W̄

The network state is detached after every update, so memory does not grow with
the sequence length T (tests/test_family_fptt.py measures it).
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn

State = list


class Stepper:
    """Runs an nn.Sequential one step at a time: layers with `init_state`/`step`, stateless modules as they are."""

    STATELESS = (nn.Linear, nn.Identity, nn.Dropout, nn.ReLU, nn.Tanh, nn.Sigmoid)

    def __init__(self, model: nn.Module):
        layers = list(model) if isinstance(model, nn.Sequential) else [model]
        for i, m in enumerate(layers):
            if not (hasattr(m, "step") and hasattr(m, "init_state")) and not isinstance(m, self.STATELESS):
                raise TypeError(f"FPTT: layer {i} ({type(m).__name__}) has no step()/init_state(); "
                                "FPTT needs layers that run one step at a time (e.g. LTCLayer, LTCReadout)")
        self.layers = layers

    def init_state(self, B: int, like: torch.Tensor) -> State:
        return [m.init_state(B, like) if hasattr(m, "init_state") else None for m in self.layers]

    def step(self, x_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        new = []
        for m, st in zip(self.layers, state):
            if st is None:
                x_t = m(x_t)
            else:
                x_t, st = m.step(x_t, st)
            new.append(st)
        return x_t, new

    @staticmethod
    def detach(state: State) -> State:
        return [None if st is None else tuple(s.detach() for s in st) for st in state]


class FPTT:
    """FPTT trainer for `model` with `optimizer`; `epoch(batches, loss_fn)` trains one pass over the data."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, alpha: float = 0.1, rho: float = 0.5,
                 K: int = 1, on_step: Callable[[int], None] | None = None):
        if alpha <= 0:
            raise ValueError(f"FPTT: alpha must be > 0, got {alpha}")
        if not 0 < rho <= 1:
            raise ValueError(f"FPTT: rho must lie in (0, 1], got {rho}")
        if K < 1:
            raise ValueError(f"FPTT: K (steps per update) must be >= 1, got {K}")
        self.model, self.optimizer, self.alpha, self.rho, self.K = model, optimizer, float(alpha), float(rho), int(K)
        self.stepper = Stepper(model)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.avg = [p.detach().clone() for p in self.params]  # W̄
        self.lam = [torch.zeros_like(p) for p in self.params]  # λ
        self.on_step = on_step  # called with t after each update's forward, where the autograd graph is largest

    def regularizer(self) -> torch.Tensor:
        reg = torch.zeros((), dtype=self.params[0].dtype)
        for p, a, lam in zip(self.params, self.avg, self.lam):
            reg = reg + (self.rho - 1.0) * torch.sum(p * lam) + 0.5 * self.alpha * torch.sum((p - a) ** 2)
        return reg

    @torch.no_grad()
    def _after_update(self) -> None:
        for p, a, lam in zip(self.params, self.avg, self.lam):
            lam.add_(p - a, alpha=-self.alpha)
            a.mul_(1.0 - self.rho).add_(p, alpha=self.rho).add_(lam, alpha=-self.rho / self.alpha)

    def sequence(self, x: torch.Tensor, target: torch.Tensor, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> float:
        """Train on one batch x [T, B, F]; target [B] (one label per sequence) or [T, B, ...] (per step)."""
        T, B = x.shape[:2]
        per_step = target.dim() >= 1 and target.shape[0] == T and target.shape[:2] == (T, B)
        state = self.stepper.init_state(B, x)
        total, loss = 0.0, None
        for t in range(T):
            y, state = self.stepper.step(x[t], state)
            task = (t + 1) / T * loss_fn(y, target[t] if per_step else target)
            loss = task if loss is None else loss + task
            if (t + 1) % self.K == 0 or t == T - 1:
                if self.on_step is not None:
                    self.on_step(t)
                obj = loss + self.regularizer()
                self.optimizer.zero_grad(set_to_none=True)
                obj.backward()
                self.optimizer.step()
                self._after_update()
                total += float(loss.detach())
                loss, state = None, self.stepper.detach(state)  # cut the graph: memory stays O(K), not O(T)
        return total / T

    def epoch(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
              loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> float:
        """One pass over (x, target) batches; W is set to W̄ at the end. Returns the mean weighted task loss."""
        self.model.train()
        losses = [self.sequence(x, y, loss_fn) for x, y in batches]
        with torch.no_grad():
            for p, a in zip(self.params, self.avg):
                p.copy_(a)
        return sum(losses) / max(1, len(losses))
