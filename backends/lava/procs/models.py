"""The Delay process models and `_Gated`, the base of snnc's neuron models (NodeStep, step.py).

Every neuron, float or Loihi integer, that Lava has no native object for runs its
primitive's own step in the generic NodeStep process (step.py); nothing here computes
a neuron.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snnc.backends.lava.procs.processes import Delay


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
