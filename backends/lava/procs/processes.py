"""snnc's Lava process bases (_Population) and the edge Delay the retiming inserts; NodeStep is in step.py.

Every neuron process takes `t_start`: until Lava time step t_start it only
drains its input and sends zeros, so a population that sits L Dense hops deep
starts its IR step 0 exactly when its first input arrives (DESIGN §5 retiming).
"""
from __future__ import annotations

import typing as ty

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class _Population(AbstractProcess):
    """A process of `shape` with input port a_in and output port s_out."""

    def __init__(self, *, shape: tuple, name: str | None = None, **proc_params: ty.Any) -> None:
        super().__init__(shape=shape, name=name, **proc_params)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)


class Delay(_Population):
    """out[t] = in[t − delay] (zeros before): the compensating delay the retiming inserts on an edge."""

    def __init__(self, *, shape: tuple, delay: int, name: str | None = None) -> None:
        if delay < 1:
            raise ValueError(f"Delay: delay must be >= 1, got {delay}")
        super().__init__(shape=shape, delay=delay, name=name)
        self.buf = Var(shape=(delay,) + tuple(shape), init=0)
