"""compiler/fixedpoint.py against literal values worked out by hand from DESIGN §6 (Lava 0.10's fixed_pt rules)."""
from __future__ import annotations

import numpy as np

from snnc.compiler import fixedpoint as fx

A = lambda *v: np.array(v, np.int64)  # noqa: E731


def test_truncation_rounds_toward_zero():
    # 4097 >> 12 = 1; −4097 → −1 (not −2 as a floor shift would give); ±4095 → 0
    assert fx.trunc12(A(4097, -4097, 4095, -4095, -8192)).tolist() == [1, -1, 0, 0, -2]
    # decay 2048 halves toward zero: −3·2048/4096 = −1.5 → −1; d = 0 keeps x; d = 1: 4096·4095/4096 = 4095
    assert fx.decay(A(-3, 8192, 4096), A(2048, 0, 1)).tolist() == [-1, 8192, 4095]


def test_shifts_by_signed_exponent():
    # shift floors (Lava's Dense and scale_bias): −5 >> 1 = −3; shift_trunc rounds toward zero: −2
    assert fx.shift(A(-5, 5, 3, -1), A(-1, -1, 2, -8)).tolist() == [-3, 2, 12, -1]
    assert fx.shift_trunc(A(-5, 5, -1), -1).tolist() == [-2, 2, 0]
    assert fx.shift_trunc(A(-5, 7), 3).tolist() == [-40, 56]
    assert fx.bias(A(100, -37, 4095), A(7, 2, 0)).tolist() == [12800, -148, 4095]
    assert fx.align(np.array([1.0, -2.0, 0.9])).tolist() == [64, -128, 0]  # floats truncate toward zero first
    assert fx.threshold(A(131071)).tolist() == [8388544]


def test_wraps_and_clips_at_their_edges():
    # Lava's u: (2^23, ...) subtracts 2^24, (..., −2^23] adds 2^24, 2^23 itself stays
    assert fx.wrap24(A(2**23, 2**23 + 1, -(2**23), -(2**23) + 1, 9753600)).tolist() == \
        [2**23, -(2**23) + 1, 2**23, -(2**23) + 1, -7023616]
    assert fx.wrap32(A(2**31, -(2**31) - 1, 2**31 - 1)).tolist() == [-(2**31), 2**31 - 1, 2**31 - 1]
    assert fx.clip24(A(2**23, -(2**23), 5)).tolist() == [2**23 - 1, -(2**23 - 1), 5]


def test_resets():
    v, s, th = A(70, 70, 70), A(1, 0, 1), A(64, 64, 64)
    assert fx.reset(v, s, th, "zero").tolist() == [0, 70, 0]
    assert fx.reset(v, s, th, "subtract").tolist() == [6, 70, 6]
    assert fx.reset(v, s, th, "none").tolist() == [70, 70, 70]


def test_lava_weight_rounding():
    # mixed 8 bits: k = 1, so odd weights floor to even (−255 → −256, 255 → 254); 300 clips to 255 → 254
    assert fx.lava_weights(A(-255, 255, 300, -3, 7), "mixed").tolist() == [-256, 254, 254, -4, 6]
    # excitatory 6 bits: k = 2, multiples of 4, negatives clip to 0
    assert fx.lava_weights(A(-9, 9, 255), "excitatory", 6).tolist() == [0, 8, 252]
    assert fx.lava_weights(A(-9, 9, -300), "inhibitory", 6).tolist() == [-8, 0, -252]
    assert fx.weight_range("mixed", 8) == (-256, 254, 1) and fx.weight_range("inhibitory", 6) == (-252, 0, 2)


def test_sigmoid_tables_and_noise():
    # σ(1/256)·4096 = 2051.999995 → 2052; σ(−1/256) = 4096 − 2052; saturation at |z| >= 2047
    assert fx.sigmoid12(A(0, 1, -1, 5000, -5000)).tolist() == [2048, 2052, 2044, fx.SIGMOID_LUT[2047],
                                                              4096 - fx.SIGMOID_LUT[2047]]
    assert fx.SIGMOID_LUT[2047] == 4095  # σ(2047/256)·4096 = 4094.63 → 4095
    # sigmoid_q16(0) = 2^15; v_frac = 4: v = 16 is 1.0 → σ(1)·2^16 = 47910.655 at a knot (j = 272) → 47911
    assert fx.sigmoid_q16(A(0, 16, -(2**30)), 4).tolist() == [32768, 47911, 0]
    assert fx.noise_int(np.array([0.0, 0.5, 0.99999])).tolist() == [0, 32768, 65535]
