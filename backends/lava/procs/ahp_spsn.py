"""snnc's Lava AHP (seed 002) and SPSN (seed 004) processes with floating_pt and fixed_pt ProcessModels.

The floating_pt models repeat the NumPy reference kernels (backends/numpy_seed_kernels.py)
operation for operation; the fixed_pt models repeat the integer kernels
(backends/numpy_fixed_seed_kernels.py) with the formulas of compiler/primitives/fixed_seed.py,
whose noise_int / sigmoid_q16 both sides share. SPSN's uniform noise arrives on its own
port `u_in` (float u in floating point; floor(u·2^16), converted by the worker's source, in fixed point).
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snnc.backends.lava.procs.models import (ACT_SHIFT, DECAY_UNITY, V_LIM, VTH_SHIFT, _Gated, _NeuronFloat,
                                             _SpikeStateFixed, _SpikeStateFloat, _SpikingFixed, trunc12)
from snnc.backends.lava.procs.processes import Arr, _Population
from snnc.compiler.primitives.fixed_ahp_spsn import sigmoid_q16


class AHP(_Population):
    """Neuron with an after-hyperpolarizing current: aux = alpha_aux·aux + w_ahp·s⁻;
    v = alpha·v + gain·a_in + aux; s = v > theta; v = 0 where s.

    Fixed point (fixed_pt) uses dv, da, vth, w_ahp, bias_mant, bias_exp as snnc's LoihiAHP does.
    """

    def __init__(self, *, shape: tuple, t_start: int = 0, v: Arr = 0, aux: Arr = 0,
                 alpha: Arr = 0, alpha_aux: Arr = 0, w_ahp: Arr = 0, gain: Arr = 1, theta: Arr = 0,
                 dv: Arr = 0, da: Arr = 0, vth: Arr = 0, bias_mant: Arr = 0, bias_exp: Arr = 0,
                 name: str | None = None) -> None:
        super().__init__(shape=shape, t_start=t_start, name=name)
        self.add_vars(shape, v=v, aux=aux, s=0, alpha=alpha, alpha_aux=alpha_aux, w_ahp=w_ahp, gain=gain,
                      theta=theta, dv=dv, da=da, vth=vth, bias_mant=bias_mant, bias_exp=bias_exp)


class SPSN(_Population):
    """Stochastic parallelizable spiking neuron: i = alpha·i + a_in; v = beta·v + (1−beta)·i;
    s = u_in < σ(v) (stochastic) or v > 0. Fixed point uses di, dv, bias_mant, bias_exp and v_frac."""

    def __init__(self, *, shape: tuple, t_start: int = 0, stochastic: bool = True, v_frac: int = 0,
                 alpha: Arr = 0, beta: Arr = 0, di: Arr = 0, dv: Arr = 0, bias_mant: Arr = 0, bias_exp: Arr = 0,
                 name: str | None = None) -> None:
        super().__init__(shape=shape, t_start=t_start, stochastic=bool(stochastic), v_frac=int(v_frac), name=name)
        self.u_in = InPort(shape=shape)
        self.add_vars(shape, i=0, v=0, alpha=alpha, beta=beta, di=di, dv=dv, bias_mant=bias_mant, bias_exp=bias_exp)


# -- AHP ------------------------------------------------------------------------

@implements(proc=AHP, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyAHPModelFloat(_SpikeStateFloat):
    """Floating-point AHP, the operations of the NumPy reference kernel in the same order."""

    aux: np.ndarray = LavaPyType(np.ndarray, float)
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    alpha_aux: np.ndarray = LavaPyType(np.ndarray, float)
    w_ahp: np.ndarray = LavaPyType(np.ndarray, float)
    gain: np.ndarray = LavaPyType(np.ndarray, float)
    theta: np.ndarray = LavaPyType(np.ndarray, float)
    dv: np.ndarray = LavaPyType(np.ndarray, float)
    da: np.ndarray = LavaPyType(np.ndarray, float)

    def update(self, a_in: np.ndarray) -> np.ndarray:
        aux = self.alpha_aux * self.aux + self.w_ahp * self.s
        v = self.alpha * self.v + self.gain * a_in + aux
        s = (v - self.theta > 0).astype(float)
        self.aux[:], self.v[:], self.s[:] = aux, v * (1 - s), s
        return s


@implements(proc=AHP, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyAHPModelFixed(_SpikeStateFixed):
    """Fixed-point AHP (snnc LoihiAHP): v and aux 24-bit in one scale, w_ahp added << 6 per own spike."""

    aux: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    alpha_aux: np.ndarray = LavaPyType(np.ndarray, float)
    gain: np.ndarray = LavaPyType(np.ndarray, float)
    theta: np.ndarray = LavaPyType(np.ndarray, float)
    w_ahp: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    da: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)

    def update(self, a_in: np.ndarray) -> np.ndarray:
        s_prev = self.s.astype(np.int64)
        da, dv = self.da.astype(np.int64), self.dv.astype(np.int64)
        aux = np.clip(trunc12(self.aux.astype(np.int64) * (DECAY_UNITY - da))
                      + (self.w_ahp.astype(np.int64) << ACT_SHIFT) * s_prev, -V_LIM, V_LIM)
        v = np.clip(trunc12(self.v.astype(np.int64) * (DECAY_UNITY - dv)) + (a_in.astype(np.int64) << ACT_SHIFT)
                    + self.bias_int() + aux, -V_LIM, V_LIM)
        s = v > (self.vth.astype(np.int64) << VTH_SHIFT)
        self.aux[:], self.v[:], self.s[:] = aux, np.where(s, 0, v), s
        return s.astype(np.int32)


# -- SPSN -----------------------------------------------------------------------

class _SPSNModel(_Gated):
    """Drains the noise port every step (a sender never blocks on a full channel), then gates on t_start."""

    def inputs(self) -> tuple[np.ndarray, np.ndarray]:
        u = self.u_in.recv()
        return self.a_in.recv(), u


@implements(proc=SPSN, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySPSNModelFloat(_SPSNModel, _NeuronFloat):
    """Floating-point SPSN, the operations of the NumPy reference kernel (torch's sigmoid formula)."""

    u_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    i: np.ndarray = LavaPyType(np.ndarray, float)
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    beta: np.ndarray = LavaPyType(np.ndarray, float)
    di: np.ndarray = LavaPyType(np.ndarray, float)
    dv: np.ndarray = LavaPyType(np.ndarray, float)

    def update(self, a_in: np.ndarray, u: np.ndarray) -> np.ndarray:
        i = self.alpha * self.i + a_in
        v = self.beta * self.v + (1 - self.beta) * i
        self.i[:], self.v[:] = i, v
        if self.proc_params["stochastic"]:
            with np.errstate(over="ignore"):  # exp overflow gives the right limit σ = 0
                return (u < 1 / (1 + np.exp(-v))).astype(float)
        return (v > 0).astype(float)


@implements(proc=SPSN, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySPSNModelFixed(_SPSNModel, _SpikingFixed):
    """Fixed-point SPSN (snnc LoihiSPSN): i, v 24-bit; s = u_in < sigmoid_q16(v, v_frac) or v > 0."""

    u_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    i: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    beta: np.ndarray = LavaPyType(np.ndarray, float)
    di: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)

    def update(self, a_in: np.ndarray, u: np.ndarray) -> np.ndarray:
        di, dv = self.di.astype(np.int64), self.dv.astype(np.int64)
        i = np.clip(trunc12(self.i.astype(np.int64) * (DECAY_UNITY - di)) + (a_in.astype(np.int64) << ACT_SHIFT)
                    + self.bias_int(), -V_LIM, V_LIM)
        v = np.clip(trunc12(self.v.astype(np.int64) * (DECAY_UNITY - dv)) + trunc12(i * dv), -V_LIM, V_LIM)
        self.i[:], self.v[:] = i, v
        if self.proc_params["stochastic"]:
            s = u.astype(np.int64) < sigmoid_q16(v, self.proc_params["v_frac"])
        else:
            s = v > 0
        return s.astype(np.int32)
