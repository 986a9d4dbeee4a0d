"""The IR primitives (DESIGN §3): one small frozen dataclass each, registered by name.

Importing this package registers every built-in primitive in `snnc.compiler.ir.PRIMITIVES`.
"""
from snnc.compiler.primitives.basic import Input, Dense
from snnc.compiler.primitives.lif import LIF, CubaLIF, ALIF, LI, RESET_MODES
from snnc.compiler.primitives.fixed import LoihiDense, LoihiLIF, LoihiLI, LoihiALIF, Int8Dense, Affine  # noqa: F401

__all__ = ["Input", "Dense", "LIF", "CubaLIF", "ALIF", "LI", "RESET_MODES"]
from snnc.compiler.primitives.ltc import LTC, LTCReadout
from snnc.compiler.primitives.rc import LSTM, EarlyExit
from snnc.compiler.primitives.ahp import AHP
from snnc.compiler.primitives.spsn import SPSN

__all__ += ["LTC", "LTCReadout", "LSTM", "EarlyExit", "AHP", "SPSN"]
from snnc.compiler.primitives.fixed_ltc import LoihiLTC, LoihiLTCReadout  # noqa: E402,F401  (fixed-point LTC)
from snnc.compiler.primitives.fixed_ahp_spsn import LoihiAHP, LoihiSPSN  # noqa: E402,F401  (fixed-point AHP, SPSN)
