"""ONNX rules of the primitives the passes produce that ONNX can express: Affine (`fuse`) and Int8Dense (`quantize int8`).

The Loihi fixed-point primitives (LoihiDense, LoihiLIF, LoihiLI, LoihiALIF) have
no rule: their 24-bit wrap-around and shift arithmetic is Loihi's, and lowering
them raises a LoweringError that names the node.
"""
from __future__ import annotations

import numpy as np

from snnc.backends.numpy.lower import default_params
from snnc.backends.onnx.rules import MIN_OPSET, Emitter, rule
from snnc.compiler.primitives.quantized import Affine, Int8Dense

MIN_OPSET.update({"Clip": 11, "Round": 11})  # Clip takes min/max as inputs since 11


@rule(Affine)
def _affine(em: Emitter, node: Affine, inp: dict[str, str]) -> str:
    p = default_params(node, em.dtype)
    return em.op("Add", [em.op("Mul", [inp["in"], em.const("scale", p.scale)], "scaled"), em.const("shift", p.shift)], "y")


@rule(Int8Dense)
def _int8_dense(em: Emitter, node: Int8Dense, inp: dict[str, str]) -> str:
    # q(x) = clip(rint(x / x_scale), -127, 127) as int8; int8 x int8 -> int32 accumulation as in the NumPy kernel
    x_scale = np.asarray(float(node.x_scale), em.dtype)
    xq = em.op("Round", [em.op("Div", [inp["in"], em.const("x_scale", x_scale)], "x_scaled")], "x_rounded")
    xq = em.op("Clip", [xq, em.const("q_min", np.asarray(-127, em.dtype)), em.const("q_max", np.asarray(127, em.dtype))], "x_clipped")
    xq = em.op("Cast", [xq], "x_q", to=em.helper.np_dtype_to_tensor_dtype(np.dtype(np.int8)))
    acc = em.op("MatMulInteger", [xq, em.const("Wt", np.ascontiguousarray(node.W.T), cast=False)], "acc")
    out_scale = (node.w_scale * float(node.x_scale)).astype(em.dtype)
    y = em.op("Mul", [em.op("Cast", [acc], "acc_f", to=em.helper.np_dtype_to_tensor_dtype(em.dtype)),
                      em.const("out_scale", out_scale)], "scaled")
    return em.op("Add", [y, em.const("b", default_params(node, em.dtype).b)], "y")
