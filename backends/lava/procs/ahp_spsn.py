"""snnc's Lava AHP and SPSN processes with their fixed_pt ProcessModels (floating point: NodeStep).

The fixed_pt models run snnc LoihiAHP's and LoihiSPSN's own integer steps
(compiler/primitives/loihi_ahp.py, loihi_spsn.py), as the NumPy integer runtime does.
SPSN's uniform noise arrives on its own port `u_in` as floor(u·2^16), converted by the
worker's source.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snnc.backends.lava.procs.models import _Gated, _SpikeStateFixed, _SpikingFixed
from snnc.backends.lava.procs.processes import Arr, _Population
from snnc.compiler.fixedpoint import NOISE_BITS
from snnc.compiler.primitives import LoihiAHP, LoihiSPSN


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


@implements(proc=AHP, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyAHPModelFixed(_SpikeStateFixed):
    """Fixed-point AHP: snnc LoihiAHP's step (v and aux 24-bit in one scale, w_ahp added << 6 per own spike)."""

    primitive = LoihiAHP
    aux: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    alpha_aux: np.ndarray = LavaPyType(np.ndarray, float)
    gain: np.ndarray = LavaPyType(np.ndarray, float)
    theta: np.ndarray = LavaPyType(np.ndarray, float)
    w_ahp: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    da: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)


# -- SPSN -----------------------------------------------------------------------

class _SPSNModel(_Gated):
    """Drains the noise port every step (a sender never blocks on a full channel), then gates on t_start."""

    def inputs(self) -> tuple[np.ndarray, np.ndarray]:
        u = self.u_in.recv()
        return self.a_in.recv(), u


@implements(proc=SPSN, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySPSNModelFixed(_SPSNModel, _SpikingFixed):
    """Fixed-point SPSN: snnc LoihiSPSN's step; u_in carries the integer noise floor(u·2^16)."""

    primitive = LoihiSPSN
    u_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    i: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    beta: np.ndarray = LavaPyType(np.ndarray, float)
    di: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)

    def step_inputs(self, a_in: np.ndarray, u: np.ndarray) -> dict:
        n = self.neurons()
        # the step reads noise as floor(u·2^16) (noise_int); k / 2^16 is exact in float64, so it reads back k
        return {"in": a_in.reshape(-1, n), "noise": u.reshape(-1, n).astype(np.float64) / (1 << NOISE_BITS)}
