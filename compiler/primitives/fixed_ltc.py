"""Former home of LoihiLTC / LoihiLTCReadout, kept as re-exports for modules that still import from here (see loihi_ltc)."""
from snnc.compiler.primitives.loihi_ltc import (B_FRAC, B_MAX, GATE_BIAS, GATE_EXP, GATE_MANT, GATE_ONE,  # noqa: F401
                                                LUT_SIZE, SIGMOID_LUT, Z_FRAC, LoihiLTC, LoihiLTCReadout, sigmoid12)
