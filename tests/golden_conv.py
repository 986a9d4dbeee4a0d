"""Golden vectors of the convolution and pooling primitives (used by test_golden.py), worked out by hand from
PyTorch's definitions: cross-correlation over zero-padded input, features in C-order of (C, *spatial)."""
from __future__ import annotations

import numpy as np

from snnc.compiler.primitives.conv import AvgPool2d, Conv1d, Conv2d, SumPool2d

A = np.array
CONV_CASES: list[tuple] = []


def case(cid, node, x, expect, noise=None, kind="graded"):
    CONV_CASES.append((cid, node, x, expect, noise, kind))


# Conv1d k=[1, -2], b 0.5, pad 1, stride 2 on N=4: padded [0, x0..x3, 0], windows at 0, 2, 4
case("Conv1d", Conv1d(A([[[1., -2.]]]), A([0.5]), A([4]), A([2]), A([1]), A([1])), [[1, 2, 3, 4], [0, 1, 0, -1]],
     {"out": [[-1.5, -3.5, 4.5], [0.5, 1.5, -0.5]]})
# Conv2d 1 -> 2 channels, 2x2 kernels [[1, 0], [0, 1]] and [[0, 1], [-1, 0]], b (0, 1), on a 2x3 image
case("Conv2d", Conv2d(A([[[[1., 0.], [0., 1.]]], [[[0., 1.], [-1., 0.]]]]), A([0., 1.]), A([2, 3]), A([1, 1]), A([0, 0]),
                      A([1, 1])), [[1, 2, 3, 4, 5, 6], [0, 1, 0, 1, 0, 1]],
     {"out": [[6, 8, -1, -1], [0, 2, 1, 1]]})
# SumPool2d 2x2, stride 2 on one 2x4 channel
case("SumPool2d", SumPool2d(A([1, 2, 4]), A([2, 2]), A([2, 2]), A([0, 0])), [[1, 2, 3, 4, 5, 6, 7, 8]], {"out": [[14, 22]]})
# AvgPool2d 2x2, stride 2, one zero column padded each side of a 2x2 channel, the zeros counted: (1+3)/4, (2+4)/4
case("AvgPool2d", AvgPool2d(A([1, 2, 2]), A([2, 2]), A([2, 2]), A([0, 1])), [[1, 2, 3, 4]], {"out": [[1, 1.5]]})
