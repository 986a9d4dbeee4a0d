"""Lowering IR -> ONNX ModelProto: the whole sequence as one `Loop` over time, or one step.

`lower(graph, opset, mode, dtype)` walks the graph in schedule order and runs each
node's own `step` on symbolic values (`OnnxOps`, backends/onnx/emit.py); the same step is
wrapped either as the body of a Loop (mode "loop") or as a stand-alone single-step
model (mode "step").

Loop model: inputs `<input node>` [T, B, F]; outputs `<output node>` [T, B, n] and,
per counted node, `<node>.nonzero` int64 [T, B] (spikes per step and sample, measured
inside the loop). Every neuron state and every delay buffer (`<node>@t-k`, the
node's output k steps ago, for delay-k edges) is loop-carried; the Loop's trip
count is T, so the number of ONNX nodes does not depend on T.

Step model: inputs `<input node>` [B, F] and one input per state `<node>.<var>`
[B, n] (the value after the previous step); outputs `<output node>` [B, n],
`<node>.nonzero` int64 [B], and per state `<node>.<var>.next` [B, n] to feed
back as `<node>.<var>` at the next step. The initial state values are in the
model's metadata (`snnc.states`: input, output, node, var, size, init) and listed
in its doc_string; delay buffers `<node>@t-k` start at zero.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import numpy as np

from snnc.backends.onnx.exit import apply_exit, exit_plan, finish_loop
from snnc.backends.onnx.emit import MIN_OPSET, Emitter, OnnxOps
from snnc.compiler.errors import LoweringError, SnncError
from snnc.compiler.ir import SPIKE, Graph
from snnc.compiler.primitives.ops import prepared
from snnc.compiler.primitives.rc import DECISION, TIME
from snnc.compiler.verify import verify
from snnc.runtime.inputs import noise_inputs

BACKEND = "onnx"
MODES = ("loop", "step")
DTYPES = ("float32", "float64")
ACTIVITY = ("spikes", "all", "none")  # which nodes get in-model nonzero counts
FORMAT_VERSION = "1"


def _check_options(opset: int, mode: str, dtype: str, activity: str) -> None:
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not 1 <= opset <= newest:
        raise SnncError(f"onnx backend: opset must be an integer from 1 to {newest} (the installed onnx's newest), got {opset!r}")
    if mode not in MODES:
        raise SnncError(f"onnx backend: onnx_mode must be one of {', '.join(MODES)}, got {mode!r}")
    if str(dtype) not in DTYPES:
        raise SnncError(f"onnx backend: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if activity not in ACTIVITY:
        raise SnncError(f"onnx backend: activity must be one of {', '.join(ACTIVITY)}, got {activity!r}")


def check_opset(ops_used: dict[str, str], opset: int) -> None:
    """Raise naming the operator (and the IR node using it) that `opset` is too old for."""
    for op, where in ops_used.items():
        needed = max(MIN_OPSET.get(op, 1), _first_version(op))
        if opset < needed:
            user = f" (used by node '{where}')" if where else ""
            raise SnncError(f"onnx backend: opset {opset} is too old for operator {op}{user}; it needs opset >= {needed}")


@functools.lru_cache(maxsize=None)
def _first_version(op: str) -> int:
    """The first opset that defines `op`."""
    import onnx

    versions = [s.since_version for s in onnx.defs.get_all_schemas_with_history() if s.name == op and s.domain == ""]
    return min(versions) if versions else 1


@dataclass
class Slot:
    """One loop-carried value (a state input/output pair of the step model)."""

    node: str  # IR node it belongs to
    var: str  # state variable, "@t-k" for a delay buffer, or bookkeeping (early exit)
    value: str  # ONNX name of its value at t-1 (the step model's input; its output is value + ".next")
    shape: tuple  # per-step shape: ("B", n) per neuron, ("B",) per sample, () scalar
    init: np.ndarray  # initial value per sample: shape (n,), or () for per-sample and scalar slots
    dtype: np.dtype  # element type


def _emit_step(graph: Graph, em: Emitter, activity: str) -> tuple[dict[str, str], dict[str, str], list[Slot], str | None]:
    """Run the rules over one step; returns (output values, count values, slots, loop condition or None)."""
    order = graph.schedule()
    slots: list[Slot] = []

    def slot(node: str, var: str, base: str, shape: tuple, init, dtype=em.dtype) -> None:
        em.state_in[(node, var)] = em.fresh(base)
        slots.append(Slot(node, var, em.state_in[(node, var)], shape, np.asarray(init, dtype), np.dtype(dtype)))

    for name in order:
        node = graph.nodes[name]
        for var, init in node.initial_state().items():
            slot(name, var, f"{name}.{var}", ("B", node.size), init)
    for name in order:
        for k in range(1, graph.max_delay(name) + 1):
            slot(name, f"@t-{k}", f"{name}@t-{k}", ("B", graph.nodes[name].size), np.zeros(graph.nodes[name].size))
    plan = exit_plan(graph, slot)
    ops = OnnxOps(em)
    outs: dict[str, str] = {}
    counts: dict[str, str] = {}
    for name in order:
        node = graph.nodes[name]
        kind = type(node).__name__
        if node.integer:
            raise LoweringError(name, kind, BACKEND, "Loihi fixed-point arithmetic (24-bit wrap-around, shifts) "
                                "runs on the numpy and loihi targets only; no lowering")
        if node.step is None:
            raise LoweringError(name, kind, BACKEND, "the primitive defines no step: no lowering")
        em.cur = name
        inp = {}
        for port in node.ports:
            vals = [outs[e.src] if e.delay == 0 else em.state_in[(e.src, f"@t-{e.delay}")] for e in graph.in_edges(name, port)]
            acc = vals[0]
            for v in vals[1:]:  # left to right, as the NumPy runtime sums a port's edges
                acc = em.op("Add", [acc, v], f"{port}_sum")
            inp[port] = acc
        if kind == "Input":
            inp = {"x": em.step_input(name)}
        p = prepared(node, em.dtype)
        ops.bind(p)
        out, new = node.step(ops, p, {v: em.state(v) for v in node.states}, inp)
        if set(new) != set(node.states):
            raise LoweringError(name, kind, BACKEND, f"its step returned states {sorted(new)}, expected {sorted(node.states)}")
        for var, val in new.items():
            em.set_state(var, _value(em, ops, val, var))
        outs[name] = _value(em, ops, out, "out")
        is_input = type(node).__name__ == "Input"
        if activity != "none" and not is_input and (node.out_kind == SPIKE or activity == "all"):
            y = outs[name]
            if node.out_kind != SPIKE:  # graded: count entries != 0 (spikes are 0/1, their sum is the count)
                is_zero = em.op("Equal", [y, em.shared("zero", np.zeros((), em.dtype))], "is_zero")
                nz = em.op("Not", [is_zero], "is_nonzero")
                y = em.op("Cast", [nz], "nonzero_mask", to=em.helper.np_dtype_to_tensor_dtype(em.dtype))
            counts[name] = em.op("ReduceSum", [y, em.shared("axis_1", np.array([1], np.int64))], "count_t", keepdims=0)
    for name in order:  # delay buffers shift by one step: @t-1 <- out, @t-k <- @t-(k-1)
        em.cur = name
        for k in range(1, graph.max_delay(name) + 1):
            em.state_out[(name, f"@t-{k}")] = outs[name] if k == 1 else em.state_in[(name, f"@t-{k - 1}")]
    cond = apply_exit(em, plan, graph, outs, counts, slots) if plan else None
    em.cur = ""
    return outs, counts, slots, cond


def _value(em: Emitter, ops: OnnxOps, v, key: str) -> str:
    """A step's result as an ONNX value computed in the step (a constant gets an Identity)."""
    if isinstance(v, str):
        return v
    return em.op("Identity", [ops.val(np.broadcast_to(v, np.shape(v)).copy(), key)], key)


class _Exporter:
    """Names a graph's outputs: renames the producing node's output, or adds an Identity."""

    def __init__(self, em: Emitter, nodes: list, graph_inputs: set[str]):
        self.em, self.nodes, self.taken = em, nodes, set(graph_inputs)
        self.producer = {o: n for n in nodes for o in n.output}
        self.renamed: dict[str, str] = {}

    def __call__(self, value: str, name: str) -> str:
        value = self.renamed.get(value, value)
        if value in self.producer and value not in self.taken:
            for n in self.nodes:
                for lst in (n.input, n.output):
                    for i, v in enumerate(lst):
                        if v == value:
                            lst[i] = name
            node_name = name.replace(".", "/", 1)
            if all(n.name != node_name for n in self.nodes):  # node names must stay unique
                self.producer[value].name = node_name
            self.producer[name] = self.producer.pop(value)
            self.renamed[value] = name
        else:  # a graph input or an already exported value: ONNX needs a distinct output value
            self.nodes.append(self.em.helper.make_node("Identity", [value], [name], name=name.replace(".", "/", 1)))
        self.taken.add(name)
        return name


def _doc(graph: Graph, mode: str, slots: list[Slot], dtype: str, exit_node: str | None) -> str:
    lines = [f"snnc {mode} model ({dtype}) of {len(graph.nodes)} IR nodes."]
    if mode == "loop":
        lines.append("Inputs [T, B, F]; outputs [T, B, n]; <node>.nonzero int64 [T, B] counts spikes per step.")
        lines.append("The time axis is a Loop with trip count T; these states are loop-carried:")
    else:
        lines.append("One time step. Inputs [B, F] plus the state inputs below (pass the initial value at the first step, "
                     "then each <state>.next output of the previous step); outputs [B, n] and <node>.nonzero int64 [B].")
    if exit_node:
        lines.append(f"Early exit at '{exit_node}': a sample whose confidence exceeds theta is frozen from the next step on "
                     f"(outputs held, states kept); {exit_node}:decision and {exit_node}:time [B] are its decision and step"
                     + ("; the Loop stops when every sample has decided." if mode == "loop" else "."))
    for sl in slots:
        what = f"output of {sl.node} from {sl.var[3:]} step(s) before" if sl.var.startswith("@") else f"{sl.var} of {sl.node}"
        init = sl.init
        iv = f"{init.flat[0]}" if init.size and np.all(init == init.flat[0]) else "per-neuron (metadata snnc.states)"
        shape = "[" + ", ".join(map(str, sl.shape)) + "]"
        lines.append(f"  {sl.value} {shape} {sl.dtype} -> {sl.value}.next: {what}; initial {iv}")
    return "\n".join(lines)


def lower(graph: Graph, opset: int = 17, mode: str = "loop", dtype: str = "float32", activity: str = "spikes"):
    """Verify `graph` and lower it to an onnx.ModelProto (see the module docstring for the interface)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    _check_options(opset, mode, str(dtype), activity)
    verify(graph)
    em = Emitter(np.dtype(str(dtype)))
    tdt = helper.np_dtype_to_tensor_dtype(em.dtype)
    x_names = list(graph.inputs)
    em._names.update(x_names)  # the graph's own value names are reserved before the rules run
    em._names.update(graph.outputs)
    if mode == "loop":
        em._names.update({"t", "cond", "cond_out"})
        em.step_input = lambda name: em.op("Gather", [name, "t"], "x_t", axis=0)
    outs, counts, slots, cond = _emit_step(graph, em, activity)
    _state_outputs(graph, em, outs, slots)
    exit_node = next((n for n, v in graph.nodes.items() if type(v).__name__ == "EarlyExit"), None)
    size = {n: graph.nodes[n].size for n in graph.nodes} | {o: graph.output_size(o) for o in graph.outputs}

    def vi(name: str, elem, shape) -> onnx.ValueInfoProto:
        elem = elem if isinstance(elem, int) else helper.np_dtype_to_tensor_dtype(np.dtype(elem))
        return helper.make_tensor_value_info(name, elem, list(shape))

    nodes = list(em.nodes)
    state_in = [vi(sl.value, sl.dtype, sl.shape) for sl in slots]
    if mode == "step":
        ex = _Exporter(em, nodes, set(x_names) | {sl.value for sl in slots})
        # an Input node listed as an output is the graph input itself
        g_out = [vi(o if o in x_names else ex(outs[o], o), tdt, ["B", size[o]]) for o in graph.outputs]
        g_out += [vi(ex(em.state_out[(sl.node, sl.var)], f"{sl.value}.next"), sl.dtype, sl.shape) for sl in slots]
        for n, c in counts.items():
            nodes.append(helper.make_node("Cast", [c], [f"{n}.nonzero"], name=f"{n}/nonzero", to=TensorProto.INT64))
            g_out.append(vi(f"{n}.nonzero", TensorProto.INT64, ["B"]))
        g_in = [vi(n, tdt, ["B", size[n]]) for n in x_names] + state_in
        g = helper.make_graph(nodes, "snnc_step", g_in, g_out)
    else:
        body_in = [vi("t", TensorProto.INT64, []), vi("cond", TensorProto.BOOL, [])] + state_in
        ex = _Exporter(em, nodes, {"t", "cond"} | {sl.value for sl in slots})
        body_out = [vi(ex(cond or "cond", "cond_out"), TensorProto.BOOL, [])]
        body_out += [vi(ex(em.state_out[(sl.node, sl.var)], f"{sl.value}.next"), sl.dtype, sl.shape) for sl in slots]
        body_out += [vi(ex(outs[o], f"{o}.out_t"), tdt, ["B", size[o]]) for o in _scanned(graph, exit_node)]
        body_out += [vi(ex(c, f"{n}.nonzero_t"), tdt, ["B"]) for n, c in counts.items()]
        body = helper.make_graph(nodes, "snnc_step", body_in, body_out)
        outer, loop_vi, g_out = _outer_loop(graph, em, slots, counts, body, x_names, exit_node)
        g_in = [vi(n, tdt, ["T", "B", size[n]]) for n in x_names]
        em.ops_used.setdefault("Loop", "")
        g = helper.make_graph(outer, "snnc_loop", g_in, g_out, value_info=loop_vi)
    check_opset(em.ops_used, opset)
    g.initializer.extend(numpy_helper.from_array(a, k) for k, a in em.inits.items())
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(g, opset_imports=opsets, producer_name="snnc", producer_version="0.1.0",
                              ir_version=helper.find_min_ir_version_for(opsets),
                              doc_string=_doc(graph, mode, slots, str(dtype), exit_node))
    meta = {
        "snnc.format": FORMAT_VERSION, "snnc.mode": mode, "snnc.dtype": str(dtype),
        "snnc.inputs": json.dumps({n: size[n] for n in x_names}),
        "snnc.noise": json.dumps(noise_inputs(graph)),
        "snnc.outputs": json.dumps({n: size[n] for n in graph.outputs}),
        "snnc.nodes": json.dumps({n: [type(v).__name__, v.out_kind, v.size] for n, v in graph.nodes.items()}),
        "snnc.counted": json.dumps(list(counts)),
        "snnc.exit": exit_node or "",
        "snnc.states": json.dumps([{"input": sl.value, "output": f"{sl.value}.next", "node": sl.node, "var": sl.var,
                                    "shape": list(sl.shape), "dtype": str(sl.dtype),
                                    "init": sl.init.flat[0].item() if sl.init.size and np.all(sl.init == sl.init.flat[0])
                                    else sl.init.tolist()} for sl in slots]),
    }
    helper.set_model_props(model, meta)
    return model


def _state_outputs(graph: Graph, em: Emitter, outs: dict[str, str], slots: list[Slot]) -> None:
    """A state output `node.v` is the state's value after the step (cast to the model dtype when it is an integer)."""
    from onnx import helper

    for o in graph.outputs:
        node, var = graph.output_ref(o)
        if var is None:
            continue
        em.cur = node
        val = em.state_out[(node, var)]
        sl = next(sl for sl in slots if (sl.node, sl.var) == (node, var))
        if sl.dtype != em.dtype:
            val = em.op("Cast", [val], f"{o}.cast", to=helper.np_dtype_to_tensor_dtype(em.dtype))
        outs[o] = val


def _scanned(graph: Graph, exit_node: str | None) -> list[str]:
    """Outputs the Loop emits per step; without early exit an Input node output is the graph input itself."""
    return [o for o in graph.outputs if exit_node or o not in graph.inputs]


def _outer_loop(graph: Graph, em: Emitter, slots: list[Slot], counts: dict, body, x_names: list[str],
                exit_node: str | None) -> tuple[list, list, list]:
    """The outer graph: T and B from the first input, initial states, the Loop, int64 counts.

    Returns (nodes, value_info of the Loop's outputs, graph outputs).
    """
    from onnx import TensorProto, helper as h

    tdt = h.np_dtype_to_tensor_dtype(em.dtype)
    x0 = x_names[0]
    for k, v in {"seq.zero_index": np.array(0, np.int64), "seq.slice_1": np.array([1], np.int64),
                 "seq.slice_2": np.array([2], np.int64), "seq.cond_true": np.array(True)}.items():
        em.inits[k] = v
    nodes = [h.make_node("Shape", [x0], ["seq.shape"], name="seq/shape"),
             h.make_node("Gather", ["seq.shape", "seq.zero_index"], ["seq.T"], name="seq/T", axis=0),
             h.make_node("Slice", ["seq.shape", "seq.slice_1", "seq.slice_2"], ["seq.B"], name="seq/B")]
    em.ops_used.update({op: em.ops_used.get(op, "") for op in ("Shape", "Gather", "Slice", "Concat", "Expand", "Cast")})
    state_inits = []
    for sl in slots:
        em.inits[f"{sl.value}.initial"] = sl.init
        if not sl.shape:  # a scalar: the initializer itself
            state_inits.append(f"{sl.value}.initial")
            continue
        shape = "seq.B" if len(sl.shape) == 1 else f"seq.shape_B_{sl.shape[1]}"
        if len(sl.shape) == 2 and f"seq.n_{sl.shape[1]}" not in em.inits:
            em.inits[f"seq.n_{sl.shape[1]}"] = np.array([sl.shape[1]], np.int64)
            nodes.append(h.make_node("Concat", ["seq.B", f"seq.n_{sl.shape[1]}"], [shape], name=f"seq/shape_B_{sl.shape[1]}", axis=0))
        nodes.append(h.make_node("Expand", [f"{sl.value}.initial", shape], [f"{sl.value}.init"], name=f"{sl.value}/init"))
        state_inits.append(f"{sl.value}.init")
    finals = [f"{sl.value}.final" for sl in slots]
    scan = "" if exit_node is None else ".scan"  # with early exit the scans are padded to T afterwards
    scanned = _scanned(graph, exit_node)
    scans = [f"{o}{scan}" for o in scanned] + [f"{n}.nonzero_f{scan}" for n in counts]
    if finals or scans:  # (a graph that only passes its inputs through needs no loop)
        nodes.append(h.make_node("Loop", ["seq.T", "seq.cond_true"] + state_inits, finals + scans, name="time_loop", body=body))
    # ONNX's Loop shape inference leaves the carried finals shapeless: declare them
    loop_vi = [h.make_tensor_value_info(f, h.np_dtype_to_tensor_dtype(sl.dtype), list(sl.shape)) for f, sl in zip(finals, slots)]
    loop_vi += [h.make_tensor_value_info(s, tdt, ["T" if not scan else None, "B"]) for s in scans[len(scanned):]]
    size = {o: graph.output_size(o) for o in graph.outputs}
    g_out = [h.make_tensor_value_info(o, tdt, ["T", "B", size[o]]) for o in graph.outputs]
    g_out += [h.make_tensor_value_info(f"{n}.nonzero", TensorProto.INT64, ["T", "B"]) for n in counts]
    if exit_node is not None:
        nodes += finish_loop(em, graph, slots, counts, exit_node)
        g_out += [h.make_tensor_value_info(f"{exit_node}{suffix}", TensorProto.INT64, ["B"]) for suffix in (DECISION, TIME)]
    for n in counts:
        nodes.append(h.make_node("Cast", [f"{n}.nonzero_f"], [f"{n}.nonzero"], name=f"{n}/nonzero", to=TensorProto.INT64))
    return nodes, loop_vi, g_out
