"""One generic Lava process for every snnc primitive without a native Lava object: it runs the primitive's `step`.

`NodeStep` carries the IR node's primitive name, its non-array fields (proc_params) and its
array fields packed into one flat float Var `params` (layout in proc_params), so the Vars
are the same for every primitive, as Lava's ProcessModels declare them statically. States
live in one Var `state` [k, B·n] (row j: state j in `Primitive.states` order, the batch
flattened as Lava sees it). Both models rebuild the node at their first step and call
`PRIMITIVES[kind].step` on the population viewed as [B, n], floating_pt with NumPy float64
ops, fixed_pt (the Loihi integer primitives) on int64 states with `ops.fx`:
per-neuron parameters [n] broadcast over the batch and weight matrices stay untiled.
The IR port `in` arrives on `a_in`, the port `noise` (SPSN) on `u_in`.
"""
from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from snnc.backends.lava.procs.models import _Gated
from snnc.backends.lava.procs.processes import _Population
from snnc.compiler.fixedpoint import NOISE_BITS

PORTS = {"in": "a_in", "noise": "u_in"}  # IR port -> Lava in-port of NodeStep


def pack(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, list]:
    """Array fields as one flat float64 vector and its layout [(field, shape, offset)]."""
    layout, parts, off = [], [], 0
    for k, a in arrays.items():
        a = np.asarray(a, np.float64)
        layout.append([k, list(a.shape), off])
        parts.append(a.ravel())
        off += a.size
    flat = np.concatenate(parts) if parts else np.zeros(0)
    return (flat if flat.size else np.zeros(1)), layout  # Lava Vars cannot be empty


def unpack(flat: np.ndarray, layout: list, dtypes: dict[str, str]) -> dict[str, np.ndarray]:
    """The inverse of pack, each field back in its IR dtype."""
    return {k: np.asarray(flat[off:off + int(np.prod(shape))], np.float64).reshape(shape).astype(dtypes[k])
            for k, shape, off in layout}


class NodeStep(_Population):
    """An IR node of primitive `kind` stepping by its own definition; sends its output on s_out."""

    def __init__(self, *, shape: tuple, kind: str, fields: dict, layout: list, dtypes: dict, params: np.ndarray,
                 state: np.ndarray, states: list, t_start: int = 0, name: str | None = None) -> None:
        super().__init__(shape=shape, kind=kind, fields=fields, layout=layout, dtypes=dtypes, states=list(states),
                         t_start=t_start, name=name)
        self.u_in = InPort(shape=shape)
        self.params = Var(shape=np.shape(params), init=params)
        self.state = Var(shape=np.shape(state), init=state)


class _StepModel(_Gated):
    """What both models share: rebuild the node once, then run its `step` on the population viewed as [B, n]."""

    _node: ty.Any = None  # the IR node, rebuilt from proc_params and `params` at the first step

    def inputs(self) -> tuple[np.ndarray, np.ndarray]:
        u = self.u_in.recv()  # drained every step, so a sender never blocks on a full channel
        return self.a_in.recv(), u

    def _bind(self) -> None:
        from snnc.compiler.ir import PRIMITIVES
        from snnc.compiler.primitives.ops import NumpyOps, prepared

        pp = self.proc_params
        cls = PRIMITIVES[pp["kind"]]
        self._node = cls(**pp["fields"], **unpack(self.params, pp["layout"], pp["dtypes"]))
        self._ops = NumpyOps(np.float64)  # integer primitives use only its `fx` (compiler/fixedpoint.py)
        self._p = prepared(self._node, np.float64)

    def noise(self, u: np.ndarray) -> np.ndarray:
        """The noise port's message as the step reads it."""
        return u

    def update(self, a_in: np.ndarray, u: np.ndarray) -> np.ndarray:
        if self._node is None:
            self._bind()
        node, n = self._node, self._node.size
        x = {"in": a_in.reshape(-1, n)}
        if "noise" in node.ports:
            x["noise"] = self.noise(u).reshape(-1, n)
        names = self.proc_params["states"]
        s = {k: self.state[j].reshape(-1, n) for j, k in enumerate(names)}
        out, new = node.step(self._ops, self._p, s, x)
        for j, k in enumerate(names):
            self.state[j] = np.ravel(new[k])
        return np.ravel(out).copy()


@implements(proc=NodeStep, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyNodeStepModelFloat(_StepModel):
    """floating_pt: `PRIMITIVES[kind].step` on NumPy float64 ops."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    u_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    params: np.ndarray = LavaPyType(np.ndarray, float)
    state: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=NodeStep, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyNodeStepModelFixed(_StepModel):
    """fixed_pt: a Loihi primitive's integer step (ops.fx) on int64 states, the NumPy integer runtime's code."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    u_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    params: np.ndarray = LavaPyType(np.ndarray, float)  # integer fields packed exactly (|values| < 2^53)
    state: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def noise(self, u: np.ndarray) -> np.ndarray:
        # the worker's source sent floor(u·2^16); k / 2^16 is exact, so the step's noise_int reads k back
        return u.astype(np.float64) / (1 << NOISE_BITS)


def make(name: str, spec: dict, arrays: ty.Callable[[ty.Any], np.ndarray], B: int) -> NodeStep:
    """The NodeStep of one process spec of the description (kind "step", see Lowerer.step_node), for a batch of B."""
    import json

    P, n = spec["params"], spec["size"]
    flat, layout = pack({k[6:]: arrays(v) for k, v in P.items() if k.startswith("array:")})
    states = json.loads(P["states"])
    rows = [np.tile(np.broadcast_to(arrays(P[f"init:{k}"]), (n,)), B) for k in states]
    state = np.stack(rows) if rows else np.zeros((1, B * n))
    return NodeStep(shape=(B * n,), kind=P["primitive"], fields=json.loads(P["fields"]), layout=layout,
                    dtypes=json.loads(P["dtypes"]), params=flat, state=state, states=states,
                    t_start=spec.get("t_start", 0), name=name)
