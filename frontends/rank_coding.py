"""The rank-coding loss of seed 001 (Jeffares et al. 2022): the loss taken at each sample's first crossing.

A rank-coded network decides at the first step its confidence exceeds theta, so
it is trained at that step: the loss is the classification loss of the output at
the decision time (the last step for samples that never cross), and gradients
flow only from that step. Training earlier outputs to be right and confident
moves the crossings, and so the decisions, earlier.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from snnc.frontends.rc_lstm import first_crossing


def rank_coding_loss(probs: torch.Tensor, target: torch.Tensor, theta: float, readout: str = "softmax") -> torch.Tensor:
    """Mean loss over samples of probs [T, B, k] (EarlyExit output in training mode) at each sample's decision time."""
    if probs.dim() != 3:
        raise ValueError(f"rank_coding_loss: probs must be [T, B, k], got shape {tuple(probs.shape)}")
    if not (0.0 < float(theta) <= 1.0):
        raise ValueError(f"rank_coding_loss: theta must lie in (0, 1], got {theta}")
    B = probs.shape[1]
    _, time = first_crossing(probs.detach(), theta)  # the decision step is chosen without gradient
    p = probs[time, torch.arange(B, device=probs.device)]  # [B, k]: only these entries receive gradients
    eps = torch.finfo(p.dtype).tiny
    if readout == "softmax":
        return F.nll_loss(torch.log(p.clamp_min(eps)), target)
    if readout == "sigmoid":
        return F.binary_cross_entropy(p, F.one_hot(target, p.shape[1]).to(p.dtype))
    raise ValueError(f"rank_coding_loss: readout must be 'softmax' or 'sigmoid', got {readout!r}")
