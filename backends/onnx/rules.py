"""ONNX lowering rules: `ONNX_RULES[PrimitiveType]` emits the ONNX nodes of one IR node's step.

A rule gets an `Emitter` (bound to the IR node), the node, and the summed input
value per port, and returns the name of the ONNX value holding the node's output
[B, n] for this step. It reads state at t-1 with `em.state(var)` and hands the
new state to `em.set_state(var, value)`. The same rules build the Loop body and
the single-step model (see `onnx_backend.lower`). Each rule mirrors the NumPy
kernel in `numpy_backend` operation by operation, in the same order and with the
same parameter casts (`default_params`), so float results match bit for bit
except where MatMul sums in a different order.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from snnc.backends.numpy.lower import default_params
from snnc.compiler.ir import Primitive
from snnc.compiler.primitives import ALIF, LI, LIF, CubaLIF, Dense, Input

Rule = Callable[["Emitter", Primitive, dict[str, str]], str]
ONNX_RULES: dict[type, Rule] = {}

# Opset from which the signature we emit for an op is valid (when later than the op's
# first version): ReduceSum takes `axes` as an input only since opset 13.
MIN_OPSET: dict[str, int] = {"ReduceSum": 13}


def rule(*types: type) -> Callable[[Rule], Rule]:
    """Register an ONNX lowering rule for one or more primitive types."""
    def deco(fn: Rule) -> Rule:
        for t in types:
            ONNX_RULES[t] = fn
        return fn
    return deco


class Emitter:
    """Collects ONNX nodes and initializers for one time step of a graph.

    Values are named `<ir node>.<what>` and ONNX nodes `<ir node>/<what>`, so a
    reader of the ONNX graph sees the IR node names.
    """

    def __init__(self, dtype: np.dtype):
        from onnx import helper  # onnx is imported only by the onnx backend

        self.helper = helper
        self.dtype = np.dtype(dtype)
        self.nodes: list = []  # NodeProtos of the step, in order
        self.inits: dict[str, np.ndarray] = {}  # initializers (outer graph), by name
        self.ops_used: dict[str, str] = {}  # op type -> first IR node using it
        self.state_in: dict[tuple[str, str], str] = {}  # (node, var) -> value at t-1
        self.state_out: dict[tuple[str, str], str] = {}  # (node, var) -> value at t
        self.step_input: Callable[[str], str] = lambda name: name  # how an Input node gets x_t
        self.cur = ""  # IR node being lowered
        self._names: set[str] = set()

    # -- naming -----------------------------------------------------------------
    def fresh(self, base: str) -> str:
        """A value name not used yet, `base` when free."""
        name, k = base, 1
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    # -- building ---------------------------------------------------------------
    def const(self, key: str, value, cast: bool = True) -> str:
        """An initializer `<node>.<key>` (floats in the model dtype); returns its name."""
        a = np.asarray(value)
        if cast and a.dtype.kind == "f":
            a = a.astype(self.dtype)
        name = self.fresh(f"{self.cur}.{key}" if self.cur else key)
        self.inits[name] = np.ascontiguousarray(a)
        return name

    def shared(self, key: str, value) -> str:
        """A graph-wide constant (e.g. 0 or the ReduceSum axes), created once."""
        if key not in self.inits:
            a = np.asarray(value)
            self.inits[key] = a.astype(self.dtype) if a.dtype.kind == "f" else a
            self._names.add(key)
        return key

    def op(self, op_type: str, inputs: list[str], out: str, **attrs) -> str:
        """Append one ONNX node computing `<node>.<out>`; returns the output value name."""
        name = self.fresh(f"{self.cur}.{out}" if self.cur else out)
        self.nodes.append(self.helper.make_node(op_type, inputs, [name], name=name.replace(".", "/", 1), **attrs))
        self.ops_used.setdefault(op_type, self.cur)
        return name

    def state(self, var: str) -> str:
        """The value of state `var` of the current node at step t-1."""
        return self.state_in[(self.cur, var)]

    def set_state(self, var: str, value: str) -> None:
        """Declare `value` the new value of state `var` of the current node."""
        self.state_out[(self.cur, var)] = value

    def heaviside(self, v: str, theta: str) -> tuple[str, str]:
        """H(v − theta) as (bool spike mask, spike in the model dtype)."""
        fire = self.op("Greater", [v, theta], "fire")
        return fire, self.op("Cast", [fire], "s", to=self.helper.np_dtype_to_tensor_dtype(self.dtype))

    def reset(self, v: str, fire: str, s: str, theta: str, mode: str) -> str:
        """LIF reset: zero v·(1−s), subtract v − theta·s, or none."""
        if mode == "zero":
            return self.op("Where", [fire, self.shared("zero", np.zeros((), self.dtype)), v], "v_reset")
        if mode == "subtract":
            return self.op("Sub", [v, self.op("Mul", [theta, s], "theta_s")], "v_reset")
        return v


# -- rules (keep each in step with its NumPy kernel) -------------------------------
@rule(Input)
def _input(em: Emitter, node: Input, inp: dict[str, str]) -> str:
    return em.step_input(em.cur)


@rule(Dense)
def _dense(em: Emitter, node: Dense, inp: dict[str, str]) -> str:
    p = default_params(node, em.dtype)
    y = em.op("MatMul", [inp["in"], em.const("Wt", p.W.T)], "Wx")
    if np.any(p.b != 0):  # x + 0 == x: skip the Add for bias-free synapses
        y = em.op("Add", [y, em.const("b", p.b)], "y")
    return y


@rule(LIF)
def _lif(em: Emitter, node: LIF, inp: dict[str, str]) -> str:
    p = default_params(node, em.dtype)
    decay = em.op("Mul", [em.const("alpha", p.alpha), em.state("v")], "v_decay")
    v = em.op("Add", [decay, em.op("Mul", [em.const("gain", p.gain), inp["in"]], "gain_I")], "v")
    theta = em.const("theta", p.theta)
    fire, s = em.heaviside(v, theta)
    em.set_state("v", em.reset(v, fire, s, theta, node.reset))
    return s


@rule(CubaLIF)
def _cuba(em: Emitter, node: CubaLIF, inp: dict[str, str]) -> str:
    p = default_params(node, em.dtype)
    i = em.op("Add", [em.op("Mul", [em.const("alpha_syn", p.alpha_syn), em.state("i")], "i_decay"), inp["in"]], "i")
    decay = em.op("Mul", [em.const("alpha_mem", p.alpha_mem), em.state("v")], "v_decay")
    v = em.op("Add", [decay, em.op("Mul", [em.const("gain", p.gain), i], "gain_i")], "v_in")
    if np.any(p.bias != 0):
        v = em.op("Add", [v, em.const("bias", p.bias)], "v")
    theta = em.const("theta", p.theta)
    fire, s = em.heaviside(v, theta)
    em.set_state("i", i)
    em.set_state("v", em.reset(v, fire, s, theta, node.reset))
    return s


@rule(ALIF)
def _alif(em: Emitter, node: ALIF, inp: dict[str, str]) -> str:
    p = default_params(node, em.dtype)
    s_prev = em.state("s")
    b_decay = em.op("Mul", [em.const("rho", p.rho), em.state("b")], "b_decay")
    b = em.op("Add", [b_decay, em.op("Mul", [em.const("one_minus_rho", 1 - p.rho), s_prev], "b_in")], "b")
    B = em.op("Add", [em.const("b0", p.b0), em.op("Mul", [em.const("beta", p.beta), b], "beta_b")], "threshold")
    v_decay = em.op("Mul", [em.const("alpha", p.alpha), em.state("v")], "v_decay")
    v_in = em.op("Add", [v_decay, em.op("Mul", [em.const("in_gain", (1 - p.alpha) * p.R), inp["in"]], "gain_I")], "v_in")
    v = em.op("Sub", [v_in, em.op("Mul", [B, s_prev], "reset")], "v")
    _, s = em.heaviside(v, B)
    em.set_state("b", b)
    em.set_state("v", v)
    em.set_state("s", s)
    return s


@rule(LI)
def _li(em: Emitter, node: LI, inp: dict[str, str]) -> str:
    p = default_params(node, em.dtype)
    decay = em.op("Mul", [em.const("alpha", p.alpha), em.state("v")], "v_decay")
    v = em.op("Add", [decay, em.op("Mul", [em.const("gain", p.gain), inp["in"]], "gain_I")], "v")
    em.set_state("v", v)
    return v


import snnc.backends.onnx.family_rules  # noqa: E402,F401  (registers the seed-family rules)
import snnc.backends.onnx.quantized_rules  # noqa: E402,F401  (Affine, Int8Dense)
