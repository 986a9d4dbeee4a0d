"""Convolution and pooling synapses (NIR's Conv1d, Conv2d, SumPool2d, AvgPool2d): stateless, on flattened features.

Inputs and outputs are [B, C·prod(spatial)] in C-order of (C, *spatial), PyTorch's
and NIR's Flatten layout, so a NIR Flatten is no node at all.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import Primitive, primitive
from snnc.compiler.primitives.conv_math import out_spatial


class _Conv(Primitive):
    """y = W ⋆ x + b: PyTorch's ConvNd with zero padding (cross-correlation, as NIR and PyTorch define it)."""

    nd = 0  # spatial dimensions

    @property
    def out_spatial(self) -> tuple[int, ...]:
        return out_spatial(self.in_shape, self.W.shape[2:], self.stride, self.padding, self.dilation)

    @property
    def size(self) -> int:
        return int(self.W.shape[0] * np.prod(self.out_spatial))

    def in_size(self, port: str) -> int:
        return int(self.W.shape[1] * self.groups * np.prod(self.in_shape))

    def check(self) -> None:
        name = type(self).__name__
        if self.W.ndim != 2 + self.nd:
            raise PrimitiveError(f"{name}: W must be [C_out, C_in/groups, {', '.join(['k'] * self.nd)}], got {self.W.shape}")
        for f in ("in_shape", "stride", "padding", "dilation"):
            v = getattr(self, f)
            if v.shape != (self.nd,) or v.dtype.kind not in "iu":
                raise PrimitiveError(f"{name}: {f} must be {self.nd} integers, got {v.tolist()}")
        if np.any(self.in_shape < 1) or np.any(self.stride < 1) or np.any(self.dilation < 1) or np.any(self.padding < 0):
            raise PrimitiveError(f"{name}: in_shape, stride and dilation must be >= 1 and padding >= 0")
        if int(self.groups) < 1 or self.W.shape[0] % int(self.groups):
            raise PrimitiveError(f"{name}: groups {self.groups} must divide C_out {self.W.shape[0]}")
        if self.b.shape != (self.W.shape[0],):
            raise PrimitiveError(f"{name}: b has shape {self.b.shape}, expected ({self.W.shape[0]},)")
        if min(self.out_spatial) < 1:
            raise PrimitiveError(f"{name}: kernel {self.W.shape[2:]} does not fit input {self.in_shape.tolist()}")

    def step(self, ops, p, s, x):
        return ops.conv(x["in"], p.W, p.b, self.in_shape, self.stride, self.padding, self.dilation, int(self.groups)), {}

    @classmethod
    def example(cls, n=4, rng=None):
        """n outputs, as every primitive's example: 2 channels -> 1, a 3-wide kernel on n + 2 (and 3) positions."""
        rng = rng or np.random.default_rng(0)
        k = (3,) * cls.nd  # no padding: n + 2 inputs give n outputs on the last axis, 3 give 1 on the others
        return cls(rng.normal(0, 0.5, (1, 2, *k)), rng.normal(0, 0.1, 1), np.array([3] * (cls.nd - 1) + [n + 2]),
                   np.ones(cls.nd, int), np.zeros(cls.nd, int), np.ones(cls.nd, int), 1)


@primitive
class Conv1d(_Conv):
    """y = W ⋆ x + b over one spatial axis; x is [B, C_in·N], y [B, C_out·N_out]."""

    W: np.ndarray  # weights [C_out, C_in/groups, k]
    b: np.ndarray  # bias [C_out]
    in_shape: np.ndarray  # (N,): the spatial size of the input
    stride: np.ndarray  # (s,)
    padding: np.ndarray  # (p,): zeros on both sides
    dilation: np.ndarray  # (d,)
    groups: int = 1  # channel groups

    nd = 1


@primitive
class Conv2d(_Conv):
    """y = W ⋆ x + b over two spatial axes; x is [B, C_in·H·W], y [B, C_out·H_out·W_out]."""

    W: np.ndarray  # weights [C_out, C_in/groups, kH, kW]
    b: np.ndarray  # bias [C_out]
    in_shape: np.ndarray  # (H, W): the spatial size of the input
    stride: np.ndarray  # (sH, sW)
    padding: np.ndarray  # (pH, pW): zeros on both sides
    dilation: np.ndarray  # (dH, dW)
    groups: int = 1  # channel groups

    nd = 2


class _Pool2d(Primitive):
    """Pooling over kH×kW windows of each channel, zeros padded and counted (PyTorch's count_include_pad)."""

    mode = ""

    @property
    def out_spatial(self) -> tuple[int, ...]:
        return out_spatial(self.in_shape[1:], self.kernel, self.stride, self.padding, (1, 1))

    @property
    def size(self) -> int:
        return int(self.in_shape[0] * np.prod(self.out_spatial))

    def in_size(self, port: str) -> int:
        return int(np.prod(self.in_shape))

    def check(self) -> None:
        name = type(self).__name__
        for f, n in (("in_shape", 3), ("kernel", 2), ("stride", 2), ("padding", 2)):
            v = getattr(self, f)
            if v.shape != (n,) or v.dtype.kind not in "iu":
                raise PrimitiveError(f"{name}: {f} must be {n} integers, got {v.tolist()}")
        if np.any(self.in_shape < 1) or np.any(self.kernel < 1) or np.any(self.stride < 1) or np.any(self.padding < 0):
            raise PrimitiveError(f"{name}: in_shape, kernel and stride must be >= 1 and padding >= 0")
        if min(self.out_spatial) < 1:
            raise PrimitiveError(f"{name}: kernel {self.kernel.tolist()} does not fit input {self.in_shape.tolist()}")

    def step(self, ops, p, s, x):
        return ops.pool(x["in"], self.mode, self.in_shape, self.kernel, self.stride, self.padding), {}

    @classmethod
    def example(cls, n=4, rng=None):
        """n outputs, as every primitive's example: one 1×(n + 1) channel, a zero row padded each side (counted)."""
        return cls(np.array([1, 1, n + 1]), np.array([2, 2]), np.array([2, 1]), np.array([1, 0]))


@primitive
class SumPool2d(_Pool2d):
    """y = sum of x over each window; x is [B, C·H·W]."""

    in_shape: np.ndarray  # (C, H, W)
    kernel: np.ndarray  # (kH, kW)
    stride: np.ndarray  # (sH, sW)
    padding: np.ndarray  # (pH, pW)

    mode = "sum"


@primitive
class AvgPool2d(_Pool2d):
    """y = mean of x over each window (the window's kH·kW, padding included); x is [B, C·H·W]."""

    in_shape: np.ndarray  # (C, H, W)
    kernel: np.ndarray  # (kH, kW)
    stride: np.ndarray  # (sH, sW)
    padding: np.ndarray  # (pH, pW)

    mode = "avg"
