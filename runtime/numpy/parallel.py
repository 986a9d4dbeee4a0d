"""Parallel in time: the nodes that no spike or reset feeds back into, computed for all T steps at once.

A node outside every cycle whose sources are complete runs here for the whole
sequence: a stateless node's step once on [T·B, in] (a Dense: one product, which
the float32 loop's NumpyOps(sparse=True) runs event-driven when x is mostly zeros); a neuron's linear states
(`Primitive.linear_states`: s_t = a·s_{t−1} + u_t, e.g. LI's v, SPSN's i and v,
CubaLIF's i) by scan(), where the drive u_t is what the node's own step returns
with that state's previous value set to zero. A fully linear node's outputs come
from its step run once more on the shifted state sequences; a partially linear
one (CubaLIF: v has a reset) is stepped over T for the rest, its linear states
read from the scan. Outputs always come from the single primitive definition.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import Graph

MIN_STEPS = 32  # below this the step loop is as fast
# B·n up to which solving a linear node for all T at once beats stepping it: one step of a narrow node is
# dominated by the ~1 µs cost of each NumPy call; a wide one already runs at memory speed, and its three
# step calls per block plus the scans then cost more (ff-spsn T=1000, n=256, float32: batch 1, 2 win
# 1.7x / 1.3x, batch 4 ties, batch 8 loses 1.1x)
MAX_WIDTH = 1024
BLOCK = 16384  # entries [steps·B, n] per block of a linear node's step calls: their temporaries stay in cache


def linear_states(node) -> tuple[tuple[str, str], ...]:
    """The node's states that scan() solves (none for fixed-point primitives: their sums wrap)."""
    return () if node.integer else tuple(getattr(node, "linear_states", ()))


def linear(node) -> bool:
    """A neuron whose states are all linear recurrences: the whole node runs for all T at once."""
    lin = linear_states(node)
    return bool(node.states) and len(lin) == len(node.states)


def partial(node) -> bool:
    """A neuron with some linear states (solved for all T) and others that must be stepped (CubaLIF's v)."""
    lin = linear_states(node)
    return bool(lin) and len(lin) < len(node.states)


def alone(node) -> bool:
    """A float neuron with an elementwise step (Primitive.elementwise) that run() can step node-major on flat rows."""
    return bool(node.states) and node.elementwise and not node.integer


def worthwhile(node, T: int, B: int) -> bool:
    """Run a node outside every cycle for all T here (else in the staged step loop): T long, one step narrow.

    Its linear states are solved; a partially linear or an elementwise node (a LIF: a reset, no linear state)
    steps the rest in a loop of its own over T on flat row views made once, which measured faster than the
    staged loop's step (ff-cuba batch 1: CubaLIF 6.3 vs 7.3 µs a step; the IF layer ~1 µs less).
    """
    return T >= MIN_STEPS and B * node.size <= MAX_WIDTH and (linear(node) or partial(node) or alone(node))


def scan(a: np.ndarray, u: np.ndarray, s0: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """s_t = a·s_{t−1} + u_t for t = 0..T−1 (s_{−1} = s0), u [T, B, n], a [n], in u's dtype; written into `out`.

    The recurrence itself, two in-place vector operations per step on flat [B·n] rows: the step's own a·s + u
    in its order, so a linear state equals the step loop's bit for bit (any decay: 0, tiny, 1), at about 0.7 µs
    a step instead of the node's whole step with its dictionaries. (A chunked closed form, a^t-weighted sums
    per block of steps, measured only 1.3x faster at batch 1 and gives up that exactness.)
    """
    T = u.shape[0]
    if out is not None and not out.flags.c_contiguous:  # the rows are written through a flat view of `out`
        out[...] = scan(a, u, s0)
        return out
    out = np.empty_like(u) if out is None else out
    width = int(np.prod(u.shape[1:]))
    a = np.ascontiguousarray(np.broadcast_to(np.asarray(a, u.dtype), u.shape[1:])).reshape(width)
    prev = np.ascontiguousarray(np.broadcast_to(np.asarray(s0, u.dtype), u.shape[1:])).reshape(width)
    mul, add = np.multiply, np.add
    # 1-D row views: a ufunc call on a 1-D view costs about half of one on [B, n]
    for o, ut in zip(out.reshape(T, width), u.reshape(T, width)):
        mul(a, prev, out=o)
        add(o, ut, out=o)
        prev = o
    return out


def _zeros(n: int, dtype) -> np.ndarray:
    return np.zeros((1, n), dtype)  # broadcasts against [T·B, n] without T·B zeros being read


def run(graph: Graph, names: list[str], xs: dict[str, np.ndarray], dtype, ops, params: dict,
        pool=None, loops: dict | None = None) -> tuple[dict, dict]:
    """({node: output [T, B, n]}, {node: {state: [T, B, n]}}) of `names`, given the sequences [T, B, F] of
    every node they read (the graph inputs, or nodes already computed). A stepped state (a partially linear
    node's rest) has only its final row [1, B, n].

    `ops` is the NumPy op vocabulary and `params[node]` the node's prepared parameters (as the step loop uses);
    with a `pool` (runtime/numpy/pool.py) the large sequences are written into its reused arrays, and
    `loops` keeps the generated loops of stepped rests for the next run (loops["ran"]: the nodes they ran).
    """
    from snnc.runtime.numpy.pool import Pool, SeqOps
    pool = pool or Pool()
    loops = {} if loops is None else loops
    seqs = dict(xs)
    states: dict[str, dict[str, np.ndarray]] = {}
    T, B = next(iter(xs.values())).shape[:2]
    for n in names:
        node = graph.nodes[n]
        x = {}
        for e in graph.in_edges(n):
            v = _shift(seqs[e.src], e.delay, pool=pool, key=(n, "shift", e.src, e.delay))
            x[e.port] = v if e.port not in x else x[e.port] + v
        x = {k: v.reshape(T * B, v.shape[-1]) for k, v in x.items()}  # steps are elementwise in the batch axis
        p = params[n]
        if not node.states:
            out, _ = node.step(SeqOps(ops, pool, n), p, {}, x)
            seqs[n] = np.asarray(out).reshape(T, B, -1)
            continue
        init = {k: np.broadcast_to(v.astype(dtype), (B, v.shape[0])) for k, v in node.initial_state().items()}
        bufs, out = _solve(node, ops, p, init, x, T, B, dtype, pool, n)
        seqs[n] = out if out is not None else _step_rest(node, ops, p, init, bufs, x, T, B, pool, n, loops)
        states[n] = {k: v[1:] if len(v) == T + 1 else v for k, v in bufs.items()}
    return {n: seqs[n] for n in names}, states


def _solve(node, ops, p, init: dict, x: dict, T: int, B: int, dtype, pool, name: str) -> tuple[dict, np.ndarray | None]:
    """({linear state: [T+1, B, n] with the initial state as row 0}, output [T, B, n] of a fully linear node).

    Block by block of about BLOCK entries, so the step's temporaries stay in cache: each linear state's drive
    (the step with that state's s_{t−1} = 0 and the states before it from their scans), its scan from the
    block's entering state, then the step once more for the outputs.
    """
    n, lin = node.size, linear_states(node)
    bufs = {k: pool.empty((name, "state", k), (T + 1, B, n), dtype) for k, _ in lin}
    flat = {k: v.reshape((T + 1) * B, n) for k, v in bufs.items()}  # rows t·B.. of s_{t−1}
    for k, v in bufs.items():
        v[0] = init[k]
    zeros = {k: _zeros(v.shape[1], dtype) for k, v in init.items()}
    decays = {k: getattr(p, a) for k, a in lin}
    out, whole = None, linear(node)
    Tb = max(1, BLOCK // max(1, B * n))
    for t0 in range(0, T, Tb):
        t1 = min(T, t0 + Tb)
        r0, r1 = t0 * B, t1 * B
        xb = {k: v[r0:r1] for k, v in x.items()}
        prev = dict(zeros)
        for k in bufs:
            _, new = node.step(ops, p, prev, xb)  # with s_{t-1} = 0 for this state: its drive u_t
            u = np.broadcast_to(np.asarray(new[k], dtype), (r1 - r0, n)).reshape(t1 - t0, B, n)
            scan(decays[k], u, bufs[k][t0], out=bufs[k][t0 + 1:t1 + 1])
            prev[k] = flat[k][r0:r1]
        if whole:
            y, _ = node.step(ops, p, prev, xb)
            if out is None:
                out = pool.empty((name, "out"), (T * B, np.shape(y)[-1]), np.asarray(y).dtype)
            out[r0:r1] = y
    return bufs, None if out is None else out.reshape(T, B, -1)


def _step_rest(node, ops, p, init: dict, bufs: dict, x: dict, T: int, B: int, pool, name: str,
               loops: dict) -> np.ndarray:
    """A node stepped over T on its own, its linear states (if any) read from their scanned sequences.

    Its other states' final values are added to `bufs` as one row each. An elementwise step gets flat [B·n]
    row views made once (a ufunc call on a 1-D view costs about half of one on [B, n]), its per-neuron
    parameters tiled to B·n. After step 0 (which gives the output's shape) a traceable step runs traced
    into one generated loop (runtime/numpy/steploop.py node_loop: the same ops, without the step's Python;
    ff-cuba batch 1: CubaLIF's v and the IF layer ~2x faster), made once per node and batch into `loops`.
    """
    n = node.size
    flat = node.elementwise and all(v.shape[-1] == n for v in x.values())
    if flat and B > 1:
        from snnc.compiler.primitives.ops import Params
        p = Params({k: np.tile(v, B) if isinstance(v, np.ndarray) and v.shape == (n,) else v for k, v in p.items()})
    rows = (lambda a: list(a.reshape(T, -1))) if flat else (lambda a: list(a.reshape(T, B, -1)))  # noqa: E731
    lin = {k: rows(bufs[k][:-1]) for k in bufs}
    xr = {k: rows(v) for k, v in x.items()}
    rest = [k for k in init if k not in bufs]
    s = {k: (np.ascontiguousarray(init[k]).reshape(-1) if flat else init[k]) for k in init}
    key = (name, "rest", B)
    if key not in loops:
        from snnc.backends.numpy.lower import trace_step
        from snnc.runtime.numpy import steploop
        tr = trace_step(node, ops, p, list(x))
        loops[key] = steploop.node_loop(tr, list(lin), name) if tr is not None and set(tr.inputs) == set(xr) else None
    loop = loops[key]
    step, out = node.step, None
    for t in range(T):
        for k, r in lin.items():
            s[k] = r[t]
        y, new = step(ops, p, s, {k: r[t] for k, r in xr.items()})
        if out is None:
            out = pool.empty((name, "out"), (T,) + np.shape(y), np.asarray(y).dtype)
        out[t] = y
        for k in rest:
            s[k] = new[k]
        if loop is not None:
            loop(1, T, lin, xr, out, s)  # (the other states' final values: into s)
            loops.setdefault("ran", []).append(name)
            break
    for k in rest:
        bufs[k] = np.broadcast_to(s[k].reshape(-1, n), (B, n))[None]
    return out.reshape(T, B, -1)


def _shift(seq: np.ndarray, d: int, first=None, pool=None, key=None) -> np.ndarray:
    """seq delayed by d steps: zeros (or `first` broadcast) before step d (into the pool's array for `key`)."""
    if d == 0:
        return seq
    out = np.empty_like(seq) if pool is None else pool.empty(key, seq.shape, seq.dtype)
    out[:d] = 0 if first is None else first
    out[d:] = seq[:-d]
    return out
