"""NumPy kernels of the quantized float-domain primitives Int8Dense and Affine (compiler/primitives/quantized.py)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from snnc.backends.numpy.lower import PREPARE, default_params, kernel
from snnc.compiler.primitives.quantized import Affine, Int8Dense


@kernel(Int8Dense)
def _int8_dense(p, st, inp):
    xq = np.clip(np.rint(inp["in"] / p.x_scale), -127, 127).astype(np.int32)
    acc = xq @ p.Wt  # int32 accumulation
    return acc.astype(p.out_scale.dtype) * p.out_scale + p.b


def _prepare_int8(node: Int8Dense, dtype) -> SimpleNamespace:
    p = default_params(node, dtype)
    p.Wt = np.ascontiguousarray(node.W.T.astype(np.int32))
    p.out_scale = (node.w_scale * float(node.x_scale)).astype(dtype)
    p.x_scale = dtype.type(float(node.x_scale))
    return p


@kernel(Affine)
def _affine(p, st, inp):
    return inp["in"] * p.scale + p.shift


PREPARE[Int8Dense] = _prepare_int8
