"""Former home of LoihiAHP / LoihiSPSN, kept as re-exports for modules that still import from here (see loihi_ahp, loihi_spsn)."""
from snnc.compiler.primitives.loihi_ahp import LoihiAHP  # noqa: F401
from snnc.compiler.primitives.loihi_spsn import (NOISE_BITS, SIGMOID_TABLE, V_FRAC_MAX, LoihiSPSN,  # noqa: F401
                                                 noise_int, sigmoid_q16)
