"""Lowering IR -> one generated numba kernel that runs the whole sequence (DESIGN §5, `cpu`).

Every node's `step` (the single primitive definition) runs once on symbolic
values (backends/cpu/symbolic.py); the recorded DAG of all nodes becomes the body
of one time step (backends/cpu/emit.py), inside `for b in prange(B): for t in
range(T)`: each sample runs its whole sequence in its own thread with its
states, delay rings and scratch in cache. Inputs of spike kind are passed dense
or as spike-index lists (AER); activity is counted in the loop.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snnc.backends.cpu.emit import Buffers, Emitter, EventSource, Sink, module_source
from snnc.backends.cpu.fxtrace import traced
from snnc.backends.cpu import stages
from snnc.backends.cpu.stages import cuts, hoist
from snnc.backends.cpu.symbolic import Mat, Sym, SymOps, Tracer, Unsupported, params_namespace
from snnc.compiler import fixedpoint
from snnc.compiler.errors import LoweringError, SnncError
from snnc.compiler.ir import SPIKE, Graph
from snnc.compiler.verify import verify

BACKEND = "cpu"
KERNEL_VERSION = 10  # part of the source hash: bump when the generated code's conventions change


@dataclass
class CpuProgram:
    """A Graph lowered for the compiled backend: generated source and the layout of its flat arrays."""

    graph: Graph
    dtype: np.dtype
    source: str
    bufs: Buffers
    inputs: list[tuple[str, int, str]]  # (name, size, "dense" | "aer") in kernel argument order
    outputs: dict[str, tuple[int, int]]  # graph output -> (offset in OUT, size)
    records: dict[str, dict[str, tuple[int, int]]]  # node -> {"out" | state: (offset in OUT, size)}
    nz: list[str]  # node names by NZ column
    integer: dict[str, bool]  # node -> integer (fixed-point) states and output
    exit: Any = None  # (node name, offset of its output in OUT, size, theta) with an EarlyExit node
    meta: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()[:20]


def lower(graph: Graph, dtype: str | np.dtype = "float64", aer: set[str] | frozenset = frozenset(),
          record: list[str] | set[str] = (), staged: bool = False) -> CpuProgram:
    """Verify `graph` and generate the kernel source; `aer` names spike inputs given as index lists.

    `staged`: the node-major kernel (backends/cpu/stages.py), one loop per stage over each block of steps, for
    whole sequences from the initial state; its parameters, states and rings are laid out as in the stepwise kernel.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise SnncError(f"cpu backend: dtype must be float32 or float64, got {dtype}")
    verify(graph)
    tr = Tracer(dtype)
    bufs = Buffers()
    ops = SymOps(tr, traced(fixedpoint, tr, lambda a: ("PI", bufs.alloc("PI", a.size, a))))
    tr.constant = lambda a: tr.leaf(f"PF[{bufs.alloc('PF', a.size, a)} + {{j}}]", a.size, "f", const=a)
    rings: dict[str, tuple[str, int, int, int | None]] = {}  # node -> (buffer, value offset, H, index offset)
    order = graph.schedule()
    H = {n: graph.max_delay(n) + 1 for n in order}
    integer = {n: bool(getattr(graph.nodes[n], "integer", False)) for n in order}
    inputs = [(n, graph.nodes[n].size, "aer" if n in aer else "dense") for n in graph.inputs]
    for n in aer:
        if n not in graph.inputs or graph.nodes[n].out_kind != SPIKE:
            raise SnncError(f"cpu backend: AER input '{n}' is not a spike input of the graph")
    in_index = {n: k for k, (n, _, _) in enumerate(inputs)}
    safe = {n: f"n{i}" for i, n in enumerate(order)}  # node names as identifiers
    groups = cuts(graph, order) if staged else [order]
    if groups is None:
        raise SnncError("cpu backend: the graph has no stage cut (its nodes share one loop over T)")
    stage_of = {n: k for k, names in enumerate(groups) for n in names}
    ring_pre: dict[str, str] = {}
    for name in order:  # every node with delayed consumers keeps a ring of its last H outputs
        if H[name] > 1:
            node = graph.nodes[name]
            buf = "RI" if integer[name] else "RF"
            ioff = bufs.alloc("RI", H[name] * (node.size + 1)) if node.out_kind == SPIKE else None
            rings[name] = (buf, bufs.alloc(buf, H[name] * node.size), H[name], ioff)
            ring_pre[name] = f"sw_{safe[name]} = tt % {H[name]}"
    # a node read by a later stage leaves its output sequence in its own [T, n] buffer SQk (SQIk for fixed point),
    # one row per step: contiguous, so a whole-sequence product reads it in place
    later = sorted({e.src for e in graph.edges if e.src in stage_of and e.dst in stage_of
                    and stage_of[e.src] < stage_of[e.dst] and e.src not in graph.inputs}, key=order.index)
    seq = {n: bufs.sequence(integer[n], graph.nodes[n].size) for n in later}
    nz_cols: list[str] = []
    outputs: dict[str, tuple[int, int]] = {}
    records: dict[str, dict[str, tuple[int, int]]] = {}
    exit_info = None
    record = set(record) | {n for n in order if type(graph.nodes[n]).__name__ == "EarlyExit"}
    bodies = []
    hoisted: list[str] = []  # node-major: the matmuls over an input or an earlier stage, by their node
    finite: list[int] = []  # the dense inputs whose values the kernel tests for NaN and inf (in FIN)
    for members in groups:
        first = len(tr.values)
        sinks: list[Sink] = []
        prelude: list[str] = [ring_pre[n] for n in members if n in ring_pre]
        cur: dict[str, Sym] = {}
        slot_vars: dict[tuple[str, int], str] = {}
        ring_leaves: dict[str, list[Sym]] = {}

        def delayed(src: str, d: int) -> Sym:
            buf, off, h, ioff = rings[src]
            var = slot_vars.setdefault((src, d), f"sl{len(slot_vars)}")
            if f"{var} = (" not in "\n".join(prelude):
                prelude.append(f"{var} = (tt - {d}) % {h}")
            n = graph.nodes[src].size
            leaf = tr.leaf(f"{buf}[b, {off} + {var} * {n} + {{j}}]", n, "i" if integer[src] else "f")
            ring_leaves.setdefault(src, []).append(leaf)
            if ioff is not None:
                leaf.meta["events"] = [EventSource(count=f"RI[b, {ioff} + {var}]",
                                                   index=f"RI[b, {ioff} + {h} + {var} * {n} + {{q}}]")]
            return leaf

        def value(src: str) -> Sym:
            """The output of `src` this step: traced in this stage, else read back from an earlier one."""
            if src not in cur:
                if src in graph.inputs:
                    k = in_index[src]
                    cur[src] = _input(tr, bufs, graph.nodes[src], k, inputs[k][2])
                    if inputs[k][2] == "dense":  # NaN or inf: the runtime raises after the call
                        sinks.append(Sink(cur[src], "finite", f"nf{k}"))
                        finite.append(k)
                else:
                    buf, n = seq[src], graph.nodes[src].size
                    leaf = tr.leaf(f"{buf}[t, {{j}}]", n, "i" if integer[src] else "f", seq=buf, row=f"{buf}[t - s0]",
                                   nz=order.index(src))
                    cur[src] = _vector(tr, leaf, n)
                    if graph.nodes[src].out_kind == SPIKE:
                        cur[src].meta["events"] = [EventSource(local=cur[src])]
            return cur[src]

        states: dict[str, dict[str, tuple[Sym, Sym]]] = {}
        for name in members:
            node = graph.nodes[name]
            prim = type(node).__name__
            n = node.size
            tr.owner = name
            if prim == "Input":
                out = value(name)
            else:
                if getattr(type(node), "step", None) is None:
                    raise LoweringError(name, prim, BACKEND, "no step definition")
                try:
                    out, states[name] = _trace_node(tr, ops, bufs, graph, name, node, value, delayed, sinks,
                                                    integer[name])
                except Unsupported as e:
                    raise LoweringError(name, prim, BACKEND, f"cannot compile its step ({e})") from None
                if node.out_kind == SPIKE:  # consumers' matmuls read the index list built with the spikes
                    out.meta["events"] = [EventSource(local=out)]
                cur[name] = out
                if prim == "EarlyExit":
                    exit_info = (name, float(np.max(node.theta)))
            # activity: nonzero outputs per step (= spikes for spiking nodes)
            if out.meta.get("aer"):
                k = out.meta["aer"][0]
                prelude.append(f"NZ[t, b, {len(nz_cols)}] = XP{k}[t * B + b + 1] - XP{k}[t * B + b]")
            else:
                sinks.append(Sink(out, "count", f"NZ[t, b, {len(nz_cols)}]"))
            nz_cols.append(name)
            if name in seq:
                sinks.append(Sink(out, "store", f"{seq[name]}[t, {{j}}] = {{v}}"))
            if name in graph.outputs or name in record:
                off = bufs.alloc("OUT", n)
                sinks.append(Sink(out, "store", f"OUT[t, b, {off} + {{j}}] = {{v}}"))
                if name in graph.outputs:
                    outputs[name] = (off, n)
                records.setdefault(name, {})["out"] = (off, n)
                if exit_info and exit_info[0] == name:
                    exit_info = (name, off, n, exit_info[1])
        values = tr.values[first:]
        values_read, event_read = _reads(values)
        for name in (m for m in members if m in rings):  # delayed consumers read values, index lists or both
            buf, off, h, ioff = rings[name]
            leaves, n, sw = ring_leaves.get(name, []), graph.nodes[name].size, f"sw_{safe[name]}"
            if any(lf.id in values_read for lf in leaves):
                sinks.append(Sink(cur[name], "store", f"{buf}[b, {off} + {sw} * {n} + {{j}}] = {{v}}"))
            if ioff is not None and any(lf.id in event_read for lf in leaves):
                sinks.append(Sink(cur[name], "events", f"RI[b, {ioff} + {h} + {sw} * {n} + {{c}}] = j",
                                  after=f"RI[b, {ioff} + {sw}] = {{c}}", name=f"cr_{safe[name]}"))
        # a node whose spikes also go to a delay ring: this step's readers use the list just written to the ring
        ring_lists = {cur[name].id: (name, rings[name][3], rings[name][2]) for name in members if name in rings
                      and any(s.kind == "events" and s.after and s.value is cur[name] for s in sinks)}
        for v in values:  # index lists for the matmuls that read spikes of this very step
            for ev in (v.args[0].meta.get("events") or []) if v.op == "matmul" else []:
                if ev.local is not None and ev.local.id in ring_lists and ev.value is None:
                    name, ioff, h = ring_lists[ev.local.id]
                    n, sw = graph.nodes[name].size, f"sw_{safe[name]}"
                    ev.local, ev.count, ev.index = None, f"cr_{safe[name]}", f"RI[b, {ioff} + {h} + {sw} * {n} + {{q}}]"
                    continue
                if ev.local is not None and not any(s.kind == "events" and s.value is ev.local and not s.after
                                                    for s in sinks):
                    src = ev.local
                    off = bufs.alloc("IX", src.n)
                    sinks.append(Sink(src, "events", f"IX[{off} + {{c}}] = j", name=f"c{src.id}"))
        for name in (m for m in members if m in record):
            for var, (leaf, new) in states.get(name, {}).items():
                off = bufs.alloc("OUT", leaf.n)
                records[name][var] = (off, leaf.n)
                sinks.append(Sink(new, "store", f"OUT[t, b, {off} + {{j}}] = {{v}}", state=leaf))
        for o in graph.outputs:  # a state as a graph output (`node.v`): its value after each step
            node_name, var = graph.output_ref(o)
            if var is None or node_name not in members:
                continue
            if var not in states.get(node_name, {}):
                raise LoweringError(node_name, type(graph.nodes[node_name]).__name__, BACKEND,
                                    f"graph output '{o}': state '{var}' is not carried by the compiled step")
            leaf, new = states[node_name][var]
            off = bufs.alloc("OUT", leaf.n)
            outputs[o] = (off, leaf.n)
            sinks.append(Sink(new, "store", f"OUT[t, b, {off} + {{j}}] = {{v}}", state=leaf))
        aer_pre = []
        for v in cur.values():
            if v.meta.get("aer") and v.id in values_read:  # values read: scatter the spike list into a dense row
                k_, off_, n_ = v.meta["aer"]
                aer_pre += [f"for j in range({n_}):", f"    MF[{off_} + j] = DT(0)",
                            f"for q in range(XP{k_}[t * B + b], XP{k_}[t * B + b + 1]):",
                            f"    MF[{off_} + XI{k_}[q]] = DT(1)"]
        whole = hoist(values, sinks, hoisted, bufs) if staged else None
        pre = []
        if whole is not None:  # the stage reading one product over the whole sequence instead of its matmul
            pre, values, sinks = whole
        bodies.append((pre, aer_pre + Emitter(values, sinks, bufs, prelude).lines()))
    block = stages.BLOCK if staged else 0
    finite = sorted(set(finite))  # node-major: an input read by two stages is tested in both
    source = module_source(dtype, inputs, bufs, bodies, exit_info, block, KERNEL_VERSION, finite,
                           [n for _, n, _ in inputs])
    event_driven = sorted({v.owner for v in tr.values if v.op == "matmul" and v.args[0].meta.get("events")})
    return CpuProgram(graph, dtype, source, bufs, inputs, outputs, records, nz_cols, integer,
                      exit_info, {"kernel_version": KERNEL_VERSION, "event_driven": event_driven,
                                  "stages": [list(g) for g in groups],
                                  "finite": [inputs[k][0] for k in finite],
                                  **({"hoisted": hoisted, "block": block} if staged else {})})


def _input(tr: Tracer, bufs: Buffers, node, k: int, mode: str) -> Sym:
    """Graph input k this step: its dense row, or (AER) its index list and a dense row if something reads values."""
    n = node.size
    if mode == "aer":  # matmuls read the index list itself
        off = bufs.alloc("MF", n)
        out = tr.leaf(f"MF[{off} + {{j}}]", n, "f")
        out.meta["events"] = [EventSource(count=f"(XP{k}[t * B + b + 1] - XP{k}[t * B + b])",
                                          index=f"XI{k}[XP{k}[t * B + b] + {{q}}]")]
        out.meta["aer"] = (k, off, n)
        return out
    out = tr.ew("+", tr.leaf(f"X{k}[t, b, {{j}}]", n, "f", seq=f"X{k}[:, b]", row=f"X{k}[t, b]"), 0.0)
    out.code = "{0}"  # identity: the input row becomes a loop (activity count, index list)
    if node.out_kind == SPIKE:
        out.meta["events"] = [EventSource(local=out, value=f"X{k}[t, b, {{j}}]")]
    return out


def _reads(values: list[Sym]) -> tuple[set[int], set[int]]:
    """Ids of values read as values, and of values whose index lists a matmul reads instead."""
    vals, evs = set(), set()
    for v in values:
        if v.op == "matmul" and v.args[0].meta.get("events"):
            evs.add(v.args[0].id)
            stack = [v.args[0]]
            while stack:  # a sum or a cast of spike trains: the index lists of its terms
                a = stack.pop()
                evs.add(a.id)
                stack += [b for b in a.args if b.meta.get("events")]
        else:
            vals.update(a.id for a in v.args)
    return vals, evs


def _trace_node(tr: Tracer, ops: SymOps, bufs: Buffers, graph: Graph, name: str, node, value,
                delayed, sinks: list[Sink], integer: bool) -> tuple[Sym, dict[str, tuple[Sym, Sym]]]:
    """Run node.step on symbolic values; add its state writes to `sinks`; return its output and {state: (old, new)}."""
    def bind(k: str, a: np.ndarray):
        if a.ndim == 0:
            return tr.lit(a.item())
        if a.ndim == 1:
            buf = "PF" if a.dtype.kind == "f" else "PI"
            data = a.astype(tr.dtype if buf == "PF" else np.int64)
            if buf == "PF":
                return tr.constant(data)
            return tr.leaf(f"PI[{bufs.alloc(buf, a.size, data)} + {{j}}]", a.size, "i")
        if a.ndim == 2:
            def store(rows: np.ndarray) -> tuple[str, int]:
                buf = "PF" if rows.dtype.kind == "f" else "PI"
                data = rows.reshape(-1).astype(tr.dtype if buf == "PF" else np.int64)
                return buf, bufs.alloc(buf, data.size, data)
            return Mat(k, a, store)
        raise Unsupported(f"parameter '{k}' of rank {a.ndim}")

    fields = node.params()
    prep = getattr(node, "prepare", None)
    if prep is not None:
        fields.update(prep())
    p = params_namespace(tr, fields, bind)
    x = {}
    for port in node.ports:
        terms = []
        for e in graph.in_edges(name, port):
            terms.append(value(e.src) if e.delay == 0 else delayed(e.src, e.delay))
        if not terms:
            x[port] = tr.lit(0)
            continue
        acc = terms[0]
        for t in terms[1:]:
            acc = tr.ew("+", acc, t)
        evs = [t.meta.get("events") for t in terms]
        if len(terms) > 1:
            acc.meta["events"] = sum(evs, []) if all(evs) else None
        x[port] = acc
    s = {}
    buf = "SI" if integer else "SF"
    init = node.initial_state()
    for var, v0 in init.items():
        data = np.asarray(v0).astype(np.int64 if integer else tr.dtype)
        s[var] = tr.leaf(f"{buf}[b, {bufs.alloc(buf, data.size, data)} + {{j}}]", data.size, "i" if integer else "f",
                         state=(name, var))
    out, new = node.step(ops, p, s, x)
    out = _vector(tr, out, node.size)
    if integer:
        out = tr.cast(out, "i")
    written = {}
    for var, leaf in s.items():
        v = new.get(var, leaf) if isinstance(new, dict) else leaf
        if v is leaf:
            continue
        v = _vector(tr, tr.cast(v, "i" if integer else "f"), leaf.n)
        sinks.append(Sink(v, "store", leaf.code + " = {v}", state=leaf))
        written[var] = (leaf, v)
    return out, written


def _vector(tr: Tracer, v: Any, n: int) -> Sym:
    """v as a value computed in a loop of length n (leaves, matmul results and scalars get an identity op)."""
    v = tr.wrap(v)
    if v.op == "ew" and v.n == n:
        return v
    if v.n not in (0, n):
        raise Unsupported(f"step returned a value of {v.n} features for a population of {n}")
    ev = v.meta.get("events")
    w = Sym(tr, "ew", (v,), n=n, kind=v.kind, code="{0}")
    if ev:
        w.meta["events"] = ev
    return w
