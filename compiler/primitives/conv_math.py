"""Convolution and pooling on flattened features, in NumPy: the meaning of the `conv` and `pool` step ops.

Values stay [B, features] between nodes (features in C-order of (C, *spatial), as
PyTorch's flatten and NIR's Flatten lay them out); these functions reshape inside.
"""
from __future__ import annotations

import numpy as np


def out_spatial(in_spatial, kernel, stride, padding, dilation) -> tuple[int, ...]:
    """Output size per spatial axis: floor((n + 2p − d·(k − 1) − 1)/s) + 1, as PyTorch and NIR compute it."""
    return tuple(int((n + 2 * p - d * (k - 1) - 1) // s + 1)
                 for n, k, s, p, d in zip(in_spatial, kernel, stride, padding, dilation))


def _windows(x: np.ndarray, kernel, stride, padding, dilation) -> np.ndarray:
    """[B, C, *out, *kernel] views of the zero-padded input x [B, C, *spatial]."""
    nd = len(kernel)
    x = np.pad(x, [(0, 0), (0, 0)] + [(int(p), int(p)) for p in padding])
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    w = np.lib.stride_tricks.sliding_window_view(x, span, axis=tuple(range(2, 2 + nd)))
    idx = (slice(None), slice(None)) + tuple(slice(None, None, int(s)) for s in stride) \
        + tuple(slice(None, None, int(d)) for d in dilation)
    return w[idx]


def conv(x: np.ndarray, W: np.ndarray, b: np.ndarray, in_shape, stride, padding, dilation, groups: int) -> np.ndarray:
    """y = W ⋆ x + b (PyTorch's Conv1d/Conv2d) for x [B, C_in·prod(in_shape)]; returns [B, C_out·prod(out)]."""
    B, C_out, C_in = x.shape[0], W.shape[0], W.shape[1] * groups
    spatial, kernel = tuple(int(n) for n in in_shape), W.shape[2:]
    win = _windows(x.reshape(B, C_in, *spatial), kernel, stride, padding, dilation)  # [B, C_in, *out, *k]
    out = win.shape[2:2 + len(kernel)]
    g, co = int(groups), C_out // int(groups)
    win = win.reshape(B, g, C_in // g, *out, *kernel)
    Wg = W.reshape(g, co, C_in // g, *kernel).astype(x.dtype, copy=False)
    letters = "hijk"[:len(kernel)]
    spat = "pq"[:len(kernel)]
    y = np.einsum(f"bgc{spat}{letters},goc{letters}->bgo{spat}", win, Wg, optimize=True)
    y = y.reshape(B, C_out, *out) + b.astype(x.dtype, copy=False).reshape(1, C_out, *([1] * len(kernel)))
    return np.ascontiguousarray(y).reshape(B, -1)


def pool(x: np.ndarray, mode: str, in_shape, kernel, stride, padding) -> np.ndarray:
    """Sum or average pooling (zeros padded and counted, PyTorch's count_include_pad) of x [B, C·H·W]."""
    C, spatial = int(in_shape[0]), tuple(int(n) for n in in_shape[1:])
    win = _windows(x.reshape(x.shape[0], C, *spatial), kernel, stride, padding, [1] * len(kernel))
    axes = tuple(range(-len(kernel), 0))
    y = win.sum(axis=axes)
    if mode == "avg":
        y = y / x.dtype.type(np.prod(kernel))
    return np.ascontiguousarray(y).reshape(x.shape[0], -1)
