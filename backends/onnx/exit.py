"""Early exit (EarlyExit, seed 001) in ONNX: the Loop's condition, per-sample freezing and decision outputs.

Semantics are the NumPy runtime's: at each step the exit node's readout p is
computed; a still-active sample whose confidence max_k p_k exceeds theta decides
argmax_k p at this step. From the next step on it is frozen: its states, delay
buffers and outputs keep their values and its activity counts are zero. The Loop
stops once every sample has decided; its scan outputs are then padded to T with
the held values (counts with zeros). Samples that never cross decide at the last
step from their final p. Max_k p_k > theta is computed as "some p_k > theta",
which is the same test without ReduceMax (whose signature changed in opset 18).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from snnc.backends.onnx.emit import Emitter
from snnc.compiler.errors import LoweringError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives.rc import DECISION, TIME

BOOKKEEPING = ("active", "decision", "time", "step")


@dataclass
class ExitPlan:
    """The graph's EarlyExit node and its threshold."""

    node: str
    theta: float


def exit_plan(graph: Graph, slot: Callable) -> ExitPlan | None:
    """Declare the early-exit bookkeeping slots (via `slot(node, var, base, shape, init, dtype)`); None without EarlyExit."""
    exits = [n for n, v in graph.nodes.items() if type(v).__name__ == "EarlyExit"]
    if not exits:
        return None
    if len(exits) > 1:
        raise LoweringError(exits[1], "EarlyExit", "onnx", f"a second EarlyExit (after '{exits[0]}'; one decision per sample)")
    name = exits[0]
    slot(name, "active", f"{name}.active", ("B",), True, np.bool_)  # not decided yet
    slot(name, "decision", f"{name}.decision", ("B",), 0, np.int64)
    slot(name, "time", f"{name}.time", ("B",), -1, np.int64)  # step of the decision, -1 while undecided
    slot(name, "step", f"{name}.step", (), 0, np.int64)  # steps since the start
    for o in dict.fromkeys([*graph.outputs, name]):  # outputs hold their value once a sample is frozen
        slot(o, "held", f"{o}.held", ("B", graph.nodes[o].size), np.zeros(graph.nodes[o].size))
    return ExitPlan(name, float(graph.nodes[name].theta))


def apply_exit(em: Emitter, plan: ExitPlan, graph: Graph, outs: dict[str, str], counts: dict[str, str], slots: list) -> str:
    """Decide, freeze the decided samples' states, hold outputs, zero their counts; returns the Loop condition."""
    em.cur = name = plan.node
    tdt = em.helper.np_dtype_to_tensor_dtype(em.dtype)
    axis1 = em.shared("axis_1", np.array([1], np.int64))
    active, p = em.state("active"), outs[name]
    over = em.op("Cast", [em.op("Greater", [p, em.const("theta", np.asarray(plan.theta))], "over")], "over_f", to=tdt)
    n_over = em.op("ReduceSum", [over, axis1], "n_over", keepdims=0)
    crossed = em.op("Greater", [n_over, em.shared("zero", np.zeros((), em.dtype))], "crossed")
    decides = em.op("And", [active, crossed], "decides")
    argmax = em.op("ArgMax", [p], "argmax", axis=1, keepdims=0)
    em.set_state("decision", em.op("Where", [decides, argmax, em.state("decision")], "decision_now"))
    em.set_state("time", em.op("Where", [decides, em.state("step"), em.state("time")], "time_now"))
    still = em.op("And", [active, em.op("Not", [crossed], "not_crossed")], "still_active")
    em.set_state("active", still)
    em.set_state("step", em.op("Add", [em.state("step"), em.shared("one_i64", np.array(1, np.int64))], "step_now"))
    col = em.op("Unsqueeze", [active, axis1], "active_col")  # [B, 1], broadcast over neurons
    for sl in slots:
        if sl.node == name and sl.var in BOOKKEEPING:
            continue
        em.cur = sl.node
        new = outs[sl.node] if sl.var == "held" else em.state_out[(sl.node, sl.var)]
        kept = em.op("Where", [col, new, sl.value], f"{sl.var.replace('@t-', 'past')}_kept")
        em.state_out[(sl.node, sl.var)] = kept
        if sl.var == "held":
            outs[sl.node] = kept
    em.cur = name
    active_f = em.op("Cast", [active], "active_f", to=tdt)
    for n in counts:
        counts[n] = em.op("Mul", [counts[n], active_f], f"{n}_nonzero_active")
    n_active = em.op("ReduceSum", [em.op("Cast", [still], "still_i64", to=em.helper.np_dtype_to_tensor_dtype(np.dtype(np.int64)))],
                     "n_active", keepdims=0)
    return em.op("Greater", [n_active, em.shared("zero_i64", np.array(0, np.int64))], "any_active")


def finish_loop(em: Emitter, graph: Graph, slots: list, counts: dict, name: str) -> list:
    """Outer-graph nodes after the Loop: pad the scans to T, decide the undecided at the last step."""
    from onnx import helper as h

    value = {(sl.node, sl.var): sl.value for sl in slots}
    first = f"{graph.outputs[0]}.scan"
    em.inits.update({"seq.slice_0": np.array([0], np.int64), "seq.axis_0": np.array([0], np.int64),
                     "seq.one_i64": np.array(1, np.int64), "seq.zero_f": np.zeros((), em.dtype)})
    nodes = [h.make_node("Slice", ["seq.shape", "seq.slice_0", "seq.slice_1"], ["seq.T_1d"], name="seq/T_1d"),
             h.make_node("Shape", [first], ["seq.scan_shape"], name="seq/scan_shape"),
             h.make_node("Slice", ["seq.scan_shape", "seq.slice_0", "seq.slice_1"], ["seq.T_run"], name="seq/T_run"),
             h.make_node("Sub", ["seq.T_1d", "seq.T_run"], ["seq.pad"], name="seq/pad"),
             h.make_node("Concat", ["seq.pad", "seq.B"], ["seq.pad_shape"], name="seq/pad_shape", axis=0)]
    for o in graph.outputs:  # after everyone has decided the held values repeat
        n = graph.nodes[o].size
        em.inits.setdefault(f"seq.n_{n}", np.array([n], np.int64))
        held = f"{value[(o, 'held')]}.final"
        nodes += [h.make_node("Unsqueeze", [held, "seq.axis_0"], [f"{o}.held_1"], name=f"{o}/held_1"),
                  h.make_node("Concat", ["seq.pad", "seq.B", f"seq.n_{n}"], [f"{o}.pad_shape"], name=f"{o}/pad_shape", axis=0),
                  h.make_node("Expand", [f"{o}.held_1", f"{o}.pad_shape"], [f"{o}.pad"], name=f"{o}/pad"),
                  h.make_node("Concat", [f"{o}.scan", f"{o}.pad"], [o], name=f"{o}/padded", axis=0)]
    for c in counts:  # skipped steps did no work
        nodes += [h.make_node("Expand", ["seq.zero_f", "seq.pad_shape"], [f"{c}.nonzero_pad"], name=f"{c}/nonzero_pad"),
                  h.make_node("Concat", [f"{c}.nonzero_f.scan", f"{c}.nonzero_pad"], [f"{c}.nonzero_f"], name=f"{c}/nonzero_padded", axis=0)]
    active = f"{value[(name, 'active')]}.final"
    nodes += [h.make_node("ArgMax", [f"{value[(name, 'held')]}.final"], [f"{name}.last_argmax"], name=f"{name}/last_argmax", axis=1, keepdims=0),
              h.make_node("Where", [active, f"{name}.last_argmax", f"{value[(name, 'decision')]}.final"], [name + DECISION], name=f"{name}/decision"),
              h.make_node("Sub", ["seq.T", "seq.one_i64"], ["seq.last_step"], name="seq/last_step"),
              h.make_node("Where", [active, "seq.last_step", f"{value[(name, 'time')]}.final"], [name + TIME], name=f"{name}/time")]
    em.ops_used.update({op: em.ops_used.get(op, "") for op in ("Unsqueeze", "ArgMax", "Where", "Sub")})
    return nodes
