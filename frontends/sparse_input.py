"""The input product of a spiking layer in training, x @ W.T + b, from the nonzero entries of a sparse x (spikes).

Spike inputs are mostly zeros (5 % on SHD), so in training `SpikingLayer._start` computes the product from
the active entries only: forward the sum of the weight rows of the inputs that fired (embedding_bag), backward
the weight gradient from the same entries (x^T @ g, the rows of g summed per input channel) and the input gradient
g @ W only when x needs one (hidden layers, whose input spikes carry a surrogate gradient). The same numbers as
the dense product up to the order of the float sums. Used only where it is faster: a sample of 64 rows of x
estimates its density first (SPARSE_MAX_DENSITY). Evaluation keeps the dense product, the reference numerics.
"""
from __future__ import annotations

import numpy as np
import torch

SPARSE_MAX_DENSITY = 0.1  # above about 0.12-0.15 the dense GEMM wins on CPU (measured at 128 and 700 inputs, T·batch = 16000)
_SAMPLE_ROWS = 64  # rows of x sampled for the density: at 700 inputs and 5 %, an estimate within about 0.2 %
_MIN_ENTRIES = 1 << 16  # below it the dense product is too cheap to beat


def sparse_pays(x: torch.Tensor) -> bool:
    """Whether the sparse product beats the dense one on x [..., F] (float on CPU, mostly zeros)."""
    if x.device.type != "cpu" or not x.dtype.is_floating_point or x.numel() < _MIN_ENTRIES:
        return False
    rows = x.reshape(-1, x.shape[-1])
    sample = rows[::max(1, rows.shape[0] // _SAMPLE_ROWS)]  # whole rows: every input channel, spread over T and B
    return int(torch.count_nonzero(sample)) <= SPARSE_MAX_DENSITY * sample.numel()


def _offsets(of: torch.Tensor, n: int) -> torch.Tensor:
    """[n + 1] start of each of n groups in entries sorted by group `of` (a CSR row pointer), the last the end."""
    off = torch.zeros(n + 1, dtype=torch.int64)
    torch.cumsum(torch.bincount(of, minlength=n), 0, out=off[1:])
    return off


def _entries(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(rows, cols, values) of x [N, F]'s nonzero entries in row-major order. On CPU through NumPy's
    nonzero of the boolean mask x != 0: half the time of torch's nonzero on the float tensor."""
    F = x.shape[1]
    xf = x.detach().reshape(-1)
    if x.device.type != "cpu" or x.dtype == torch.bfloat16:  # (NumPy has no bfloat16)
        flat = xf.nonzero().squeeze(1)
        return flat // F, flat % F, xf.index_select(0, flat)
    flat = np.flatnonzero(xf.numpy() != 0)
    rows, cols = np.divmod(flat, F)  # twice as fast as torch's
    return torch.from_numpy(rows), torch.from_numpy(cols), xf.index_select(0, torch.from_numpy(flat))


def _row_sums(table: torch.Tensor, idx: torch.Tensor, off: torch.Tensor, vals: torch.Tensor | None) -> torch.Tensor:
    """out[k] = Σ_{e in group k} vals[e]·table[idx[e]] (groups by CSR offsets `off`): embedding_bag's sum, 3-7x
    torch's CSR matrix product on CPU; vals None for all ones (spikes), half the time again."""
    return torch.nn.functional.embedding_bag(idx, table, off, mode="sum", per_sample_weights=vals,
                                             include_last_offset=True)


class SparseInputLinear(torch.autograd.Function):
    """y = x @ W.T + b for x [N, F] mostly zeros, computed from x's nonzero entries; gradients as the dense product's."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:  # type: ignore[override]
        N, F = x.shape
        rows, cols, vals = _entries(x)  # row-major: sorted by row, the CSR order
        if bool(vals.eq(1).all()):  # spikes: every entry weighs 1
            vals = None
        y = _row_sums(weight.t().contiguous(), cols, _offsets(rows, N), vals)  # y[r] = Σ_c x[r, c]·W[:, c]
        if bias is not None:
            y += bias
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
            vt = None if vals is None else vals.index_select(0, order)
            gw = _row_sums(g, rows.index_select(0, order), _offsets(cols, F), vt).t()  # gW[:, c] = Σ_r x[r, c]·g[r]
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = g.sum(0)
        return gx, gw, gb


def sparse_linear(x: torch.Tensor, linear: torch.nn.Linear) -> torch.Tensor:
    """linear(x) for x [..., F] through SparseInputLinear (same shape and gradients as the dense call)."""
    y = SparseInputLinear.apply(x.reshape(-1, x.shape[-1]), linear.weight, linear.bias)
    return y.view(*x.shape[:-1], y.shape[-1])
