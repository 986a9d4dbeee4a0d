"""snnc's Lava LIF process: Lava's LIF equations with per-neuron parameters and three reset modes.

The lowering uses Lava's own `lava.proc.lif.process.LIF` wherever it represents a
node exactly (reset to zero); this process is the fallback for reset `subtract`
and `none`, which Lava 0.10's LIF lacks. Its Vars keep the names and meaning of
Lava's LIF (u, v, du, dv, vth, bias_mant, bias_exp), so the lowering and the
worker treat both paths alike:

    floating_pt: u = u·(1 − du) + a_in;  v = v·(1 − dv) + u + bias_mant;  s = v > vth
    fixed_pt:    u = wrap24(trunc12(u·(4096 − (du + 1))) + (a_in << 6))
                 v = clip24(trunc12(v·(4096 − dv)) + u + (bias_mant << bias_exp));  s = v > vth << 6
    reset:       zero v·(1 − s), subtract v − vth·s (vth << 6 in fixed point), none

The fixed_pt model runs snnc LoihiLIF's own integer step (the NumPy integer runtime's code),
which includes the int32 casts Lava applies; tests compare it with Lava's own LIF.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snnc.backends.lava.procs.models import _SpikingFixed
from snnc.backends.lava.procs.processes import Arr, _Population
from snnc.compiler.primitives import LoihiLIF

RESETS = ("zero", "subtract", "none")


class SnncLIF(_Population):
    """Lava-style LIF with per-neuron du, dv, vth and a reset mode (zero, subtract, none).

    Like snnc's other neuron processes it idles (drains a_in, sends zeros) until
    Lava time step `t_start`, where the retimed population starts its step 0.
    """

    def __init__(self, *, shape: tuple, reset: str = "zero", t_start: int = 0, u: Arr = 0, v: Arr = 0,
                 du: Arr = 0, dv: Arr = 0, vth: Arr = 10, bias_mant: Arr = 0, bias_exp: Arr = 0,
                 name: str | None = None) -> None:
        if reset not in RESETS:
            raise ValueError(f"SnncLIF: reset must be one of {', '.join(RESETS)}, got {reset!r}")
        super().__init__(shape=shape, reset=reset, t_start=t_start, name=name)
        self.add_vars(shape, u=u, v=v, du=du, dv=dv, vth=vth, bias_mant=bias_mant, bias_exp=bias_exp)


@implements(proc=SnncLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySnncLIFModelFixed(_SpikingFixed):
    """Fixed-point LIF: snnc LoihiLIF's step (Lava's PyLifModelBitAcc plus the subtract/none resets)."""

    primitive = LoihiLIF
    u: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    du: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)
