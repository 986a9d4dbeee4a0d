"""The NumPy runtime's whole-sequence loop without bookkeeping: the same kernels in the same order, less Python.

Before the loop: the parallel-in-time prefix (runtime/numpy/parallel.py) computes
every node that only depends on the inputs through stateless nodes for all T at
once (the input projection of a feed-forward Dense is one product), and, when T
is long enough, also the linear neurons among them. In the loop: node plans are
tuples, inputs are read by list index, outputs go into preallocated [T, B, n]
buffers. Activity is counted once after the run from those buffers.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.activity import Activity
from snnc.runtime.numpy import parallel


def run(rt, xs: dict[str, np.ndarray], parallel_time: bool | None = None) -> tuple[dict[str, np.ndarray], Activity]:
    """Run xs [T, B, F] from the initial state on NumpyRuntime `rt` (no early exit, nothing recorded)."""
    prog, g = rt.program, rt.program.graph
    T, B = next(iter(xs.values())).shape[:2]
    rt.reset(B)
    plans = prog.plans
    index = {p.name: k for k, p in enumerate(plans)}
    pre = parallel.prefix(g)
    full = parallel.worthwhile(g, pre, T) if parallel_time is None else parallel_time
    if not full:  # only the stateless part: input projections
        done = set(g.inputs)
        pre = [n for n in pre if not g.nodes[n].states and all(e.src in done for e in g.in_edges(n))
               and not done.add(n)]
    rt.last_path = {"loop": "fast", "parallel": list(pre), "stepwise": [p.name for p in plans if p.name not in pre
                                                        and p.name not in g.inputs]}
    seqs: dict[str, np.ndarray] = dict(xs)
    if pre:
        from snnc.compiler.primitives.ops import NumpyOps
        outs, states = parallel.run(g, pre, xs, prog.dtype, NumpyOps(prog.dtype),
                                    {n: plans[index[n]].params for n in pre})
        seqs.update(outs)
        for n, st in states.items():  # the final state, as the step loop would leave it
            for k, v in st.items():
                rt.state[n][k][...] = v[-1]
    # outputs of every node [T, B, n], written in place step by step
    bufs = [seqs[p.name] if p.name in seqs else
            np.empty((T, B, p.node.size), np.int64 if p.node.integer else prog.dtype) for p in plans]
    loop = []
    for k, p in enumerate(plans):
        if p.name in seqs:
            continue
        ports = tuple((port, p.node.in_size(port), tuple((index[s], d) for s, d in srcs))
                      for port, srcs in p.inputs.items())
        loop.append((k, p.kernel, p.params, rt.state[p.name], ports))
    for t in range(T):
        for k, kernel, params, st, ports in loop:
            inp = {}
            for port, size, srcs in ports:
                acc = None
                for s, d in srcs:
                    if d > t:
                        continue  # before step d a delayed edge delivers zeros
                    v = bufs[s][t - d]
                    acc = v if acc is None else acc + v
                inp[port] = acc if acc is not None or not srcs else np.zeros((B, size), prog.dtype)
            bufs[k][t] = kernel(params, st, inp)
    rt.t = T
    rt.steps_run[:] = T
    act = Activity(T, B, steps=rt.steps_run.copy())
    for k, p in enumerate(plans):
        act.nonzero[p.name] = np.count_nonzero(bufs[k], axis=2).astype(np.int64)
        act.kinds[p.name] = p.node.out_kind
        act.sizes[p.name] = p.node.size
        if p.name in rt._held:
            rt._held[p.name] = np.array(bufs[k][-1], dtype=prog.dtype)
    outs = {o: np.ascontiguousarray(bufs[index[o]], dtype=prog.dtype) for o in prog.outputs}
    for n, h in rt.hist.items():  # delay rings as the step loop leaves them, so step() can continue
        for d in range(h.shape[0]):
            if T - 1 - d >= 0:
                h[(T - 1 - d) % h.shape[0]] = bufs[index[n]][T - 1 - d]
    return outs, act
