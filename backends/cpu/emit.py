"""From the per-step DAG of Syms to the Python source of one time step inside the numba kernel.

Segments, in trace order: a loop over the neurons of one population holds every
consecutive elementwise op of that length (so a Dense's bias, its destination's
update, the spike test, the activity count and the state writes are one pass);
`matmul`, `concat` and reductions are barriers. A value used outside its own
loop is stored in the per-sample scratch `MF`/`MI`. A matmul whose input is a
sum of spike trains adds only the weight rows of the sources that fired, read
from index lists built while the spikes were computed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from snnc.backends.cpu.symbolic import Sym

BARRIERS = ("matmul", "concat", "reduce")


@dataclass
class Buffers:
    """Offsets into the flat arrays the kernel reads: parameters PF/PI, states SF/SI, rings RF/RI, scratch MF/MI/IX;
    and (node-major kernel) the [T, n] sequences SQk/SQIk of the outputs that later stages read."""

    size: dict = field(default_factory=lambda: dict.fromkeys(
        ("PF", "PI", "SF", "SI", "RF", "RI", "MF", "MI", "IX", "OUT", "NZ"), 0))
    init: dict = field(default_factory=lambda: {"PF": [], "PI": [], "SF": [], "SI": []})
    seqs: list = field(default_factory=list)  # (name, n, integer) of each output sequence
    head: list = field(default_factory=list)  # node-major: lines run once per call, before the loop over samples

    def sequence(self, integer: bool, n: int) -> str:
        """A new [T, n] output sequence (float, or int64 for fixed point); its array's name."""
        name = f"{'SQI' if integer else 'SQ'}{len(self.seqs)}"
        self.seqs.append((name, int(n), integer))
        return name

    def alloc(self, buf: str, n: int, init=None) -> int:
        off = self.size[buf]
        self.size[buf] += int(n)
        if init is not None:
            self.init[buf].append((off, init))
        return off


@dataclass(eq=False)
class Sink:
    """A use of a value at the end of the step: a store template over {v} and {j}, a count, an event list, or a
    finiteness test."""

    value: Sym
    kind: str  # "store", "count", "events", "finite"
    code: str = ""  # store: "OUT[t, b, 3 + {j}] = {v}"; count: the NZ cell; events: index store "IX[4 + {c}] = j";
    # finite: the per-sample flag variable, set when a value is NaN or inf
    after: str = ""  # events: the statement storing the count after the loop ("" for none)
    state: Sym | None = None  # store of a new state: the leaf of the old value (write after its last read)
    name: str = ""  # events: the counter variable


class Emitter:
    """Lays out one step: segments, scratch storage, event lists; `lines()` returns the step body."""

    def __init__(self, values: list[Sym], sinks: list[Sink], bufs: Buffers, prelude: list[str]):
        # values from other stages that this one reads are leaves and literals: inlined like its own
        own = {v.id for v in values}
        foreign = {a.id: a for v in values for a in v.args if a.id not in own}
        if any(a.op not in ("leaf", "lit") for a in foreign.values()):
            raise AssertionError("a stage reads a computed value of another stage")
        self.values = sorted([*values, *foreign.values()], key=lambda v: v.id)
        self.by_id = {v.id: v for v in self.values}
        self.sinks, self.bufs = sinks, bufs
        self.prelude = list(prelude)
        self.seg_of: dict[int, int] = {}
        self.segs: list[tuple[str, object]] = []  # ("loop", [n, [value ids]]) | ("barrier", value id)
        self.array: dict[int, str] = {}  # value id -> array template over {j}
        self.scalar: dict[int, str] = {}  # value id -> inline scalar code
        self.events: dict[int, Sink] = {}  # value id -> its event-list sink (local index list)
        self.deferred: dict[int, int] = {}  # sink index -> segment of a state write moved after the last read
        self._layout()
        # a dense matmul's input: its activity count is the length of the list of its nonzero sources, its
        # finiteness is tested in the pass that builds that list
        firsts = {}
        for v in self.values:
            if v.op == "matmul" and not v.args[0].meta.get("events"):
                firsts.setdefault(v.args[0].id, v)
        self.fused = {s for s in sinks if s.kind in ("count", "finite") and s.value.id in firsts}

    # -- layout -----------------------------------------------------------------
    def _layout(self) -> None:
        """Place every vector op in an epoch (the gap between two barriers): as late as its uses allow, so
        producers join their consumers' loops; values used only by sinks stay with their arguments."""
        V, INF = self.values, 1 << 30
        barriers = [v.id for v in V if v.op in BARRIERS]
        bidx = {vid: i for i, vid in enumerate(barriers)}
        early: dict[int, int] = {}
        for v in V:
            dep = max((early[a.id] for a in v.args), default=0)
            early[v.id] = bidx[v.id] + 1 if v.id in bidx else dep
        sinked = {s.value.id for s in self.sinks}
        live, late, epoch = set(sinked), {}, {}
        for v in reversed(V):
            if v.id not in live and v.id not in bidx:
                continue
            if v.id in bidx:
                bound = bidx[v.id]
                live.add(v.id)
            elif v.op == "ew" and v.n:
                epoch[v.id] = late.get(v.id, early[v.id])
                bound = epoch[v.id]
            else:  # slices and scalars: their readers bound their arguments
                bound = late.get(v.id, INF)
            events = v.args[0].meta.get("events") if v.op == "matmul" else None
            for a in ([] if events else v.args):
                late[a.id] = min(late.get(a.id, INF), bound)
                live.add(a.id)
            for ev in events or ():
                if ev.local is not None:  # the index list is built in the spikes' loop, before this matmul
                    late[ev.local.id] = min(late.get(ev.local.id, INF), bound)
                    live.add(ev.local.id)
        self.live = live
        # state writes after the last read of the old value
        reads: dict[int, int] = {}
        for v in V:
            if v.id in live:
                at = epoch.get(v.id, bidx.get(v.id, -1) + (v.id in bidx))  # a barrier reads after epoch bidx's loops
                for a in v.args:
                    reads[a.id] = max(reads.get(a.id, -1), at)
        last = len(barriers)
        for i, s in enumerate(self.sinks):
            if s.state is not None and reads.get(s.state.id, -1) > epoch[s.value.id]:
                self.deferred[i] = last
        # segments: per epoch one loop per length, then the epoch's barrier
        groups: dict[tuple[int, int], list[int]] = {}
        for v in V:
            if v.id in epoch:
                groups.setdefault((epoch[v.id], v.n), []).append(v.id)
        for i in self.deferred:
            groups.setdefault((last, self.sinks[i].value.n), [])
        seg_key: dict[tuple[int, int], int] = {}
        for k in range(last + 1):
            for key in sorted((g for g in groups if g[0] == k), key=lambda g: min(groups[g] or [INF])):
                seg_key[key] = len(self.segs)
                self.segs.append(("loop", [key[1], groups[key]]))
                for vid in groups[key]:
                    self.seg_of[vid] = seg_key[key]
            if k < last:
                self.seg_of[barriers[k]] = len(self.segs)
                self.segs.append(("barrier", barriers[k]))
        for i in self.deferred:
            self.deferred[i] = seg_key[(last, self.sinks[i].value.n)]
        # storage: inline leaves and scalars, arrays for barrier results and values read outside their loop
        for v in V:
            if v.op == "lit":
                self.scalar[v.id] = v.code
            elif v.op == "leaf":
                (self.array if v.n else self.scalar)[v.id] = v.code
            elif v.op == "ew" and not v.n:
                self.scalar[v.id] = v.code.format(*(self._inline(a) for a in v.args))
            elif v.op == "reduce":
                self.scalar[v.id] = f"r{v.id}"
            elif v.op in BARRIERS:
                buf = "MF" if v.kind == "f" else "MI"
                self.array[v.id] = f"{buf}[{self.bufs.alloc(buf, v.n)} + {{j}}]"
            if v.id not in live:
                continue
            events = v.args[0].meta.get("events") if v.op == "matmul" else None
            for a in ([] if events else v.args):
                here = self.seg_of.get(v.id, -1)
                if a.op == "ew" and a.n and (v.op != "ew" or self.seg_of[a.id] != here):
                    self._need_array(a, here)
            if v.op == "slice":
                self.array[v.id] = self.array[v.args[0].id].replace("{j}", f"({{j}} + {v.meta['lo']})")
        for i, s in enumerate(self.sinks):
            if i in self.deferred:
                self._need_array(s.value, self.deferred[i])
            if s.kind == "events":  # lists are built after the loop, from the stored spikes
                self._need_array(s.value, -1)
                if not s.after:  # a local list (ring lists store their count after the loop)
                    self.events[s.value.id] = s

    def _need_array(self, a: Sym, seg: int) -> None:
        if a.id in self.array or a.id in self.scalar:
            return
        if a.op != "ew":
            raise AssertionError(f"value {a} has no storage")
        src = a.args[0] if a.code == "{0}" else None
        if src is not None and src.op == "leaf" and src.n == a.n and src.code.startswith(("X", "SQ")):
            self.array[a.id] = src.code  # a read-only input row (or an earlier stage's output): no copy
            return
        buf = "MF" if a.kind == "f" else "MI"
        self.array[a.id] = f"{buf}[{self.bufs.alloc(buf, a.n)} + {{j}}]"

    def _inline(self, a: Sym) -> str:
        if a.id not in self.scalar:
            raise AssertionError(f"value {a} is not a scalar")
        return self.scalar[a.id]

    def _ref(self, a: Sym, seg: int, j: str = "j") -> str:
        """Code for a's value at index j inside segment seg."""
        if a.id in self.scalar:
            return self.scalar[a.id]
        if self.seg_of.get(a.id) == seg and self.segs[seg][0] == "loop":
            return f"v{a.id}"
        if a.id not in self.array:
            self._need_array(a, seg)
        return self.array[a.id].replace("{j}", j)

    # -- code -------------------------------------------------------------------
    def lines(self) -> list[str]:
        out = list(self.prelude)
        for i, (kind, body) in enumerate(self.segs):
            out += self._loop(i, *body) if kind == "loop" else self._barrier(i, self.by_id[body])
        return out

    def _sinks_in(self, seg: int) -> list[Sink]:
        return [s for i, s in enumerate(self.sinks) if self.deferred.get(i, self.seg_of.get(s.value.id)) == seg
                and s not in self.fused]

    def _loop(self, seg: int, n: int, ids: list[int]) -> list[str]:
        pre, body, post, values = [], [], [], []
        for vid in ids:
            v = self.by_id[vid]
            body.append(f"v{vid} = " + v.code.format(*(self._ref(a, seg) for a in v.args)))
            values.append(body[-1])
            if vid in self.array and self.array[vid].startswith(("MF[", "MI[")):
                body.append(self.array[vid].replace("{j}", "j") + f" = v{vid}")
        counted: dict[int, str] = {}
        finite = {s.value.id: s for s in self._sinks_in(seg) if s.kind == "finite"}
        for s in self._sinks_in(seg):
            if s.kind == "events":
                # a separate compaction keeps the update loop free of branches (it vectorizes)
                target = s.code.rsplit(" = ", 1)[0]
                test = finite.pop(s.value.id, None)
                post += compact(n, self.array[s.value.id] + " != 0", target + " = {k}", s.name,
                                self.bufs.alloc("MI", (n + 63) // 64), test and flag_nonfinite(test.code, self.array[s.value.id]))
                if s.after:
                    post.append(s.after.replace("{c}", s.name))
                counted[s.value.id] = s.name
        for s in self._sinks_in(seg):
            val, z = self._ref(s.value, seg), f"z{self.sinks.index(s)}"
            if s.kind == "store":
                body.append(s.code.replace("{v}", val).replace("{j}", "j"))
            elif s.kind == "finite" and s.value.id in finite:
                body.append(flag_nonfinite(s.code, val).replace("{j}", "j"))
            elif s.kind == "count":
                if s.value.id in counted:
                    post.append(f"{s.code} = {counted[s.value.id]}")
                else:
                    pre.append(f"{z} = 0")
                    body.append(f"{z} += {val} != 0")
                    post.append(f"{s.code} = {z}")
        if not body or body == values:  # nothing stored or counted: a dead loop
            return pre + post
        return pre + [f"for j in range({n}):"] + ["    " + ln for ln in body] + post

    def _barrier(self, seg: int, v: Sym) -> list[str]:
        if v.op == "reduce":
            x = v.args[0]
            op = "max" if v.meta["red"] == "max" else "+"
            r = f"r{v.id}"
            first = self._ref(x, seg, "0")
            step = f"{r} = max({r}, {self._ref(x, seg, 'j')})" if op == "max" else f"{r} += {self._ref(x, seg, 'j')}"
            return [f"{r} = {first}", f"for j in range(1, {x.n}):", f"    {step}"]
        dst = self.array[v.id]
        if v.op == "concat":
            out, off = [], 0
            for a in v.args:
                out += [f"for j in range({a.n}):",
                        "    " + dst.replace("{j}", f"(j + {off})") + " = " + self._ref(a, seg, "j")]
                off += a.n
            return out
        return self._matmul(seg, v, dst)

    def _matmul(self, seg: int, v: Sym, dst: str) -> list[str]:
        x, (wbuf, woff, n_in, n_out) = v.args[0], v.meta["W"]
        zero = "DT(0)" if v.kind == "f" else "np.int64(0)"
        # slices indexed from 0: the compiler sees non-negative indices (no wraparound test) and vectorizes the rows
        buf, off = dst.split("[")[0], dst.split("[")[1].split(" + ")[0]
        acc = f"a{v.id}"
        rows = (wbuf, woff, n_out, acc, f"w{v.id}", f"x{v.id}")
        out = [f"{acc} = {buf}[{off}:{off} + {n_out}]", f"for o in range({n_out}):", f"    {acc}[o] = {zero}"]
        events = x.meta.get("events")
        if events:
            for ev in events:
                if ev.local is not None:  # index list built in the loop that computed the spikes
                    sink = self.events.get(ev.local.id)
                    if sink is None:
                        raise AssertionError(f"event source {ev.local} has no index list")
                    count, idx = sink.name, sink.code.split(" = ")[0].replace("{c}", "{q}")
                else:
                    count, idx = ev.count, ev.index
                out += accumulate(count, idx, ev.value, *rows)
            return out
        # dense input: the list of the nonzero sources first, then their rows in the same order (the same sums as
        # skipping zeros inline, without a mispredicted branch per source)
        c, ix = f"c{v.id}", self.bufs.alloc("IX", n_in)
        fused = [s for s in self.sinks if s.value is x and s in self.fused]
        tests = [flag_nonfinite(s.code, self._ref(x, seg, "{j}")) for s in fused if s.kind == "finite"]
        out += compact(n_in, self._ref(x, seg, "{j}") + " != 0", f"IX[{ix} + {{c}}] = {{k}}", c,
                       self.bufs.alloc("MI", (n_in + 63) // 64), tests[0] if tests else None)
        out += [f"{s.code} = {c}" for s in fused if s.kind == "count"]
        return out + accumulate(c, f"IX[{ix} + {{q}}]", self._ref(x, seg, "{j}"), *rows)


def accumulate(count: str, index: str, value: str | None, wbuf: str, woff: int, n: int, acc: str, w: str, x: str,
               group: int = 4) -> list[str]:
    """Code adding to acc[0:n] the weight rows of the `count` listed sources (index: a template over {q}), each
    times its value (a template over {j}; None: spikes, exactly 1).

    `group` rows per pass over acc (a quarter of its loads and stores), summed in list order, one row after the
    other: the same sums as one row per pass.
    """
    def take(r: int) -> tuple[list[str], str]:
        sfx = f"_{r}" if r else ""
        k = f"k{sfx}"
        st = [f"{k} = {index.replace('{q}', f'q + {r}' if r else 'q')}"]
        if value is not None:
            st.append(f"{x}{sfx} = {value.replace('{j}', k)}")
        st.append(f"{w}{sfx} = {wbuf}[{woff} + {k} * {n}:{woff} + ({k} + 1) * {n}]")
        return st, (f"{x}{sfx} * " if value is not None else "") + f"{w}{sfx}[o]"
    takes = [take(r) for r in range(group)]
    out = [f"nq = {count}", f"for q in range(0, nq - {group - 1}, {group}):"]
    out += ["    " + ln for st, _ in takes for ln in st]
    out += [f"    for o in range({n}):", f"        {acc}[o] = {acc}[o] + " + " + ".join(t for _, t in takes)]
    out += [f"for q in range(nq - nq % {group}, nq):"] + ["    " + ln for ln in takes[0][0]]
    return out + [f"    for o in range({n}):", f"        {acc}[o] += {takes[0][1]}"]


PREFETCH = 1  # steps ahead: a dense input row is requested while the step before it computes


def prefetch(k: int, n: int) -> list[str]:
    """Code requesting dense input k's row for sample b at step t + PREFETCH, n values: each sample reads its rows
    B rows apart (a jump the hardware prefetchers do not follow), so without it every step starts on a cache miss
    to memory (shd batch 64: the 45 MB float32 input is read once, row by row)."""
    return [f"if t + {PREFETCH} < T:",
            f"    pf = ((t + {PREFETCH}) * B + b) * {n}",
            f"    for j in range(0, {n}, 64 // X{k}.itemsize):",
            f"        prefetch(X{k}, pf + j)",
            f"    prefetch(X{k}, pf + {n - 1})"]


def flag_nonfinite(flag: str, value: str) -> str:
    """The statement setting `flag` where `value` (a template over {j}) is NaN or inf (v - v is 0 for the rest)."""
    return f"{flag} |= np.int64({value} - {value} != 0)"


def compact(n: int, nonzero: str, store: str, count: str, masks: int, also: str | None = None) -> list[str]:
    """Code listing the indices k < n where `nonzero` (a template over {j}) holds, in order, with `store` (a
    statement over slot {c} and index {k}); `count` ends as their number; MI[masks:] holds ceil(n / 64) masks.
    `also`: a statement over {j} run for each listed index (NaN and inf are nonzero: a finiteness test of the
    listed values tests all).

    First one mask of 64 bits per block of 64 (a vectorized pass, every load issued before any branch), then one
    step per set bit: work in the number of nonzeros, not in n, and no branch per value.
    """
    return [f"for blk in range(0, {n}, 64):",
            "    bits = 0",
            f"    for j in range(min(64, {n} - blk)):",
            f"        bits |= np.int64({nonzero.replace('{j}', 'blk + j')}) << j",
            f"    MI[{masks} + blk // 64] = bits",
            f"{count} = 0",
            f"for blk in range({(n + 63) // 64}):",
            f"    bits = MI[{masks} + blk]",
            "    while bits != 0:",
            "        k = 64 * blk + trailing_zeros(bits)",
            "        " + store.replace("{c}", count).replace("{k}", "k"),
            *([f"        {also.replace('{j}', 'k')}"] if also else []),
            f"        {count} += 1",
            "        bits &= bits - 1"]


@dataclass(eq=False)
class EventSource:
    """Where a matmul finds the indices of the sources that fired: a local list, a ring slot, or AER input."""

    local: Sym | None = None  # the spike value whose loop builds the list this step
    count: str = ""  # otherwise: code of the count
    index: str = ""  # and a template over {q} of the q-th index
    value: str | None = None  # template over {j} of the value at an index (None: spikes are exactly 1)


def module_source(dtype, inputs, bufs: Buffers, bodies: list[tuple[list[str], list[str]]], exit_info,
                  staged: int, version: int, finite: list[int] = (), sizes: list[int] = ()) -> str:
    """The kernel module's source: samples b0..b1-1 over the whole sequence (threads run disjoint sample ranges).

    One step body (stepwise: all nodes in one loop over T), or (node-major, `staged` = the block length) one
    per stage, each in its own loop over the steps s0..s1-1 of a block, block after block; each body comes
    with the code that runs before its loop (node-major: a product over the block's steps).
    FIN[b, k] = 1 when dense input k (of those in `finite`, whose flags nf{k} the bodies set) held NaN or
    inf in sample b. `sizes`: the inputs' sizes (a step that reads dense input k prefetches its next row).
    """
    args = ["T", "t0", "b0", "b1"]
    for k, (_, _, mode) in enumerate(inputs):
        args += [f"XP{k}", f"XI{k}"] if mode == "aer" else [f"X{k}"]
    args += ["PF", "PI", "SF", "SI", "RF", "RI", "OUT", "NZ", "STEPS", "DEC", "HELD", "FIN"] + (["PATHS"] if staged else [])
    sz = bufs.size
    # per-sample rows as 1-D views: every index below is then provably non-negative (no wraparound test) and
    # the neuron loops vectorize
    rows = [("SF[b, ", "SFb["), ("SI[b, ", "SIb["), ("RF[b, ", "RFb["), ("RI[b, ", "RIb["), ("OUT[t, b, ", "OUTb["),
            ("NZ[t, b, ", "NZb[")] + [(f"{q}[t, ", f"{q}t[") for q, _, _ in bufs.seqs] + [
        (f"X{k}[t, b, ", f"X{k}b[") for k, (_, _, m) in enumerate(inputs) if m == "dense"]
    for a, b_ in rows:
        bodies = [(pre, [ln.replace(a, b_) for ln in body]) for pre, body in bodies]
    head = ["B = OUT.shape[1]",
            f"MF = np.empty({max(1, sz['MF'])}, DT)",
            f"MI = np.empty({max(1, sz['MI'])}, np.int64)",
            f"IX = np.empty({max(1, sz['IX'])}, np.int64)"]
    # one sample's output sequences of the nodes that later stages read, one block of steps at a time (node-major)
    head += [f"{q}f = np.empty(min(T, {staged}) * {n}, {'np.int64' if i else 'DT'})" for q, n, i in bufs.seqs]
    # a sequence first reads every parameter once, in order: from a cold cache (another program ran since the last
    # call) the lines then stream in at full bandwidth instead of missing one weight row at a time (shd batch 1,
    # caches flushed: 1.38 -> 1.11 us/step); a streaming call (one step) skips it
    head += bufs.head
    head += ["if T > 1:",
             "    warm = 0",
             "    for i in range(0, PF.size, 16):",
             "        warm += PF[i] != 0",
             "    for i in range(0, PI.size, 8):",
             "        warm += PI[i] != 0",
             "    MI[0] = warm"]
    head += ["for b in range(b0, b1):",
             "    SFb, SIb, RFb, RIb = SF[b], SI[b], RF[b], RI[b]"] + [f"    nf{k} = 0" for k in finite]
    # the rows of step t a body reads: an unused view still costs its reference counting in every step
    views = [("OUTb", "OUT[t, b]"), ("NZb", "NZ[t, b]")] + [
        (f"X{k}b", f"X{k}[t, b]") for k, (_, _, m) in enumerate(inputs) if m == "dense"] + [
        (f"{q}t", f"{q}[t - s0]") for q, _, _ in bufs.seqs]
    step = ["    for t in range(s0, s1):" if staged else "    for t in range(T):", "{views}"]
    if exit_info is not None:  # a decided sample skips the rest of the sequence; its outputs are held
        step += ["        if DEC[b, 1] >= 0:",
                 "            for j in range(OUT.shape[2]):",
                 "                OUT[t, b, j] = HELD[b, j]",
                 "            continue"]
    step.append("        tt = t0 + t")
    tail = [] if staged else ["        STEPS[b] += 1"]
    fin = [f"        FIN[b, {k}] = nf{k}" for k in finite]
    if exit_info is not None:
        name, off, n, theta = exit_info
        tail += ["        for j in range(OUT.shape[2]):",
                 "            HELD[b, j] = OUT[t, b, j]",
                 f"        m = OUT[t, b, {off}]",
                 f"        a = 0",
                 f"        for j in range(1, {n}):",
                 f"            if OUT[t, b, {off} + j] > m:",
                 f"                m = OUT[t, b, {off} + j]",
                 f"                a = j",
                 f"        if m > {theta!r}:",
                 f"            DEC[b, 0] = a",
                 f"            DEC[b, 1] = tt"]
    lines = ["# generated by snnc.backends.cpu.lower: one kernel over the whole sequence (do not edit)",
             f"# kernel version {version}" + (", node-major: one loop over T per stage" if staged else ""),
             "import numpy as np",
             "from numba import njit",
             "from numba.cpython.unsafe.numbers import trailing_zeros",
             "from snnc.runtime.cpu.intrinsics import prefetch",
             f"DT = np.{np.dtype(dtype).name}",
             ""]
    # nogil: the runtime splits the batch over threads that call this one kernel (no second, parallel compile)
    lines += ["@njit(cache=True, nogil=True, error_model='numpy', boundscheck=False)",
              f"def kernel({', '.join(args)}):"]
    lines += ["    " + ln for ln in head]

    ind = "    " if staged else ""  # node-major: inside the loop over blocks
    if staged:
        lines += [f"        for s0 in range(0, T, {staged}):", f"            s1 = min(T, s0 + {staged})"]
        lines += [f"            {q} = {q}f[:(s1 - s0) * {n}].reshape((s1 - s0, {n}))" for q, n, _ in bufs.seqs]
    for pre, body in bodies:
        text = "\n".join(body + tail)
        used = [f"        {v} = {a}" for v, a in views if v + "[" in text]
        used += ["        " + ln for k, (_, _, m) in enumerate(inputs) if m == "dense" and f"X{k}b[" in text
                 for ln in prefetch(k, sizes[k])]
        lines += [ind + "        " + ln for ln in pre]
        lines += [ind + "    " + ln2 for ln in step for ln2 in (used if ln == "{views}" else [ln])]
        lines += [ind + "            " + ln for ln in body] + [ind + "    " + ln for ln in tail]
    if staged:
        lines.append("        STEPS[b] += T")
    lines += fin
    return "\n".join(lines) + "\n"
