"""fixed_pt ProcessModels of snnc's Lava ALIF and LI, the Delay models, and the bases of snnc's neuron models.

Floating point runs each primitive's own step in the generic NodeStep process (step.py).

The fixed_pt models hold no arithmetic of their own either: each
names its snnc primitive and runs that primitive's integer `step` (DESIGN §6, on
compiler/fixedpoint.py), the code the NumPy integer runtime runs, on its Vars.
"""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snnc.backends.lava.procs.processes import ALIF, LI, Delay
from snnc.compiler import fixedpoint
from snnc.compiler.primitives import LoihiALIF, LoihiLI

FX_OPS = SimpleNamespace(fx=fixedpoint)  # the integer `ops` of the primitives' steps


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


class _NeuronFixed(_Gated):
    """fixed_pt declarations every snnc neuron model shares (24-bit a_in and v, Loihi's bias mantissa/exponent),
    and `update`: the named snnc primitive's own integer step on the Vars.

    A batched run holds B samples as one flat population (B·n,) whose per-neuron Vars
    are the node's values tiled B times; the step sees states as [B, n] rows.
    """

    primitive: type = None  # the snnc fixed-point primitive whose step this model runs
    s_out = None  # a spike (precision 1) or a graded v (precision 24): set by _SpikingFixed / _GradedFixed
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    bias_mant: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=13)
    bias_exp: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=3)

    def neurons(self) -> int:
        """n, the population size of one sample (the whole flat population for elementwise neurons)."""
        return int(self.v.shape[0])

    def params(self) -> SimpleNamespace:
        """The step's `p` (fields + prepare()) of the primitive built once from this model's Vars and proc_params."""
        if getattr(self, "_node", None) is None:
            n, cls, missing = self.neurons(), self.primitive, object()
            fields = {}
            for f in dataclasses.fields(cls):
                given, var = self.proc_params.get(f.name, missing), getattr(self, f.name, None)
                if given is not missing:
                    fields[f.name] = given
                elif f.name in cls.per_neuron and isinstance(var, np.ndarray):
                    rows = var.reshape(-1, n)
                    if not (rows == rows[0]).all():
                        raise ValueError(f"{cls.__name__} fixed_pt model: '{f.name}' differs between batch samples")
                    fields[f.name] = rows[0]
                elif isinstance(var, np.ndarray):
                    fields[f.name] = var
            self._node = cls(**fields)
            self._p = SimpleNamespace(**{**self._node.params(), **self._node.prepare()})
        return self._p

    def update(self, a_in: np.ndarray, *extra: np.ndarray) -> np.ndarray:
        """One step of the primitive: states and inputs as int64 rows [B, n]; new states written back."""
        n, names, p = self.neurons(), tuple(self.primitive.states), self.params()
        s = {k: getattr(self, k).astype(np.int64).reshape(-1, n) for k in names}
        out, new = self._node.step(FX_OPS, p, s, self.step_inputs(a_in, *extra))
        for k in names:
            getattr(self, k)[:] = new[k].ravel()
        return out.ravel().astype(np.int32)

    def step_inputs(self, a_in: np.ndarray, *extra: np.ndarray) -> dict:
        """The step's inputs per port, [B, n]."""
        return {"in": a_in.reshape(-1, self.neurons())}


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
@tag("fixed_pt")
class PyALIFModelFixed(_SpikeStateFixed):
    """Fixed-point ALIF: snnc LoihiALIF's step (b holds the adaptation trace ·2^18, v is in LIF's (vth << 6) scale)."""

    primitive = LoihiALIF
    b: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    rho: np.ndarray = LavaPyType(np.ndarray, float)
    b0: np.ndarray = LavaPyType(np.ndarray, float)
    R: np.ndarray = LavaPyType(np.ndarray, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    beta: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    dr: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)

# -- LI -------------------------------------------------------------------------

@implements(proc=LI, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLIModelFixed(_GradedFixed):
    """Fixed-point leaky readout: snnc LoihiLI's step, v = clip24(trunc12(v·(4096−dv)) + (a_in << 6) + bias)."""

    primitive = LoihiLI
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    gain: np.ndarray = LavaPyType(np.ndarray, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)

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
