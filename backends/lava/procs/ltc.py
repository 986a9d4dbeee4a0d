"""snnc's Lava LTC and LTCReadout processes (seed 003) with floating_pt and fixed_pt ProcessModels.

The gates act on [I, state] per sample, so the models view the flat population
(B·n,) of a batched run as [B, n] (the gate matrices [n, 2n] are not tiled).
I is the summed input a_in (Dense outputs, plus graded bias sources in floating
point) and the state is internal, so the neuron only needs its one input port.
The floating_pt models repeat the NumPy reference kernels (backends/numpy/family_kernels.py)
operation for operation; the fixed_pt models run snnc LoihiLTC's and LoihiLTCReadout's
own integer steps (compiler/primitives/loihi_ltc.py), as the NumPy integer runtime does.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snnc.backends.lava.procs.models import _GradedFixed, _NeuronFloat, _SpikeStateFixed, _SpikeStateFloat
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


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # the reference kernel's formula; exp overflow gives the right limit 0
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _gate(W: np.ndarray, b: np.ndarray, I: np.ndarray, state: np.ndarray) -> np.ndarray:
    return _sigmoid(np.concatenate([I, state], axis=1) @ np.ascontiguousarray(W.T) + b)


# -- LTC ------------------------------------------------------------------------

@implements(proc=LTC, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLTCModelFloat(_SpikeStateFloat):
    """Floating-point LTC, the NumPy reference kernel's operations in the same order."""

    b: np.ndarray = LavaPyType(np.ndarray, float)
    Wa: np.ndarray = LavaPyType(np.ndarray, float)
    Wr: np.ndarray = LavaPyType(np.ndarray, float)
    ba: np.ndarray = LavaPyType(np.ndarray, float)
    br: np.ndarray = LavaPyType(np.ndarray, float)
    b0: np.ndarray = LavaPyType(np.ndarray, float)
    beta: np.ndarray = LavaPyType(np.ndarray, float)

    def update(self, a_in: np.ndarray) -> np.ndarray:
        n = self.Wa.shape[0]
        I, v_old, b_old, s_prev = (_rows(x, n) for x in (a_in, self.v, self.b, self.s))
        a = _gate(self.Wa, _rows(self.ba, n), I, v_old)
        r = _gate(self.Wr, _rows(self.br, n), I, b_old)
        b = r * b_old + (1 - r) * s_prev
        B = _rows(self.b0, n) + _rows(self.beta, n) * b
        v = (1 - a) * v_old + a * I
        s = (v - B > 0).astype(float)
        self.b[:], self.v[:], self.s[:] = b.ravel(), (v * (1 - s)).ravel(), s.ravel()
        return self.s.copy()


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


# -- LTCReadout -----------------------------------------------------------------

@implements(proc=LTCReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLTCReadoutModelFloat(_NeuronFloat):
    """Floating-point LTC readout: a = σ(Wa·[I, v] + ba); v = (1−a)·v + a·I; sends v."""

    Wa: np.ndarray = LavaPyType(np.ndarray, float)
    ba: np.ndarray = LavaPyType(np.ndarray, float)

    def update(self, a_in: np.ndarray) -> np.ndarray:
        n = self.Wa.shape[0]
        I, v_old = _rows(a_in, n), _rows(self.v, n)
        a = _gate(self.Wa, _rows(self.ba, n), I, v_old)
        self.v[:] = ((1 - a) * v_old + a * I).ravel()
        return self.v.copy()


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
