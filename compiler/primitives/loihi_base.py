"""What every Loihi fixed-point primitive shares: the parameter ranges of Lava 0.10 and the FixedNeuron base.

The arithmetic itself is in compiler/fixedpoint.py (DESIGN §6); each primitive's
integer `step` is written once beside its dataclass (loihi_dense, loihi_lif,
loihi_alif, loihi_ltc, loihi_ahp, loihi_spsn) and every numeric executor runs it.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler import fixedpoint as fx
from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import SPIKE, Primitive

DECAY_MAX = 4095  # 12-bit unsigned decays
VTH_MAX = 2**17 - 1  # 17-bit unsigned thresholds
BIAS_MANT = (-(2**12), 2**12 - 1)  # 13-bit signed bias mantissa
BIAS_EXP = (0, 7)  # 3-bit unsigned bias exponent (Lava docstring, Loihi 1)
WEIGHT_EXP = (-8, 7)  # Loihi's weight exponent range


def _need_int(node: Primitive, *fields: str) -> None:
    for f in fields:
        a = getattr(node, f)
        if a.dtype.kind not in "iu":
            raise PrimitiveError(f"{type(node).__name__}: '{f}' must be an integer array, got {a.dtype}")


def _need_range(node: Primitive, f: str, lo: int, hi: int) -> None:
    a = getattr(node, f)
    if a.size and (a.min() < lo or a.max() > hi):
        raise PrimitiveError(f"{type(node).__name__}: '{f}' must lie in [{lo}, {hi}], got [{a.min()}, {a.max()}]")


def int_rows(node: Primitive, *fields: str) -> dict[str, np.ndarray]:
    """The named per-neuron fields as int64 arrays (for `prepare`)."""
    return {f: getattr(node, f).astype(np.int64) for f in fields}


class FixedNeuron(Primitive):
    """Base of the fixed-point neuron populations: integer per-neuron fields, int64 states in the NumPy runtime,
    and a bias given as a 13-bit signed mantissa shifted by a 3-bit exponent."""

    integer = True

    def check_fixed(self, decays: tuple[str, ...] = (), unsigned: tuple[str, ...] = ()) -> None:
        """Every per-neuron field an integer; `decays` 12-bit, `unsigned` 17-bit; the bias in range."""
        _need_int(self, *self.per_neuron)
        for f in decays:
            _need_range(self, f, 0, DECAY_MAX)
        for f in unsigned:
            _need_range(self, f, 0, VTH_MAX)
        _need_range(self, "bias_mant", *BIAS_MANT)
        _need_range(self, "bias_exp", *BIAS_EXP)

    def prepare_fixed(self, *fields: str) -> dict[str, np.ndarray]:
        """`fields` as int64, the bias bias_mant << bias_exp and, with a vth, vth_eff = vth << 6."""
        p = int_rows(self, *fields)
        p["bias"] = fx.bias(self.bias_mant, self.bias_exp)
        if hasattr(self, "vth"):
            p["vth_eff"] = fx.threshold(self.vth)
        return p


class FixedSpiking(FixedNeuron):
    """A fixed-point population that emits spikes."""

    @property
    def out_kind(self) -> str:
        return SPIKE
