"""Cutting the schedule into stages for the node-major kernel: each stage runs its own loop over a block of
steps (all T up to BLOCK) before the next stage starts.

A node outside every cycle (a Dense, SPSN, LI, or a LIF whose only recurrence is its own state) reads
nothing from later steps of later nodes, so the nodes before a cut can run a block of steps before the
nodes after it start: the stage's weights stay in cache over the block instead of sharing it with every
layer's weights at every step. Blocks bound the sequence buffers (BLOCK steps of each node a later stage
reads) whatever T is. A cut is placed before each weight-holding node where no edge crosses it
backwards (a recurrence) and no delayed edge crosses it at all (delay rings stay inside one stage).
A Dense reading an earlier stage's output (or a dense graph input) then runs as one product over the
block's steps before its stage's loop (`hoist`): table sums for dense spike sequences, BLAS for dense values,
event-driven sums for sparse ones.
"""
from __future__ import annotations

import importlib.util

import numpy as np

from snnc.backends.cpu.emit import Buffers, Sink, compact, flag_nonfinite, prefetch
from snnc.backends.cpu.symbolic import Sym
from snnc.compiler.ir import Graph


def cuts(graph: Graph, order: list[str]) -> list[list[str]] | None:
    """`order` cut into stages (contiguous, in schedule order), or None where one loop over T is all there is."""
    if any(type(graph.nodes[n]).__name__ == "EarlyExit" for n in order):
        return None  # a decided sample stops every node at once: one loop
    pos = {n: k for k, n in enumerate(order)}
    edges = [(pos[e.src], pos[e.dst], e.delay) for e in graph.edges if e.src in pos and e.dst in pos]
    stages: list[list[str]] = [[]]
    for p, name in enumerate(order):
        node = graph.nodes[name]
        weights = any(isinstance(v, np.ndarray) and v.ndim == 2 for v in node.params().values())
        # a stage needs a node with a state: inputs and stateless nodes (a Dense) alone would only pass their
        # rows to the next stage (fc1 after the inputs, rec1 after fc1)
        real = any(n not in graph.inputs and graph.nodes[n].initial_state() for n in stages[-1])
        if weights and real and all(not (s >= p > d) and not (d_ > 0 and s < p <= d) for s, d, d_ in edges):
            stages.append([])
        stages[-1].append(name)
    return stages if len(stages) > 1 else None


BLOCK = 1024  # steps per block: each stage runs a block's steps before the next stage (sequence buffers of this length)
DENSE_PRODUCT = 4  # one dense product (table or BLAS) over a block where more than 1/4 of its inputs are nonzero (see hoist)
TABLE = 1 << 22  # the most values of one `_table` (16 MB float32: it stays in L3; 256x256 takes 2 M)
CHUNK = 8  # spikes per table lookup in a dense product over spikes (`_table`)
UNROLL = 8  # the event-driven product adds up to this many weight rows per pass over its output row


def hoist(values: list[Sym], sinks: list[Sink], hoisted: list[str], bufs: Buffers):
    """The stage's one matmul over an input sequence (an earlier stage's output, or a graph input: dense or lists),
    computed for the block's steps before the stage's loop; the loop reads its row t - s0.

    Returns (code before the stage's loop, values, sinks) of the stage reading that product, or None. Per
    sample and block the kernel takes a dense product when more than 1/DENSE_PRODUCT of the block's inputs are
    nonzero: table sums for spikes (`_table`), BLAS for other values (at 50 % spikes BLAS takes 1.2 µs per step
    for 256x256 float32, ff-spsn, 1 thread); sparser sequences take the event-driven sums (`_events`).
    PATHS[b, i] counts the blocks that took the dense product.
    """
    cands = [v for v in values if v.op == "matmul" and v.meta["W"][0] == "PF" and v.args[0].kind == "f"
             and ((v.args[0].op == "ew" and v.args[0].code == "{0}" and v.args[0].args[0].op == "leaf"
                   and "seq" in v.args[0].args[0].meta) or "aer" in v.args[0].meta)]
    # numba's np.dot calls scipy's BLAS: without scipy every product stays in the step loop
    if importlib.util.find_spec("scipy") is None or len(cands) != 1 or sum(1 for v in values if v.op == "matmul" and v.args[0] is cands[0].args[0]) != 1:
        return None
    v = cands[0]
    x = v.args[0]
    src = x if x.op == "leaf" else x.args[0]
    wbuf, woff, n_in, n_out = v.meta["W"]
    h, i, nz, seq = f"HQ{v.id}", len(hoisted), f"nz{v.id}", src.meta.get("seq")
    # internal spikes are exactly 1 (the step loop adds their rows unscaled too)
    binary = bool(x.meta.get("events")) and all(ev.value is None for ev in x.meta["events"])
    table = binary and (-(-n_in // CHUNK) * n_out << CHUNK) <= TABLE  # else the table leaves the caches: BLAS
    # the input's activity count, where this stage counts it, is the length of its index list
    counts = [sk for sk in sinks if sk.kind == "count" and sk.value is x]
    # a dense graph input's NaN and inf test: in the pass listing its nonzero values (the only pass over it)
    finite = [sk for sk in sinks if sk.kind == "finite" and sk.value is x]
    if "aer" in x.meta:  # spike-index input: its lists as given
        k = x.meta["aer"][0]
        setup, index = [f"p0 = XP{k}[t * B + b]", f"c = XP{k}[t * B + b + 1] - p0"], f"XI{k}[p0 + {{q}}]"
    else:
        ix = bufs.alloc("IX", n_in)
        ahead = prefetch(int(src.code[1:src.code.index("[")]), n_in) if src.code.startswith("X") else []
        setup = [*ahead, f"xt = {src.meta['row']}", *compact(n_in, "xt[{j}] != 0", f"IX[{ix} + {{c}}] = {{k}}", "c",
                                                     bufs.alloc("MI", (n_in + 63) // 64),
                                                     flag_nonfinite(finite[0].code, "xt[{j}]") if finite else None)]
        index = f"IX[{ix} + {{q}}]"
    events = _events(h, n_out, woff, setup, index, binary, f"q{v.id}", [sk.code for sk in counts])
    if "nz" not in src.meta:  # a graph input: read once, by the event-driven product (BLAS would read it twice)
        pre = [f"{h} = np.empty((s1 - s0, {n_out}), DT)", *events]
    else:  # an earlier stage counted its nonzeros
        pre = [f"{nz} = 0", "for t in range(s0, s1):", f"    {nz} += NZ[t, b, {src.meta['nz']}]",
               f"if {nz} * {DENSE_PRODUCT} > (s1 - s0) * {n_in}:",
               f"    PATHS[b, {i}] += 1",
               *(["    " + ln for ln in _table(h, seq, woff, n_in, n_out, f"TB{v.id}", bufs)] if table else
                 [f"    {h} = np.dot({seq}, PF[{woff}:{woff + n_in * n_out}].reshape(({n_in}, {n_out})))"]),
               "else:",
               f"    {h} = np.empty((s1 - s0, {n_out}), DT)",
               *["    " + ln for ln in events]]
    hoisted.append(v.owner)
    leaf = _copy(v, op="leaf", args=(), code=f"{h}[t - s0, {{j}}]", meta={})  # in the matmul's place (and id)
    swap = {v.id: leaf}
    values2 = []
    for u in values:  # the matmul's readers read the product's row t
        if u is v:
            values2.append(leaf)
            continue
        if any(a.id in swap for a in u.args):
            u = swap[u.id] = _copy(u, args=tuple(swap.get(a.id, a) for a in u.args))
        values2.append(u)
    sinks2 = []
    for sk in sinks:
        if (sk.kind == "events" and sk.value is x and not sk.after) or sk in counts or sk in finite:
            continue  # nothing reads that index list any more; the product counted and tested the input
        if sk.value.id in swap or (sk.state is not None and sk.state.id in swap):
            sk = Sink(swap.get(sk.value.id, sk.value), sk.kind, sk.code, sk.after,
                      swap.get(sk.state.id, sk.state) if sk.state is not None else None, sk.name)
        sinks2.append(sk)
    return pre, values2, sinks2


def _events(h: str, n_out: int, woff: int, setup: list[str], index: str, binary: bool, q: str,
            counts: list[str]) -> list[str]:
    """Code filling h[t] = sum over the nonzero x = xt[k] (step t's input) of x * W[k] (W[k] alone for spikes):
    per step, `setup` finds their number c and `index` (a template over {q}) their q-th k.

    The sums run in the step loop's order (rows in index order, from 0), UNROLL rows per pass over the output
    row (then UNROLL/2, then one): (((h + x0 w0) + x1 w1) + ...) is the same rounding as one row per pass, with
    a fraction of the loads and stores of h (35 rows of 256 float32, a micro benchmark: 0.52 µs one row per
    pass, 0.38 four).
    """
    def add(m: int) -> list[str]:
        ks = [f"k{r} = {index.replace('{q}', f'{q} + {r}')}" for r in range(m)]
        ws = [f"w{r} = PF[{woff} + k{r} * {n_out}:{woff} + (k{r} + 1) * {n_out}]" for r in range(m)]
        xs = [] if binary else [f"x{r} = xt[k{r}]" for r in range(m)]
        acc = "ht[o]"
        for r in range(m):
            acc = f"({acc} + {'' if binary else f'x{r} * '}w{r}[o])"
        return ks + xs + ws + [f"for o in range({n_out}):", f"    ht[o] = {acc[1:-1]}", f"{q} += {m}"]
    return ["for t in range(s0, s1):",
            f"    ht = {h}[t - s0]",
            f"    for o in range({n_out}):",
            "        ht[o] = DT(0)",
            *["    " + ln for ln in setup],
            *[f"    {code} = c" for code in counts],
            f"    {q} = 0",
            f"    while {q} + {UNROLL - 1} < c:",
            *["        " + ln for ln in add(UNROLL)],
            f"    if {q} + {UNROLL // 2 - 1} < c:",
            *["        " + ln for ln in add(UNROLL // 2)],
            f"    while {q} < c:",
            *["        " + ln for ln in add(1)]]


def _table(h: str, seq: str, woff: int, n_in: int, n_out: int, tb: str, bufs: Buffers) -> list[str]:
    """Code filling h[t] = the sum of the weight rows of the spikes in row t of `seq` (0/1 values), by table.

    The inputs in chunks of CHUNK: table `tb`[c, m] holds the sum of chunk c's rows whose bits are set in m
    (built once per call, on the first block that needs it: CHUNK / n_in of the product's adds per sample-step,
    2^CHUNK rows per chunk), so a step adds one table row per chunk instead of one weight row per spike or a
    row-times-column product (ff-spsn 256x256 at 50 % spikes, float32, 1 thread: 0.6 µs per sample-step, BLAS
    1.2). A chunk's entry adds its rows from its lowest set bit's up (m = m without its lowest bit, plus that row).
    """
    nc, G = -(-n_in // CHUNK), CHUNK
    codes = bufs.alloc("MI", nc)
    bufs.head.append(f"{tb} = np.empty((0, {1 << G}, {n_out}), DT)")
    acc = "ht[o]"
    for r in range(4):
        acc = f"({acc} + r{r}[o])"
    return [f"if {tb}.shape[0] == 0:",
            f"    {tb} = np.zeros(({nc}, {1 << G}, {n_out}), DT)",
            f"    for c in range({nc}):",
            f"        for m in range(1, 1 << min({G}, {n_in} - {G} * c)):",
            "            r = trailing_zeros(m)",
            f"            prev = {tb}[c, m & (m - 1)]",
            f"            w = PF[{woff} + ({G} * c + r) * {n_out}:{woff} + ({G} * c + r + 1) * {n_out}]",
            f"            d = {tb}[c, m]",
            f"            for o in range({n_out}):",
            "                d[o] = w[o] + prev[o]",
            f"{h} = np.empty((s1 - s0, {n_out}), DT)",
            "for t in range(s0, s1):",
            f"    xt = {seq}[t - s0]",
            f"    ht = {h}[t - s0]",
            f"    for blk in range(0, {n_in}, 64):",  # a chunk's bits from its 64 inputs' mask (a vectorized pass)
            "        bits = 0",
            f"        for j in range(min(64, {n_in} - blk)):",
            "            bits |= np.int64(xt[blk + j] != 0) << j",
            f"        for c in range(blk // {G}, min({nc}, (blk + 64) // {G})):",
            f"            MI[{codes} + c] = (bits >> ({G} * c - blk)) & {(1 << G) - 1}",
            f"    for o in range({n_out}):",
            "        ht[o] = DT(0)",
            f"    for c in range(0, {nc - 3}, 4):",
            *[f"        r{r} = {tb}[c + {r}, MI[{codes} + c + {r}]]" for r in range(4)],
            f"        for o in range({n_out}):",
            f"            ht[o] = {acc[1:-1]}",
            f"    for c in range({nc - nc % 4}, {nc}):",
            f"        r0 = {tb}[c, MI[{codes} + c]]",
            f"        for o in range({n_out}):",
            "            ht[o] += r0[o]"]


def _copy(u: Sym, **fields) -> Sym:
    """u with some fields replaced, under the same id (a variant of the DAG for a second emitter)."""
    w = Sym.__new__(Sym)
    w.__dict__.update(u.__dict__, **fields)
    return w
