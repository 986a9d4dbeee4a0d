"""LoihiDense: Lava's fixed_pt Dense (lava/proc/dense/models.py) without its one-step buffer, bit for bit.

acc = W·x (binary spikes or integer graded messages), then acc << weight_exp
(arithmetic >> −weight_exp when negative); no saturation. W holds mantissas already
clipped to the sign mode and truncated to num_weight_bits (mixed [-256, 255],
excitatory [0, 255], inhibitory [-255, 0]); `fixedpoint.lava_weights` is that rounding.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.fixedpoint import lava_weights, weight_range
from snnc.compiler.ir import Synapse, primitive
from snnc.compiler.primitives.loihi_base import WEIGHT_EXP, _need_int

SIGN_MODES = ("mixed", "excitatory", "inhibitory")


@primitive
class LoihiDense(Synapse):
    """acc = W·x; y = acc << weight_exp (>> −weight_exp if negative): Lava's fixed_pt Dense without its 1-step buffer."""

    W: np.ndarray  # int weight mantissas [out, in], representable in sign_mode
    weight_exp: int = 0  # shared exponent of this Dense
    num_weight_bits: int = 8  # mantissa bits (Lava's num_weight_bits)
    sign_mode: str = "mixed"  # mixed, excitatory or inhibitory

    integer = True

    def check(self) -> None:
        _need_int(self, "W")
        if self.W.ndim != 2:
            raise PrimitiveError(f"LoihiDense: W must be 2-D [out, in], got shape {self.W.shape}")
        if self.sign_mode not in SIGN_MODES:
            raise PrimitiveError(f"LoihiDense: sign_mode must be one of {', '.join(SIGN_MODES)}, got {self.sign_mode!r}")
        if not 1 <= int(self.num_weight_bits) <= 8:
            raise PrimitiveError(f"LoihiDense: num_weight_bits must be 1..8, got {self.num_weight_bits}")
        if not WEIGHT_EXP[0] <= int(self.weight_exp) <= WEIGHT_EXP[1]:
            raise PrimitiveError(f"LoihiDense: weight_exp must be in {list(WEIGHT_EXP)}, got {self.weight_exp}")
        if not np.array_equal(lava_weights(self.W, self.sign_mode, int(self.num_weight_bits)), self.W):
            lo, hi, k = weight_range(self.sign_mode, int(self.num_weight_bits))
            raise PrimitiveError(f"LoihiDense: weights are not representable in sign mode {self.sign_mode} "
                                 f"(range [{lo}, {hi}], multiples of {1 << k})")

    def prepare(self) -> dict:
        """Wt: Lava's rounding of W, transposed [in, out] int64; the exponent as an int."""
        W = lava_weights(self.W, self.sign_mode, int(self.num_weight_bits))
        return {"Wt": np.ascontiguousarray(W.T.astype(np.int64)), "weight_exp": int(self.weight_exp)}

    def step(self, ops, p, s, x):
        """y = (W·x) << weight_exp, exact in int64."""
        fx = ops.fx
        return fx.shift(fx.accumulate(x["in"], p.Wt), p.weight_exp), {}

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(lava_weights(rng.integers(-256, 256, (n, n + 2)), "mixed", 8), 1, 8, "mixed")
