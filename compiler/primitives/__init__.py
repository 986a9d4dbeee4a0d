"""The IR primitives (DESIGN §3): one small frozen dataclass each, registered by name.

Importing this package registers every built-in primitive in `snnc.compiler.ir.PRIMITIVES`.
"""
from snnc.compiler.primitives.basic import Input, Dense
from snnc.compiler.primitives.lif import LIF, CubaLIF, ALIF, LI, CubaLI, RESET_MODES

__all__ = ["Input", "Dense", "LIF", "CubaLIF", "ALIF", "LI", "CubaLI", "RESET_MODES"]
from snnc.compiler.primitives.ltc import LTC, LTCReadout
from snnc.compiler.primitives.rc import LSTM, EarlyExit
from snnc.compiler.primitives.ahp import AHP
from snnc.compiler.primitives.spsn import SPSN

__all__ += ["LTC", "LTCReadout", "LSTM", "EarlyExit", "AHP", "SPSN"]
# Loihi fixed point (integer steps on compiler/fixedpoint.py) and the quantized float forms
from snnc.compiler.primitives.loihi_dense import LoihiDense  # noqa: E402
from snnc.compiler.primitives.loihi_lif import LoihiLIF, LoihiLI  # noqa: E402
from snnc.compiler.primitives.loihi_alif import LoihiALIF  # noqa: E402
from snnc.compiler.primitives.loihi_ltc import LoihiLTC, LoihiLTCReadout  # noqa: E402
from snnc.compiler.primitives.loihi_ahp import LoihiAHP  # noqa: E402
from snnc.compiler.primitives.loihi_spsn import LoihiSPSN  # noqa: E402
from snnc.compiler.primitives.quantized import Int8Dense, Affine  # noqa: E402

__all__ += ["LoihiDense", "LoihiLIF", "LoihiLI", "LoihiALIF", "LoihiLTC", "LoihiLTCReadout", "LoihiAHP", "LoihiSPSN",
            "Int8Dense", "Affine"]
from snnc.compiler.primitives.conv import Conv1d, Conv2d, SumPool2d, AvgPool2d  # noqa: E402

__all__ += ["Conv1d", "Conv2d", "SumPool2d", "AvgPool2d"]
