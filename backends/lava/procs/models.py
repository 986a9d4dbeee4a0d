"""floating_pt and fixed_pt ProcessModels of snnc's Lava processes, in the style of lava/proc/lif/models.py.

The floating_pt models repeat the NumPy reference kernels (backends/numpy_backend.py)
operation for operation; the fixed_pt models repeat snnc's integer kernels
(backends/numpy_fixed_kernels.py, DESIGN §6): int64 products, trunc12 rounding
toward zero, 24-bit clipped voltages.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snnc.backends.lava.procs.processes import ALIF, LI, Delay

DECAY_UNITY = 4096
ACT_SHIFT = VTH_SHIFT = 6
V_LIM = 2**23 - 1  # 24-bit voltages are clipped to ±(2^23 − 1), as Lava's LIF does


def trunc12(x: np.ndarray) -> np.ndarray:
    """sign(x)·(|x| >> 12): Loihi's decay rounding toward zero."""
    return np.sign(x) * (np.abs(x) >> 12)


def wrap32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap to int32 (Lava's int32 state arithmetic on overflow)."""
    return ((x + 2**31) & (2**32 - 1)) - 2**31


def shift(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    """x << e, or arithmetic x >> −e where e is negative."""
    return np.where(e >= 0, np.left_shift(x, np.maximum(e, 0)), np.right_shift(x, np.maximum(-e, 0)))


class _Gated(PyLoihiProcessModel):
    """A neuron model that idles (drains a_in, sends zeros) until its retimed start step.

    run_spk receives `inputs()`, gates on t_start and sends what `update` returns;
    each concrete model states only its `update`.
    """

    def waiting(self, a_in: np.ndarray) -> bool:
        if self.time_step <= self.proc_params.get("t_start", 0):
            self.s_out.send(np.zeros_like(a_in))
            return True
        return False

    def inputs(self) -> tuple[np.ndarray, ...]:
        """This step's input messages, a_in first."""
        return (self.a_in.recv(),)

    def update(self, a_in: np.ndarray, *extra: np.ndarray) -> np.ndarray:
        """One step of the neuron from its inputs; returns what s_out sends."""
        raise NotImplementedError

    def run_spk(self) -> None:
        got = self.inputs()
        if self.waiting(got[0]):
            return
        self.s_out.send(self.update(*got))


class _NeuronFloat(_Gated):
    """floating_pt declarations every snnc neuron model shares (s_out carries spikes or the graded v)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    bias_mant: np.ndarray = LavaPyType(np.ndarray, float)
    bias_exp: np.ndarray = LavaPyType(np.ndarray, float)


class _SpikeStateFloat(_NeuronFloat):
    """floating_pt neuron that keeps its last spike s and a threshold vth (ALIF, AHP, LTC)."""

    s: np.ndarray = LavaPyType(np.ndarray, float)
    vth: np.ndarray = LavaPyType(np.ndarray, float)


class _NeuronFixed(_Gated):
    """fixed_pt declarations every snnc neuron model shares: 24-bit a_in and v, Loihi's bias mantissa/exponent."""

    s_out = None  # a spike (precision 1) or a graded v (precision 24): set by _SpikingFixed / _GradedFixed
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    bias_mant: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=13)
    bias_exp: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=3)

    def bias_int(self) -> np.ndarray:
        """bias_mant << bias_exp in int64."""
        return shift(self.bias_mant.astype(np.int64), self.bias_exp.astype(np.int64))


class _SpikingFixed(_NeuronFixed):
    """fixed_pt neuron that sends 1-bit spikes."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)


class _GradedFixed(_NeuronFixed):
    """fixed_pt neuron that sends its 24-bit v."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)


class _SpikeStateFixed(_SpikingFixed):
    """fixed_pt neuron that keeps its last spike s and a threshold vth (ALIF, AHP, LTC)."""

    s: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)


# -- ALIF -----------------------------------------------------------------------

@implements(proc=ALIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyALIFModelFloat(_SpikeStateFloat):
    """Floating-point ALIF, the operations of the NumPy reference kernel in the same order."""

    b: np.ndarray = LavaPyType(np.ndarray, float)
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    rho: np.ndarray = LavaPyType(np.ndarray, float)
    b0: np.ndarray = LavaPyType(np.ndarray, float)
    beta: np.ndarray = LavaPyType(np.ndarray, float)
    R: np.ndarray = LavaPyType(np.ndarray, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    dv: np.ndarray = LavaPyType(np.ndarray, float)
    dr: np.ndarray = LavaPyType(np.ndarray, float)

    def update(self, a_in: np.ndarray) -> np.ndarray:
        s_prev = self.s.copy()
        b = self.rho * self.b + (1 - self.rho) * s_prev
        B = self.b0 + self.beta * b
        v = self.alpha * self.v + (1 - self.alpha) * self.R * (a_in + self.bias) - B * s_prev
        s = (v - B > 0).astype(float)
        self.b[:], self.v[:], self.s[:] = b, v, s
        return s


@implements(proc=ALIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyALIFModelFixed(_SpikeStateFixed):
    """Fixed-point ALIF (snnc LoihiALIF): b holds the adaptation trace ·2^18, v is in LIF's (vth << 6) scale."""

    b: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    rho: np.ndarray = LavaPyType(np.ndarray, float)
    b0: np.ndarray = LavaPyType(np.ndarray, float)
    R: np.ndarray = LavaPyType(np.ndarray, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    beta: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    dr: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)

    def update(self, a_in: np.ndarray) -> np.ndarray:
        s_prev = self.s.astype(np.int64)
        dr, dv = self.dr.astype(np.int64), self.dv.astype(np.int64)
        b = trunc12(self.b.astype(np.int64) * (DECAY_UNITY - dr)) + (dr << ACT_SHIFT) * s_prev
        B = (self.vth.astype(np.int64) << VTH_SHIFT) + trunc12(self.beta.astype(np.int64) * b)
        decayed = wrap32(trunc12(self.v.astype(np.int64) * (DECAY_UNITY - dv)))
        v = np.clip(decayed + (a_in.astype(np.int64) << ACT_SHIFT) + self.bias_int() - B * s_prev, -V_LIM, V_LIM)
        s = (v > B).astype(np.int32)
        self.b[:], self.v[:], self.s[:] = b, v, s
        return s


# -- LI -------------------------------------------------------------------------

@implements(proc=LI, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLIModelFloat(_NeuronFloat):
    """Floating-point leaky readout: v = alpha·v + gain·(a_in + bias); sends v."""

    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    gain: np.ndarray = LavaPyType(np.ndarray, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    dv: np.ndarray = LavaPyType(np.ndarray, float)

    def update(self, a_in: np.ndarray) -> np.ndarray:
        self.v[:] = self.alpha * self.v + self.gain * (a_in + self.bias)
        return self.v.copy()


@implements(proc=LI, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLIModelFixed(_GradedFixed):
    """Fixed-point leaky readout (snnc LoihiLI): v = clip24(trunc12(v·(4096−dv)) + (a_in << 6) + bias)."""

    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    gain: np.ndarray = LavaPyType(np.ndarray, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)

    def update(self, a_in: np.ndarray) -> np.ndarray:
        decayed = wrap32(trunc12(self.v.astype(np.int64) * (DECAY_UNITY - self.dv.astype(np.int64))))
        v = np.clip(decayed + (a_in.astype(np.int64) << ACT_SHIFT) + self.bias_int(), -V_LIM, V_LIM)
        self.v[:] = v
        return v.astype(np.int32)


# -- Delay ----------------------------------------------------------------------

class _PyDelayModel(PyLoihiProcessModel):
    """Shift register: sends first, then receives, so a Delay inside a Dense-free cycle cannot deadlock."""

    def run_spk(self) -> None:
        slot = (self.time_step - 1) % self.buf.shape[0]
        self.s_out.send(self.buf[slot].copy())
        self.buf[slot] = self.a_in.recv()


@implements(proc=Delay, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyDelayModelFloat(_PyDelayModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    buf: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=Delay, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyDelayModelFixed(_PyDelayModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    buf: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
