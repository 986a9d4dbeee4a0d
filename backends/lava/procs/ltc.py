"""snnc's Lava LTC and LTCReadout processes (seed 003) with their fixed_pt ProcessModels (floating point: NodeStep).

The gates act on [I, state] per sample, so the models view the flat population
(B·n,) of a batched run as [B, n] (the gate matrices [n, 2n] are not tiled).
I is the summed input a_in (Dense outputs, plus graded bias sources in floating
point) and the state is internal, so the neuron only needs its one input port.
The fixed_pt models run snnc LoihiLTC's and LoihiLTCReadout's own integer steps (compiler/primitives/loihi_ltc.py), as the NumPy integer runtime does.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snnc.backends.lava.procs.models import _GradedFixed, _SpikeStateFixed
from snnc.backends.lava.procs.processes import Arr, _Population
from snnc.compiler.primitives import LoihiLTC, LoihiLTCReadout


class LTC(_Population):
    """Liquid-time-constant spiking neuron: a = σ(Wa·[I, v] + ba); r = σ(Wr·[I, b] + br);
    b = r·b + (1−r)·s⁻; B = b0 + beta·b; v = (1−a)·v + a·I; s = v > B; v = v·(1−s), with I = a_in.

    Floating point uses Wa, ba, Wr, br, b0, beta; fixed point (snnc LoihiLTC) uses the
    mantissas Wa, Wr with the exponents ea_*/er_*, Q8 biases ba, br, vth, beta, bias_mant, bias_exp.
    """

    def __init__(self, *, shape: tuple, Wa: np.ndarray, Wr: np.ndarray, t_start: int = 0, v: Arr = 0, b: Arr = 0,
                 ba: Arr = 0, br: Arr = 0, b0: Arr = 0, beta: Arr = 0, vth: Arr = 0, bias_mant: Arr = 0,
                 bias_exp: Arr = 0, ea_in: int = 0, ea_state: int = 0, er_in: int = 0, er_state: int = 0,
                 name: str | None = None) -> None:
        exps = dict(ea_in=int(ea_in), ea_state=int(ea_state), er_in=int(er_in), er_state=int(er_state))
        super().__init__(shape=shape, t_start=t_start, name=name, **exps)
        self.add_vars(shape, v=v, b=b, s=0)
        self.Wa = Var(shape=np.shape(Wa), init=Wa)
        self.Wr = Var(shape=np.shape(Wr), init=Wr)
        self.add_vars(shape, ba=ba, br=br, b0=b0, beta=beta, vth=vth, bias_mant=bias_mant, bias_exp=bias_exp)


class LTCReadout(_Population):
    """Graded LTC readout: a = σ(Wa·[I, v] + ba); v = (1−a)·v + a·I; sends v (fixed point: snnc LoihiLTCReadout)."""

    def __init__(self, *, shape: tuple, Wa: np.ndarray, t_start: int = 0, v: Arr = 0, ba: Arr = 0,
                 bias_mant: Arr = 0, bias_exp: Arr = 0, ea_in: int = 0, ea_state: int = 0,
                 name: str | None = None) -> None:
        super().__init__(shape=shape, t_start=t_start, name=name, ea_in=int(ea_in), ea_state=int(ea_state))
        self.v = Var(shape=shape, init=v)
        self.Wa = Var(shape=np.shape(Wa), init=Wa)
        self.add_vars(shape, ba=ba, bias_mant=bias_mant, bias_exp=bias_exp)


def _rows(x: np.ndarray, n: int) -> np.ndarray:
    """The flat batched population (B·n,) as [B, n] (a view)."""
    return x.reshape(-1, n)


@implements(proc=LTC, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLTCModelFixed(_SpikeStateFixed):
    """Fixed-point LTC: snnc LoihiLTC's step (v in the LIF voltage scale, b·2^18, 12-bit table sigmoid gates)."""

    primitive = LoihiLTC
    b: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    Wa: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=9)
    Wr: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=9)
    ba: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    br: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    b0: np.ndarray = LavaPyType(np.ndarray, float)
    beta: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)

    def neurons(self) -> int:
        return int(self.Wa.shape[0])  # the gates mix one sample's neurons: [B, n] rows


@implements(proc=LTCReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLTCReadoutModelFixed(_GradedFixed):
    """Fixed-point LTC readout: snnc LoihiLTCReadout's step; sends the 24-bit v."""

    primitive = LoihiLTCReadout
    Wa: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=9)
    ba: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)

    def neurons(self) -> int:
        return int(self.Wa.shape[0])
