"""The NumPy runtime's whole-sequence loop without bookkeeping: the same kernels, less Python.

The graph is cut into stages (`stages`): every recurrence (a strongly connected
set of nodes) is stepped over T on its own, and each node outside every cycle
runs for all T at once as soon as the sequences it reads are complete: a Dense
is one product over [T·B, in], a neuron with linear states (LI, SPSN, CubaLIF's
current) solved by runtime/numpy/parallel.py when T is long and one step narrow. Each stepped stage runs
one generated function (runtime/numpy/steploop.py): its nodes' steps traced once into straight-line code
(backends/numpy/lower.py trace_step) and inlined, inputs read from and outputs written into preallocated
[T, B, n] buffers. In float32 a product over a mostly-zero x (the
input spikes, a hidden layer's spikes, whole-sequence or per step) runs event-driven
(NumpyOps sparse=True); float64 keeps BLAS's sums, identical to step()'s. Activity is
counted from the buffers when first read (compiler/activity.py LazyCounts). The large buffers are kept for
the next run of the same shapes (runtime/numpy/pool.py): outputs are returned as copies, and a previous
run's pending counts are taken before its buffers are overwritten.
"""
from __future__ import annotations

import gc
import weakref
from functools import partial

import numpy as np

from snnc.compiler.activity import Activity, LazyCounts
from snnc.compiler.ir import SPIKE
from snnc.compiler.primitives.ops import SPARSE_ROWS, SPARSE_WORK, row_key
from snnc.runtime.numpy import parallel


def components(g) -> list[tuple[list[str], bool]]:
    """The non-input nodes' strongly connected sets in an order that respects every edge's direction, each
    as (members in schedule order, whether it is a cycle: more than one member or a self-edge)."""
    import networkx as nx
    order = [n for n in g.schedule() if n not in g.inputs]
    pos = {n: k for k, n in enumerate(order)}
    dg = nx.DiGraph()
    dg.add_nodes_from(order)
    dg.add_edges_from((e.src, e.dst) for e in g.edges if e.src in pos and e.dst in pos)
    cond = nx.condensation(dg)
    # topological order of the cycles, ties by schedule position so the step loop keeps its order
    comps = nx.lexicographical_topological_sort(cond, key=lambda c: min(pos[n] for n in cond.nodes[c]["members"]))
    out = []
    for c in comps:
        members = sorted(cond.nodes[c]["members"], key=pos.get)
        out.append((members, len(members) > 1 or dg.has_edge(members[0], members[0])))
    return out


def stages(g, parallel_time: bool | None, T: int = 0, B: int = 1, comps=None) -> list[tuple[bool, list[str]]]:
    """The non-input nodes as [(whole_sequence, nodes)] in an order that respects every edge's direction.

    Each strongly connected set of nodes (a recurrence through delayed edges) is one stage stepped over T;
    a node outside every cycle whose source sequences are complete is computed for all T at once when it is
    stateless (a Dense: one product), or has linear states and `parallel_time` is True, or (None, the default)
    is linear and parallel.worthwhile at this T and batch B. `comps`: components(g), when already known.
    """
    def linear_whole(node) -> bool:  # the linear-node choice (runtime/numpy/parallel.py)
        if parallel_time is None:
            return parallel.worthwhile(node, T, B)
        return bool(parallel_time) and (parallel.linear(node) or parallel.partial(node))
    out: list[tuple[bool, list[str]]] = []
    for members, cycle in components(g) if comps is None else comps:
        node = g.nodes[members[0]]
        whole = (not cycle and type(node).__name__ != "EarlyExit"
                 and (not node.states or linear_whole(node)))
        if not whole and out and not out[-1][0]:
            out[-1][1].extend(members)  # consecutive stepped stages share one loop over T
        else:
            out.append((whole, list(members)))
    return out


def run(rt, xs: dict[str, np.ndarray], parallel_time: bool | None = None,
        listed: tuple = ()) -> tuple[dict[str, np.ndarray], Activity]:
    """Run xs [T, B, F] from the initial state on NumpyRuntime `rt` (no early exit, nothing recorded).

    The inputs in `listed` were not tested by check_inputs (its `listed`): they are tested here, in the
    listing of their nonzeros that their Dense's event-driven product reads (or by check_inputs).
    """
    prog, g = rt.program, rt.program.graph
    T, B = next(iter(xs.values())).shape[:2]
    ops, _ = _fast_ops(rt)
    if rt._components is None:  # (the graph's cycles, found once per runtime)
        rt._components = components(g)
    plan_stages = stages(g, parallel_time, T, B, rt._components)
    listed = [n for n in listed if not _tested_in_listing(g, n, xs[n].reshape(T * B, -1), ops, plan_stages)]
    if listed:
        from snnc.runtime.inputs import check_inputs
        check_inputs({n: prog.input_sizes[n] for n in listed}, {n: xs[n] for n in listed}, prog.dtype, "input",
                     *rt._kinds())
    rt.reset(B)
    pending = rt._pending()
    if pending is not None:
        pending.settle()  # the last run's uncounted activity reads arrays this run reuses: counted now
    pool = rt._pool
    reused = pool.reused
    plans = prog.plans
    index = {p.name: k for k, p in enumerate(plans)}
    whole = [n for w, names in plan_stages if w for n in names]
    rt.last_path = {"loop": "fast", "parallel": whole, "stepwise": [n for w, names in plan_stages if not w
                                                                    for n in names],
                    "inlined": [], "tiled": [], "node_loops": []}  # (runtime/numpy/steploop.py)
    seqs: dict[str, np.ndarray] = dict(xs)
    # outputs of every node [T, B, n], written in place step by step (whole-sequence nodes: their result)
    bufs: list = [seqs.get(p.name) for p in plans]
    ops.binary = {row_key(xs[n].reshape(T * B, -1)) for n in prog.inputs if g.nodes[n].out_kind == SPIKE}
    start, sparse = ops.sparse_calls, []  # whole-sequence nodes whose product ran event-driven
    if ops.sparse:  # float32 only: float64 keeps BLAS's sums
        rt.last_path["sparse"] = sparse
        # and the inputs tested in the listing of their nonzeros, not by check_inputs
        rt.last_path["listed"] = [n for n in xs if row_key(xs[n].reshape(T * B, -1)) in ops.listings]
    collect = gc.isenabled()
    gc.disable()  # the loop makes no cycles, but its per-step dicts trigger full collections of the whole process
    try:
        _stages(rt, plan_stages, seqs, bufs, ops, sparse, T, B, pool)
    finally:
        if collect:
            gc.enable()
    if ops.sparse:  # and how many products in all (whole-sequence and per step) ran event-driven
        rt.last_path["sparse_calls"] = ops.sparse_calls - start
    rt.last_path["reused"] = pool.reused - reused  # arrays this run took from the last one (runtime/numpy/pool.py)
    rt.t = T
    rt.steps_run[:] = T
    # the outputs: copies of arrays the next run reuses, so a result never changes after it was returned
    outs = {o: (np.array if pool.holds(bufs[index[o]]) else np.ascontiguousarray)(bufs[index[o]], dtype=prog.dtype)
            for o in prog.outputs}
    act = Activity(T, B, steps=rt.steps_run.copy())
    act.nonzero = _counts(prog, bufs, ops, T, B, [xs[n] for n in prog.inputs] + list(outs.values()))
    rt._pending = weakref.ref(act.nonzero)
    ops.row_counts, ops.listings = {}, {}  # (they hold this run's sequences, the caller's input among them)
    for k, p in enumerate(plans):
        act.kinds[p.name] = p.node.out_kind
        act.sizes[p.name] = p.node.size
        if p.name in rt._held:
            rt._held[p.name] = np.array(bufs[k][-1], dtype=prog.dtype)
    for n, h in rt.hist.items():  # delay rings as the step loop leaves them, so step() can continue
        for d in range(h.shape[0]):
            if T - 1 - d >= 0:
                h[(T - 1 - d) % h.shape[0]] = bufs[index[n]][T - 1 - d]
    return outs, act


def _tested_in_listing(g, name: str, x: np.ndarray, ops, plan_stages) -> bool:
    """Whether input `name` (x: [T·B, F]) holds what its kind allows (0/1 for spikes, finite values), found
    while listing its nonzeros for the event-driven product of a whole-sequence Dense reading it alone;
    False when it does not, or when no such product will list it (check_inputs tests it then)."""
    from snnc.compiler.primitives.ops import _csr_matvecs
    whole = {n for w, names in plan_stages if w for n in names}
    if not ops.sparse or _csr_matvecs() is None or x.dtype != ops.dtype or not x.flags.c_contiguous:
        return False
    for e in g.out_edges(name):
        node = g.nodes[e.dst]
        if (e.dst in whole and type(node).__name__ == "Dense" and e.delay == 0 and len(g.in_edges(e.dst)) == 1
                and x.shape[0] >= SPARSE_ROWS
                and x.shape[0] * x.shape[1] * node.size >= SPARSE_WORK):
            return bool(ops.listing(x, node.size, check=g.nodes[name].kind))
    return False


def _stages(rt, plan_stages, seqs: dict, bufs: list, ops, sparse: list, T: int, B: int, pool) -> None:
    """Every stage in order: whole-sequence nodes by parallel.run, recurrences by the step loop."""
    prog, g = rt.program, rt.program.graph
    plans = prog.plans
    index = {p.name: k for k, p in enumerate(plans)}
    for is_whole, names in plan_stages:
        if is_whole:
            done = ops.sparse_calls
            loops = rt._fast[2]
            loops["ran"] = []
            outs, states = parallel.run(g, names, seqs, prog.dtype, ops, {n: plans[index[n]].params for n in names},
                                        pool, loops)
            rt.last_path["node_loops"] += loops.pop("ran")  # rests stepped by generated loops
            if ops.sparse_calls > done:
                sparse.extend(names)
            for n, v in outs.items():
                seqs[n] = bufs[index[n]] = v
            for n, st in states.items():  # the final state, as the step loop would leave it
                for k, v in st.items():
                    rt.state[n][k][...] = v[-1]
            continue
        for n in names:
            k, p = index[n], plans[index[n]]
            bufs[k] = seqs[n] = pool.empty((n, "out"), (T, B, p.node.size),
                                           np.int64 if p.node.integer else prog.dtype)
        _steps(rt, names, bufs, T, B)


def _fast_ops(rt) -> tuple:
    """The ops of this loop and every node's kernel on them (what a step loop calls for a step it cannot
    inline), made once per runtime.

    float32 runs take event-driven products where x is sparse enough (NumpyOps sparse=True);
    float64 keeps BLAS's dense sums, identical to step()'s.
    """
    from snnc.compiler.primitives.ops import NumpyOps
    prog = rt.program
    if rt._fast is None:
        ops = NumpyOps(prog.dtype, sparse=prog.dtype == np.float32)
        rt._fast = ops, [_bound(p, ops) for p in prog.plans], {}  # (the third: each stage's generated step loop)
    ops = rt._fast[0]
    ops.row_counts, ops.listings = {}, {}  # (they keep this run's sequences alive)
    return rt._fast[:2]


def _bound(p, ops):
    """The node's step on this loop's ops (the program's own kernel when they are the same vocabulary)."""
    from snnc.backends.numpy.lower import step_kernel
    return step_kernel(p.name, p.node, ops) if ops.sparse else p.kernel


def _counts(prog, bufs: list, ops, T: int, B: int, visible: list) -> LazyCounts:
    """Every node's nonzero counts [T, B]: counted on first access from buffers only this run holds.

    What the caller can still change (the `visible` arrays: the inputs and the returned outputs, and any
    buffer sharing memory with them) is counted now, unless a sparse product already counted that sequence.
    """
    counts = LazyCounts()
    for k, p in enumerate(prog.plans):
        a = bufs[k]
        known = ops.row_counts.get(row_key(a.reshape(T * B, -1))) if a.flags.c_contiguous else None
        if known is not None:
            counts[p.name] = known[1].reshape(T, B).astype(np.int64)
        elif any(np.may_share_memory(a, v) for v in visible):
            counts[p.name] = nonzero_counts(a)
        else:
            counts.defer(p.name, partial(nonzero_counts, a))
    return counts


def _steps(rt, names: list[str], bufs: list, T: int, B: int) -> None:
    """The step loop of one stage over T (runtime/numpy/steploop.py), generated on its first run."""
    from snnc.backends.numpy.lower import trace_step
    from snnc.runtime.numpy import steploop
    prog = rt.program
    ops, kernels, loops = rt._fast
    index = {p.name: k for k, p in enumerate(prog.plans)}
    key = tuple(names), B
    if key not in loops:
        entries = []
        for n in names:
            k, p = index[n], prog.plans[index[n]]
            ports = tuple((port, p.node.in_size(port), tuple((index[s], d) for s, d in srcs))
                          for port, srcs in p.inputs.items())
            tr = trace_step(p.node, ops, p.params, list(p.inputs), prefix=f"n{k}_")
            entries.append((k, kernels[k], p.params, ports, tr, p.node.size if p.node.elementwise else None))
        loops[key] = steploop.build(entries, B, ", ".join(names))
    fn = loops[key]
    rt.last_path["inlined"] += [names[j] for j in fn.inlined]  # steps traced into the loop (others: kernel calls)
    rt.last_path["tiled"] += [names[j] for j in fn.tiled]
    fn(T, B, bufs, [rt.state[n] for n in names], prog.dtype)


def nonzero_counts(a: np.ndarray) -> np.ndarray:
    """Nonzero entries along the last axis as int64: summing the 0/1 bytes is about 2x count_nonzero(axis=)."""
    acc = np.int16 if a.shape[-1] < 2 ** 15 else np.int64  # the widest count must fit
    return (a != 0).view(np.int8).sum(axis=-1, dtype=acc).astype(np.int64)
