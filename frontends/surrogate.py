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
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        c = MultiGaussian
        d = (_gaussian(x, 0.0, c.lens) * (1.0 + c.height)
             - _gaussian(x, c.lens, c.scale * c.lens) * c.height
             - _gaussian(x, -c.lens, c.scale * c.lens) * c.height)
        return grad * d * c.gamma


def multi_gaussian(x: torch.Tensor) -> torch.Tensor:
    """Spike with the multi-Gaussian surrogate gradient."""
    return MultiGaussian.apply(x)


SURROGATES = {"multi_gaussian": multi_gaussian}
