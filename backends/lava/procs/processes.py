"""Lava processes for what Lava's own library lacks: seed 000's ALIF, the LI readout and an edge Delay.

Every neuron process takes `t_start`: until Lava time step t_start it only
drains its input and sends zeros, so a population that sits L Dense hops deep
starts its IR step 0 exactly when its first input arrives (DESIGN §5 retiming).
"""
from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

Arr = ty.Union[float, int, np.ndarray]


class _Population(AbstractProcess):
    """A process of `shape` with input port a_in and output port s_out; subclasses add their Vars."""

    def __init__(self, *, shape: tuple, name: str | None = None, **proc_params: ty.Any) -> None:
        super().__init__(shape=shape, name=name, **proc_params)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)

    def add_vars(self, shape: tuple, **inits: Arr) -> None:
        """One Var of `shape` per keyword, initialised to its value, in keyword order."""
        for k, val in inits.items():
            setattr(self, k, Var(shape=shape, init=val))


class ALIF(_Population):
    """Adaptive LIF (Yin et al. 2021): b = rho·b + (1−rho)·s⁻; B = b0 + beta·b;
    v = alpha·v + (1−alpha)·R·(a_in + bias) − B·s⁻; s = v > B.

    Fixed point (fixed_pt model) uses dv, dr, vth, beta, bias_mant, bias_exp as
    snnc's LoihiALIF does; floating point uses alpha, rho, b0, beta, R, bias.
    """

    def __init__(self, *, shape: tuple, t_start: int = 0, v: Arr = 0, b: Arr = 0,
                 alpha: Arr = 0, rho: Arr = 0, b0: Arr = 0, beta: Arr = 0, R: Arr = 1, bias: Arr = 0,
                 dv: Arr = 0, dr: Arr = 0, vth: Arr = 0, bias_mant: Arr = 0, bias_exp: Arr = 0,
                 name: str | None = None) -> None:
        super().__init__(shape=shape, t_start=t_start, name=name)
        self.add_vars(shape, v=v, b=b, s=0, alpha=alpha, rho=rho, b0=b0, beta=beta, R=R, bias=bias, dv=dv, dr=dr,
                      vth=vth, bias_mant=bias_mant, bias_exp=bias_exp)


class LI(_Population):
    """Leaky integrator readout: v = alpha·v + gain·(a_in + bias) (float) or
    v = clip24(trunc12(v·(4096−dv)) + (a_in << 6) + (bias_mant << bias_exp)) (fixed); sends v."""

    def __init__(self, *, shape: tuple, t_start: int = 0, v: Arr = 0, alpha: Arr = 0, gain: Arr = 1,
                 bias: Arr = 0, dv: Arr = 0, bias_mant: Arr = 0, bias_exp: Arr = 0, name: str | None = None) -> None:
        super().__init__(shape=shape, t_start=t_start, name=name)
        self.add_vars(shape, v=v, alpha=alpha, gain=gain, bias=bias, dv=dv, bias_mant=bias_mant, bias_exp=bias_exp)


class Delay(_Population):
    """out[t] = in[t − delay] (zeros before): the compensating delay the retiming inserts on an edge."""

    def __init__(self, *, shape: tuple, delay: int, name: str | None = None) -> None:
        if delay < 1:
            raise ValueError(f"Delay: delay must be >= 1, got {delay}")
        super().__init__(shape=shape, delay=delay, name=name)
        self.buf = Var(shape=(delay,) + tuple(shape), init=0)
