"""The input product of a spiking layer in training, x @ W.T + b, from the nonzero entries of a sparse x (spikes).

Spike inputs are mostly zeros (5 % on SHD), so in training `SpikingLayer._start` computes the product from
the active entries only: forward a CSR product (the weight rows of the inputs that fired), backward the weight
gradient from the same entries (x^T @ g as a CSR product of the transposed entries) and the input gradient
g @ W only when x needs one (hidden layers, whose input spikes carry a surrogate gradient). The same numbers as
the dense product up to the order of the float sums. Used only where it is faster: a sample of 64 rows of x
estimates its density first (SPARSE_MAX_DENSITY). Evaluation keeps the dense product, the reference numerics.
"""
from __future__ import annotations

import warnings

import torch

SPARSE_MAX_DENSITY = 0.06  # above it the dense GEMM wins on CPU (measured at 128 and 700 inputs, T·batch = 16000)
_SAMPLE_ROWS = 64  # rows of x sampled for the density: at 700 inputs and 5 %, an estimate within about 0.2 %
_MIN_ENTRIES = 1 << 16  # below it the dense product is too cheap to beat


def sparse_pays(x: torch.Tensor) -> bool:
    """Whether the sparse product beats the dense one on x [..., F] (float on CPU, mostly zeros)."""
    if x.device.type != "cpu" or not x.dtype.is_floating_point or x.numel() < _MIN_ENTRIES:
        return False
    rows = x.reshape(-1, x.shape[-1])
    sample = rows[::max(1, rows.shape[0] // _SAMPLE_ROWS)]  # whole rows: every input channel, spread over T and B
    return int(torch.count_nonzero(sample)) <= SPARSE_MAX_DENSITY * sample.numel()


def _csr(crow_of: torch.Tensor, n: int, cols: torch.Tensor, vals: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    crow = torch.zeros(n + 1, dtype=torch.int64)
    torch.cumsum(torch.bincount(crow_of, minlength=n), 0, out=crow[1:])
    with warnings.catch_warnings():  # "sparse CSR support is in beta": the kernels used here are stable since torch 2.0
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, cols, vals, shape)


class SparseInputLinear(torch.autograd.Function):
    """y = x @ W.T + b for x [N, F] mostly zeros, computed from x's nonzero entries; gradients as the dense product's."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:  # type: ignore[override]
        N, F = x.shape
        flat = x.reshape(-1).nonzero().squeeze(1)  # row-major: sorted by row, the CSR order
        rows, cols = flat // F, flat % F
        vals = x.reshape(-1).index_select(0, flat)  # index_select: half the time of x[flat] on CPU
        xs = _csr(rows, N, cols, vals, (N, F))
        wt = weight.t()
        y = torch.sparse.mm(xs, wt) if bias is None else torch.sparse.addmm(bias.expand(N, -1), xs, wt)
        ctx.save_for_backward(rows, cols, vals, weight)
        ctx.shape, ctx.has_bias = (N, F), bias is not None
        return y

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        rows, cols, vals, weight = ctx.saved_tensors
        N, F = ctx.shape
        gx = gw = gb = None
        g = g.contiguous()
        if ctx.needs_input_grad[0]:
            gx = g @ weight
        if ctx.needs_input_grad[1]:
            key = cols.to(torch.int16 if F < 1 << 15 else torch.int32)  # a narrow key sorts 2-3x faster
            order = torch.sort(key, stable=True).indices  # the entries of x^T in row-major order
            xt = _csr(cols, F, rows.index_select(0, order), vals.index_select(0, order), (F, N))
            gw = torch.sparse.mm(xt, g).t()
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = g.sum(0)
        return gx, gw, gb


def sparse_linear(x: torch.Tensor, linear: torch.nn.Linear) -> torch.Tensor:
    """linear(x) for x [..., F] through SparseInputLinear (same shape and gradients as the dense call)."""
    y = SparseInputLinear.apply(x.reshape(-1, x.shape[-1]), linear.weight, linear.bias)
    return y.view(*x.shape[:-1], y.shape[-1])
