"""Executing a CpuProgram: `run(x[T,B,F])` or `run_events(...)` for whole sequences, `step(x_t)` for streaming.

The generated kernel runs the whole sequence in one call; states and delay rings
live in flat arrays owned by this object, so `step` calls continue where the last
call stopped. The batch is split into contiguous sample ranges that threads run
in parallel through the same kernel (compiled `nogil`), so one compile serves
every batch size.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from snnc.backends.cpu.lower import CpuProgram, lower
from snnc.backends.cpu.stages import cuts
from snnc.compiler.activity import Activity
from snnc.compiler.errors import InputError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives.rc import DECISION, TIME
from snnc.runtime.cpu import kernels
from snnc.runtime.inputs import check_inputs, fill_noise, noise_inputs


STREAMED = 16 << 20  # bytes of dense input above which whole sequences run node-major by default (see parallel_time)


class CpuRuntime:
    """A compiled graph: `run(x)`, `run_events(events, T, B)`, or `reset(B)` then `step(x_t)` repeatedly.

    Whole sequences run node-major where the graph has stage cuts (backends/cpu/stages.py) and no cycle
    (`parallel_time = None`, the default), or stage cuts alone (`parallel_time = True`): each stage loops over a
    block of steps before the next starts. `last_path` says which loop the last run took.
    """

    def __init__(self, graph: Graph | CpuProgram, dtype: str = "float64", record: bool | Iterable[str] = False,
                 noise_seed: int = 0, threads: int | None = None, cache_dir: Path | None = None):
        self.graph = graph.graph if isinstance(graph, CpuProgram) else graph
        self.dtype = np.dtype(graph.dtype if isinstance(graph, CpuProgram) else dtype)
        names = list(self.graph.nodes)
        self.record = set(names) if record is True else set(record or ())
        unknown = self.record - set(names)
        if unknown:
            raise InputError(f"record: unknown node(s) {', '.join(sorted(unknown))}")
        self.noise_seed, self.cache_dir, self.threads = noise_seed, cache_dir, threads
        self.noise = noise_inputs(self.graph)
        self._programs: dict = {}  # aer set (stepwise) or ("staged", aer set) -> program (None: no stages)
        self._flat = None
        self.program = self._program(frozenset())
        self.batch = None
        self.t = 0
        self.last_threads = 0  # how many threads the last call used
        # None (the default): node-major for a graph without cycles (`feed_forward`), whose stages then each run a
        # block of steps with their weights in cache and whose Dense between stages may take one BLAS product
        # (ff-spsn at T=1000, 50 % hidden spikes: 1.3x the stepwise loop at batch 64, ff-cuba's event-driven
        # products even), and for any graph whose dense inputs exceed STREAMED bytes: the first stage then reads
        # them from memory with only its own weights in cache (shd batch 64: 1.24x, ssc 1.09x); a recurrent graph
        # over inputs that stay in cache runs stepwise (ssc batch 1: node-major 0.93x).
        # True: node-major wherever the graph has stage cuts; False: stepwise
        self.parallel_time: bool | None = None
        # {"loop": "staged" | "stepwise", "stages": [[node, ...], ...]}; node-major also "products": {node:
        # "dense" | "events" | "mixed"}, how the Dense nodes over whole sequences ran (a dense product, or index lists)
        self.last_path: dict | None = None

    def _program(self, aer: frozenset) -> CpuProgram:
        if aer not in self._programs:
            self._programs[aer] = lower(self.graph, self.dtype, aer=aer, record=sorted(self.record))
        return self._programs[aer]

    def _whole(self, aer: frozenset, dense_bytes: int = 0) -> CpuProgram:
        """The program for a whole sequence from reset (dense inputs of `dense_bytes` in all): node-major when
        asked, or by default (see `parallel_time`), where the graph has stages."""
        step = self._program(aer)
        want = (feed_forward(self.graph) or dense_bytes > STREAMED) if self.parallel_time is None \
            else bool(self.parallel_time)
        key = ("staged", aer)
        if want and key not in self._programs:
            self._programs[key] = None
            if cuts(self.graph, self.graph.schedule()) is not None:
                prog = lower(self.graph, self.dtype, aer=aer, record=sorted(self.record), staged=True)
                _same_layout(step, prog)
                self._programs[key] = prog
        prog = self._programs.get(key) if want else None
        self.last_path = {"loop": "staged" if prog else "stepwise",
                          "stages": (prog or step).meta["stages"]}
        return prog or step

    def kernel(self, program: CpuProgram):
        return kernels.load(program.source, program.key, self.cache_dir).kernel

    # -- state ------------------------------------------------------------------
    def reset(self, batch: int) -> None:
        """States at their initial values, delay rings at zero, for `batch` samples."""
        sz = self.program.bufs.size
        self.batch, self.t = batch, 0
        if self._flat is None:  # parameters and initial states, laid out once
            self._flat = {}
            for buf, dt in (("PF", self.dtype), ("PI", np.int64), ("SF", self.dtype), ("SI", np.int64)):
                a = np.zeros(max(1, sz[buf]), dt)
                for off, v in self.program.bufs.init[buf]:
                    a[off:off + v.size] = v
                self._flat[buf] = a
        self.P = {k: self._flat[k] for k in ("PF", "PI")}
        self.S = {k: np.repeat(self._flat[k][None], batch, axis=0) for k in ("SF", "SI")}
        self.R = {"RF": np.zeros((batch, max(1, sz["RF"])), self.dtype),
                  "RI": np.zeros((batch, max(1, sz["RI"])), np.int64)}
        self.steps = np.zeros(batch, np.int64)
        self.dec = np.full((batch, 2), -1, np.int64)
        self.held = np.zeros((batch, max(1, sz["OUT"])), self.dtype)
        self._nz: list[np.ndarray] = []
        self._buf1 = None  # streaming: preallocated one-step outputs and the kernel

    def _call(self, program: CpuProgram, T: int, xargs: list) -> tuple[np.ndarray, np.ndarray]:
        B = self.batch
        out = np.zeros((T, B, max(1, program.bufs.size["OUT"])), self.dtype)
        nz = np.zeros((T, B, len(program.nz)), np.int64)
        fin = np.zeros((B, max(1, len(program.inputs))), np.int64)
        fn = self.kernel(program)
        rest = (self.P["PF"], self.P["PI"], self.S["SF"], self.S["SI"], self.R["RF"], self.R["RI"],
                out, nz, self.steps, self.dec, self.held, fin)
        hoisted = program.meta.get("hoisted")
        if hoisted is not None:  # node-major: which product each sample's whole-sequence matmuls took
            paths = np.zeros((B, max(1, len(hoisted))), np.int64)
            rest += (paths,)
        n = max(1, min(B, self.threads or kernels.threads()))
        self.last_threads = n
        if n == 1:
            fn(T, self.t, 0, B, *xargs, *rest)
        else:
            bounds = np.linspace(0, B, n + 1).astype(int)
            t0 = self.t
            list(kernels.pool(n).map(lambda i: fn(T, t0, bounds[i], bounds[i + 1], *xargs, *rest), range(n)))
        self.t += T
        if hoisted is not None and self.last_path is not None:
            blocks = -(-T // program.meta["block"])  # PATHS: per sample, the blocks whose product was dense
            self.last_path["products"] = {n: "dense" if (paths[:, i] == blocks).all() else "events"
                                          if not paths[:, i].any() else "mixed" for i, n in enumerate(hoisted)}
        bad = [n for k, (n, _, _) in enumerate(program.inputs) if n in program.meta["finite"] and fin[:, k].any()]
        if bad:
            raise InputError(f"input '{bad[0]}': contains NaN or inf")
        return out, nz

    def _whole_call(self, prog: CpuProgram, T: int, B: int, xargs: list) -> tuple[np.ndarray, np.ndarray]:
        """A whole sequence from reset; an input the kernel found NaN or inf in leaves the state as it was."""
        keep = {k: getattr(self, k, None) for k in ("batch", "t", "P", "S", "R", "steps", "dec", "held", "_nz", "_buf1")}
        self.reset(B)
        try:
            return self._call(prog, T, xargs)
        except InputError:
            self.__dict__.update(keep)
            raise

    def _dense_inputs(self, x, where: str = "input", kernel_checks=()) -> dict[str, np.ndarray]:
        """Inputs checked and converted; those in `kernel_checks` are tested for NaN and inf by the kernel."""
        if self.noise:
            x = fill_noise(self.graph, x, self.noise_seed, where)
        return check_inputs({n: self.graph.nodes[n].size for n in self.graph.inputs}, x, self.dtype, where,
                            unchecked=kernel_checks)

    # -- whole sequences --------------------------------------------------------
    def run(self, x, progress: bool = False) -> tuple[dict[str, np.ndarray], Activity]:
        """Run x [T, B, F] (or a dict by input name) from the initial state; returns (outputs [T, B, n], Activity)."""
        values = x.values() if isinstance(x, Mapping) else [x]
        prog = self._whole(frozenset(), sum(np.size(v) for v in values) * self.dtype.itemsize)
        xs = self._dense_inputs(x, kernel_checks=prog.meta["finite"])  # NaN and inf: found in the kernel's pass
        T, B = next(iter(xs.values())).shape[:2]
        out, nz = self._whole_call(prog, T, B, [xs[n] for n, _, _ in prog.inputs])
        return self._results(prog, out, nz, T)

    def run_events(self, events: Mapping[str, tuple], T: int, B: int, x: Mapping | None = None
                   ) -> tuple[dict[str, np.ndarray], Activity]:
        """Run with spike inputs as index lists: events[name] = (t, b, i) integer arrays of the spikes (AER).

        Inputs not in `events` are given dense in `x` [T, B, F].
        """
        aer = frozenset(events)
        prog = self._whole(aer, sum(np.size(v) for v in (x or {}).values()) * self.dtype.itemsize)
        dense = dict(x or {})
        sizes = {n: self.graph.nodes[n].size for n in self.graph.inputs}
        for n in aer:
            dense[n] = np.zeros((1, 1, sizes[n]), self.dtype)  # placeholder for the shape check below
        if self.noise:
            dense = fill_noise(self.graph, {k: v for k, v in dense.items() if k not in aer} | {
                k: np.zeros((T, B, sizes[k])) for k in aer}, self.noise_seed)
        args = []
        for n, size, mode in prog.inputs:
            if mode == "aer":
                args += list(_csr(events[n], T, B, size, n))
            else:
                if n not in dense:
                    raise InputError(f"input: missing input '{n}'")
                a = check_inputs({n: size}, {n: dense[n]}, self.dtype, unchecked=prog.meta["finite"])[n]
                if a.shape[:2] != (T, B):
                    raise InputError(f"input '{n}': [T, B] = {a.shape[:2]} differs from the events' {(T, B)}")
                args.append(a)
        out, nz = self._whole_call(prog, T, B, args)
        return self._results(prog, out, nz, T)

    def _results(self, prog: CpuProgram, out: np.ndarray, nz: np.ndarray, T: int):
        outs = {o: np.ascontiguousarray(out[:, :, off:off + n]) for o, (off, n) in prog.outputs.items()}
        act = Activity(T, self.batch, steps=self.steps.copy())
        for k, name in enumerate(prog.nz):
            act.nonzero[name] = np.ascontiguousarray(nz[:, :, k])
            act.kinds[name] = self.graph.nodes[name].out_kind
            act.sizes[name] = self.graph.nodes[name].size
        for name in self.record:
            act.traces[name] = {var: np.ascontiguousarray(out[:, :, off:off + n])
                                for var, (off, n) in prog.records.get(name, {}).items()}
        outs.update(self.decisions(out))
        return outs, act

    def decisions(self, out: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """EarlyExit decisions and times [B]; undecided samples decide at the last step run."""
        if self.program.exit is None:
            return {}
        name, off, n, _ = self.program.exit
        last = self.held[:, off:off + n] if out is None else out[-1, :, off:off + n]
        open_ = self.dec[:, 1] < 0
        dec, tim = self.dec[:, 0].copy(), self.dec[:, 1].copy()
        dec[open_] = np.argmax(last[open_], axis=1)
        tim[open_] = self.t - 1
        return {name + DECISION: dec, name + TIME: tim}

    # -- streaming --------------------------------------------------------------
    def step(self, x_t) -> dict[str, np.ndarray]:
        """Advance one step with inputs [B, F] (or a dict by name); returns {output: [B, n]}."""
        fast = self._step_fast(x_t)
        if fast is not None:
            return fast
        if not isinstance(x_t, Mapping):
            data = [n for n in self.graph.inputs if n not in self.noise]
            x_t = {data[0]: x_t} if len(data) == 1 else x_t
        xs = self._dense_inputs({k: np.asarray(v)[None] for k, v in x_t.items()}, "step input")
        B = next(iter(xs.values())).shape[1]
        if self.batch is None:
            self.reset(B)
        elif B != self.batch:
            raise InputError(f"step input: batch {B} differs from the running batch {self.batch}; call reset({B}) first")
        out, nz = self._call(self.program, 1, [xs[n] for n, _, _ in self.program.inputs])
        self._nz.append(nz[0])
        return {o: out[0, :, off:off + n].copy() for o, (off, n) in self.program.outputs.items()}

    def _step_fast(self, x_t) -> dict[str, np.ndarray] | None:
        """One input, one finite [B, F] array of the running batch: skip the general checks (streaming latency)."""
        prog = self.program
        if (len(prog.inputs) != 1 or self.noise or not isinstance(x_t, np.ndarray) or x_t.ndim != 2
                or self.batch is None or x_t.shape != (self.batch, prog.inputs[0][1])):
            return None
        x = np.ascontiguousarray(x_t, self.dtype).reshape(1, self.batch, -1)
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            return None  # the general path names the problem
        if self._buf1 is None:
            self._buf1 = (np.zeros((1, self.batch, max(1, prog.bufs.size["OUT"])), self.dtype),
                          np.zeros((1, self.batch, len(prog.nz)), np.int64), self.kernel(prog),
                          np.zeros((self.batch, 1), np.int64))
        out, nz, fn, fin = self._buf1  # x is finite (tested above): the kernel's flags are not read
        if prog.exit is not None:
            nz[:] = 0  # decided samples skip the step and count nothing
        fn(1, self.t, 0, self.batch, x, self.P["PF"], self.P["PI"], self.S["SF"], self.S["SI"], self.R["RF"],
           self.R["RI"], out, nz, self.steps, self.dec, self.held, fin)
        self.t += 1
        self._nz.append(nz[0].copy())
        return {o: out[0, :, off:off + n].copy() for o, (off, n) in prog.outputs.items()}

    def activity(self) -> Activity:
        """What the steps since the last reset did (streaming)."""
        T = len(self._nz)
        nz = np.stack(self._nz) if T else np.zeros((0, self.batch or 0, len(self.program.nz)), np.int64)
        act = Activity(T, self.batch or 0, steps=self.steps.copy())
        for k, name in enumerate(self.program.nz):
            act.nonzero[name] = nz[:, :, k]
            act.kinds[name] = self.graph.nodes[name].out_kind
            act.sizes[name] = self.graph.nodes[name].size
        return act


def feed_forward(graph: Graph) -> bool:
    """No cycle through the graph's edges: none delayed, none from a later node of the schedule to an earlier one
    (a neuron's own states are no edge). The structural rule for the default loop of whole sequences."""
    pos = {n: k for k, n in enumerate(graph.schedule())}
    return all(e.delay == 0 and pos[e.src] < pos[e.dst] for e in graph.edges if e.src in pos and e.dst in pos)


def _same_layout(a: CpuProgram, b: CpuProgram) -> None:
    """Both kernels read the runtime's one set of parameters, states and rings: their layouts must agree."""
    for buf in ("PF", "PI", "SF", "SI", "RF", "RI"):
        same = a.bufs.size[buf] == b.bufs.size[buf] and len(a.bufs.init.get(buf, ())) == len(b.bufs.init.get(buf, ())) \
            and all(o1 == o2 and np.array_equal(v1, v2) for (o1, v1), (o2, v2) in
                    zip(a.bufs.init.get(buf, ()), b.bufs.init.get(buf, ())))
        if not same:
            raise AssertionError(f"cpu backend: the node-major kernel lays out {buf} differently from the stepwise one")


def _csr(ev, T: int, B: int, n: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(ptr [T*B+1], idx) of spike events (t, b, i), sorted by (t, b)."""
    try:
        t, b, i = (np.asarray(a, np.int64).reshape(-1) for a in ev)
    except (TypeError, ValueError):
        raise InputError(f"events '{name}': expected three integer arrays (t, b, i)") from None
    if not (t.size == b.size == i.size):
        raise InputError(f"events '{name}': t, b and i differ in length ({t.size}, {b.size}, {i.size})")
    for a, hi, what in ((t, T, "t"), (b, B, "b"), (i, n, "i")):
        if a.size and (a.min() < 0 or a.max() >= hi):
            raise InputError(f"events '{name}': {what} must lie in [0, {hi}), got [{a.min()}, {a.max()}]")
    key = t * B + b
    if key.size > 1 and np.any(key[1:] < key[:-1]):  # np.nonzero of [T, B, F] is already in (t, b) order
        order = np.argsort(key, kind="stable")
        key, i = key[order], i[order]
    ptr = np.zeros(T * B + 1, np.int64)
    np.cumsum(np.bincount(key, minlength=T * B), out=ptr[1:])
    return ptr, np.ascontiguousarray(i)


def run(graph: Graph, x, dtype: str = "float64", record: bool | Iterable[str] = False):
    """Lower `graph` for the cpu backend and run it on x [T, B, F]; returns ({output: [T, B, n]}, Activity)."""
    return CpuRuntime(graph, dtype, record=record).run(x)
