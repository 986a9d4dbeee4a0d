"""Surrogate gradients for the Heaviside spike function.

`multi_gaussian` is the surrogate of seed 000 (Yin, Corradi, Bohté 2021): a
Gaussian centred on the threshold minus two wider side Gaussians, scaled by
gamma. Forward it is H(x) = 1[x > 0].
"""
from __future__ import annotations

import math

import torch


def _gaussian(x: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
    return torch.exp(-((x - mu) ** 2) / (2 * sigma**2)) / (math.sqrt(2 * math.pi) * sigma)


class MultiGaussian(torch.autograd.Function):
    """H(x) forward; the multi-Gaussian surrogate derivative backward (lens 0.5, scale 6, height 0.15, gamma 0.5)."""

    lens, scale, height, gamma = 0.5, 6.0, 0.15, 0.5

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return torch.gt(x, 0, out=torch.empty_like(x))  # straight into x's dtype: no bool tensor and cast

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        k = _MG_CONSTS
        # gamma·[(1+h)·N(x; 0, l) − h·N(x; l, s) − h·N(x; −l, s)] with the side exponents expanded,
        # −(x∓l)²/2s² = q ± r, q = −(x²+l²)/2s², r = x·l/s²: half the elementwise calls of the plain
        # form (this runs once per layer and step in BPTT), and no overflow for any x
        x2 = x * x
        d = torch.mul(x2, k["c_exp"]).exp_().mul_(k["c_amp"])
        q = torch.mul(x2, k["s_exp"]).add_(k["s_off"])
        r = x * k["s_lin"]
        side = torch.sub(q, r).exp_().add_(q.add_(r).exp_())
        return d.sub_(side, alpha=k["s_amp"]).mul_(grad)


def _mg_consts(c=MultiGaussian) -> dict[str, float]:
    sl = c.scale * c.lens
    return {"c_exp": -1 / (2 * c.lens**2), "c_amp": c.gamma * (1 + c.height) / (math.sqrt(2 * math.pi) * c.lens),
            "s_exp": -1 / (2 * sl**2), "s_off": -c.lens**2 / (2 * sl**2), "s_lin": c.lens / sl**2,
            "s_amp": c.gamma * c.height / (math.sqrt(2 * math.pi) * sl)}


_MG_CONSTS = _mg_consts()


def multi_gaussian(x: torch.Tensor) -> torch.Tensor:
    """Spike with the multi-Gaussian surrogate gradient."""
    return MultiGaussian.apply(x)


SURROGATES = {"multi_gaussian": multi_gaussian}
