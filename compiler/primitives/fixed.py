"""Former home of the fixed-point primitives, kept as re-exports for modules that still import from here.

The primitives now live by family: loihi_dense, loihi_lif, loihi_alif (and loihi_base for
the shared ranges), quantized (Int8Dense, Affine); the arithmetic is compiler/fixedpoint.py.
"""
from snnc.compiler.fixedpoint import lava_weights, weight_range  # noqa: F401
from snnc.compiler.primitives.loihi_alif import LoihiALIF  # noqa: F401
from snnc.compiler.primitives.loihi_base import (BIAS_EXP, BIAS_MANT, DECAY_MAX, VTH_MAX, WEIGHT_EXP,  # noqa: F401
                                                 FixedNeuron, FixedSpiking, _need_int, _need_range)
from snnc.compiler.primitives.loihi_dense import SIGN_MODES, LoihiDense  # noqa: F401
from snnc.compiler.primitives.loihi_lif import LIF_RESETS, LoihiLI, LoihiLIF  # noqa: F401
from snnc.compiler.primitives.quantized import Affine, Int8Dense  # noqa: F401
