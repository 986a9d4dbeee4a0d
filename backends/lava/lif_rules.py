"""Lava lowering rules for LIF, CubaLIF and LoihiLIF, registered into backends/lava/lower.RULES.

Two paths, chosen per node and recorded in the process spec (`impl`, `why`):

- Lava's own `lava.proc.lif.process.LIF` (kind "lif") whenever it computes the
  node exactly, i.e. reset to zero. Lava 0.10 declares du, dv and vth as
  Var(shape=(1,)), but its Python models read them as plain values (the py
  builder passes a scalar Var's init through unchanged) and compute
  elementwise, so per-neuron arrays work in floating_pt and fixed_pt alike;
  uniform values stay scalars, as Lava documents them.
- for reset `subtract` and `none`, which Lava's LIF cannot do: the node's own step
  in snnc's generic `NodeStep` (backends/lava/procs/step.py, kind "step"), floating
  point or, for LoihiLIF, the integer step (Lava's LIF arithmetic plus the reset mode).

Mapping (float): LIF -> du = 1 (u = a_in), dv = 1 − alpha, vth = theta, the gain
folded into the incoming weights; CubaLIF -> du = 1 − alpha_syn, dv = 1 − alpha_mem,
u = gain·i, bias_mant = bias. LoihiLIF maps field for field.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from snnc.compiler.ir import Primitive
from snnc.compiler.primitives import LIF, CubaLIF, LoihiLIF

if TYPE_CHECKING:  # (lower.py imports this module to build its rule table)
    from snnc.backends.lava.lower import Lowerer

LAVA_LIF = "lava.proc.lif.process.LIF"
STEP = "snnc.backends.lava.procs.step.NodeStep"
PATHS = {LAVA_LIF: "Lava LIF", STEP: "snnc NodeStep"}


def _population(lw: Lowerer, name: str, field_: str, a: Any, integer: bool) -> Any:
    """A scalar when every neuron shares the value (Lava's documented form), else a per-neuron array."""
    a = np.broadcast_to(np.asarray(a), (lw.g.nodes[name].size,))
    if np.all(a == a[0]):
        return int(a[0]) if integer else float(a[0])
    return lw.arr(name, field_, a.astype(np.int64) if integer else a.astype(np.float64))


def _lif_proc(lw: Lowerer, name: str, node: Primitive, states: dict, *, du: Any, dv: Any, vth: Any,
              integer: bool = False, **init: Any) -> None:
    """One LIF-family population with reset zero on Lava's own LIF."""
    per = {k: _population(lw, name, k, a, integer) for k, a in (("du", du), ("dv", dv), ("vth", vth))}
    varying = [k for k, a in per.items() if isinstance(a, dict)]
    why = "reset zero" + (f"; per-neuron {', '.join(varying)}" if varying else "")
    lw.proc(name, "lif", node.size, name, **per, **init)
    spec = lw.net.procs[name]
    spec["impl"], spec["why"] = LAVA_LIF, why
    spec["states"] = states


def _step(lw: Lowerer, name: str, node: Primitive) -> None:
    """Reset subtract or none: the node's own step (float or integer) in snnc's generic NodeStep process."""
    lw.step_node(name, node)
    spec = lw.net.procs[name]
    spec["impl"], spec["why"] = STEP, f"reset '{node.reset}': Lava's LIF only resets to zero"


def _lif(lw: Lowerer, name: str, node: LIF) -> None:
    if node.reset != "zero":
        return _step(lw, name, node)
    lw.gain[name] = node.gain  # folded into the incoming weights: Lava's u = a_in when du = 1
    n = node.size
    _lif_proc(lw, name, node, {"v": ["v", None]}, du=1.0, dv=1.0 - node.alpha, vth=node.theta,
              bias_mant=lw.arr(name, "bias_mant", np.zeros(n)), bias_exp=0,
              u=lw.arr(name, "u", np.zeros(n)), v=lw.arr(name, "v", np.broadcast_to(node.v0, (n,))))


def _cuba(lw: Lowerer, name: str, node: CubaLIF) -> None:
    if node.reset != "zero":
        return _step(lw, name, node)
    lw.gain[name] = node.gain  # Lava's u is gain·i
    n = node.size
    b = lambda a: np.broadcast_to(np.asarray(a, float), (n,))  # noqa: E731
    _lif_proc(lw, name, node, {"i": ["u", lw.arr(name, "ustate", b(node.gain))], "v": ["v", None]},
              du=1.0 - node.alpha_syn, dv=1.0 - node.alpha_mem, vth=node.theta,
              bias_mant=lw.arr(name, "bias_mant", b(node.bias)), bias_exp=0,
              u=lw.arr(name, "u", b(node.gain) * b(node.i0)), v=lw.arr(name, "v", b(node.v0)))


def _loihi_lif(lw: Lowerer, name: str, node: LoihiLIF) -> None:
    if node.reset != "zero":
        return _step(lw, name, node)
    n = node.size
    b = lambda a: np.broadcast_to(np.asarray(a, np.int64), (n,))  # noqa: E731
    _lif_proc(lw, name, node, {"u": ["u", None], "v": ["v", None]}, du=node.du, dv=node.dv, vth=node.vth,
              integer=True, bias_mant=lw.arr(name, "bias_mant", b(node.bias_mant)),
              bias_exp=lw.arr(name, "bias_exp", b(node.bias_exp)), u=lw.arr(name, "u", b(node.u0)),
              v=lw.arr(name, "v", b(node.v0)))


def lif_paths(procs: dict[str, dict]) -> list[str]:
    """One line per LIF-family population: which Lava process it runs on and why."""
    return [f"{name}: {PATHS[sp['impl']]} ({sp['why']})" for name, sp in procs.items() if sp.get("impl") in PATHS]


RULES = {LIF: _lif, CubaLIF: _cuba, LoihiLIF: _loihi_lif}  # primitive -> rule, merged into lower.RULES
