"""Executing a NumPy Program: `run(x[T,B,F])` for whole sequences, `step(x_t)` for streaming.

This is the reference semantics of DESIGN §3: at each step the nodes are evaluated
in schedule order; a port receives the sum of its edges, a delay-d edge the
source's output from step t-d (zeros before step 0).

Early exit (an `EarlyExit` node, seed 001): once a sample has decided it is no
longer computed — every later step runs on the sub-batch of undecided samples,
the sequence stops when all have decided, the decided samples' outputs and
states stay frozen, and `Activity.steps[b]` counts the steps sample b ran.
Missing noise inputs of stochastic neurons are drawn from a seeded generator.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from snnc.backends.numpy.lower import Program, lower
from snnc.compiler.errors import GraphError, InputError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives.rc import DECISION, TIME
from snnc.compiler.activity import Activity
from snnc.runtime.inputs import check_inputs, fill_noise, noise_inputs


class NumpyRuntime:
    """Preallocated state for one Program; `reset(B)` then `step(x_t)` repeatedly, or `run(x)`."""

    def __init__(self, program: Program | Graph, dtype: str = "float64", record: bool | Iterable[str] = False,
                 noise_seed: int = 0):
        self.program = program if isinstance(program, Program) else lower(program, dtype)
        self.dtype = self.program.dtype
        names = [p.name for p in self.program.plans]
        self.record = set(names) if record is True else set(record or ())
        unknown = self.record - set(names)
        if unknown:
            raise InputError(f"record: unknown node(s) {', '.join(sorted(unknown))}")
        exits = [p for p in self.program.plans if type(p.node).__name__ == "EarlyExit"]
        if len(exits) > 1:
            raise GraphError(f"graph has {len(exits)} EarlyExit nodes ({', '.join(p.name for p in exits)}); "
                             "the numpy runtime supports one decision per sample")
        self.exit = exits[0] if exits else None
        g = self.program.graph
        # state outputs `node.v`: node -> [(output name, state)]
        self.state_outputs: dict[str, list[tuple[str, str]]] = {}
        for o in self.program.outputs:
            node, var = g.output_ref(o)
            if var is not None:
                self.state_outputs.setdefault(node, []).append((o, var))
        self.noise_seed = noise_seed
        self.noise = noise_inputs(self.program.graph)
        self.batch = None
        self.t = 0
        # run(), for neurons outside every cycle (runtime/numpy/parallel.py): None (default) solves their linear
        # states for all T when T is long and one step narrow; True always does; False steps them
        self.parallel_time: bool | None = None
        self.last_path: dict | None = None  # which loop the last run() took and which nodes ran parallel in time
        self._fast = None  # the whole-sequence loop's ops and kernels (runtime/numpy/fastloop.py), made on first use
        self._components = None  # the graph's strongly connected sets in order (fastloop.components), found once
        from snnc.runtime.numpy.pool import Pool
        self._pool = Pool()  # run()'s large arrays, reused by the next run of the same shapes
        self._pending = lambda: None  # the last run's activity counts (a weakref) while any may be uncounted

    def _kinds(self) -> tuple[dict[str, str], set]:
        """Input kinds, and the graded inputs that must be integers (read by a fixed-point node as int64)."""
        from snnc.compiler.inputkinds import integer_inputs
        g = self.program.graph
        # (noise inputs are uniform u in [0, 1) by design: an integer step reads them as floor(u·2^16))
        return {n: g.nodes[n].kind for n in g.inputs if n not in self.noise}, integer_inputs(g)

    # -- streaming --------------------------------------------------------------
    def reset(self, batch: int) -> None:
        """Allocate states and delay buffers for `batch` samples at their initial values."""
        self.batch, self.t = batch, 0
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.hist: dict[str, np.ndarray] = {}
        for p in self.program.plans:
            init = p.node.initial_state()
            # quantized (fixed-point) primitives keep exact integer states and outputs
            dt = np.int64 if p.node.integer else self.dtype
            self.state[p.name] = {k: np.repeat(v.astype(dt)[None, :], batch, axis=0) for k, v in init.items()}
            if p.history:
                self.hist[p.name] = np.zeros((p.history, batch, p.node.size), dt)
        self._nz: dict[str, list[np.ndarray]] = {p.name: [] for p in self.program.plans}
        self._tr: dict[str, dict[str, list[np.ndarray]]] = {n: {} for n in self.record}
        self.active = np.ones(batch, bool)
        self.decision = np.zeros(batch, np.int64)
        self.decision_time = np.full(batch, -1, np.int64)
        self.steps_run = np.zeros(batch, np.int64)
        # last full-batch output of nodes whose values outlive a sample's exit (graph outputs, recorded nodes)
        self._held = {n: np.zeros((batch, self.program.graph.output_size(n)), self.dtype)
                      for n in set(self.program.outputs) | self.record}
        self._noise_rng = None

    def _delayed(self, src: str, d: int) -> np.ndarray:
        buf = self.hist[src]
        return buf[(self.t - d) % buf.shape[0]]  # unwritten slots are still zero before step d

    def step(self, x_t: np.ndarray | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Advance one step with inputs [B, F]; returns {output name: [B, n]}."""
        sizes = self.program.input_sizes
        data = [n for n in self.program.inputs if n not in self.noise]
        if not isinstance(x_t, Mapping):
            x_t = {data[0]: x_t} if len(data) == 1 else x_t
        x_t = dict(x_t)
        first = next((np.asarray(x_t[n]) for n in data if n in x_t), None)
        if first is not None and first.ndim == 2 and self.batch is None:
            self.reset(first.shape[0])
        missing = [n for n in self.noise if n not in x_t]
        if missing and first is not None and first.ndim == 2:
            if self._noise_rng is None:  # one generator per reset: with one noise input, streaming draws what run() draws
                import warnings
                from snnc.runtime.inputs import NoiseWarning
                self._noise_rng = np.random.default_rng(self.noise_seed)
                warnings.warn(f"step input: noise input(s) {', '.join(missing)} not given; drawing uniform noise "
                              f"from numpy.random.default_rng(seed={self.noise_seed})", NoiseWarning, stacklevel=2)
            for n in missing:
                x_t[n] = self._noise_rng.random((first.shape[0], sizes[n]))
        xs = check_inputs(sizes, {k: np.asarray(v)[None] for k, v in x_t.items()}, self.dtype, "step input",
                          *self._kinds())
        B = next(iter(xs.values())).shape[1]
        if self.batch is None:
            self.reset(B)
        elif B != self.batch:
            raise InputError(f"step input: batch {B} differs from the running batch {self.batch}; call reset({B}) first")
        return self._step({k: v[0] for k, v in xs.items()})

    def _step(self, xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # idx: the undecided samples when some have exited (None: the whole batch, the fast path)
        idx = None if self.active.all() else np.flatnonzero(self.active)
        cur: dict[str, np.ndarray] = {}
        for p in self.program.plans:
            if p.inputs:
                inp = {}
                for port, srcs in p.inputs.items():
                    acc = None
                    for src, d in srcs:
                        if d == 0:
                            v = cur[src]
                        else:
                            v = self._delayed(src, d)
                            v = v if idx is None else v[idx]
                        acc = v if acc is None else acc + v
                    inp[port] = acc
            else:
                inp = {"x": xs[p.name] if idx is None else xs[p.name][idx]}
            full_state = self.state[p.name]
            st = full_state if idx is None else {k: v[idx] for k, v in full_state.items()}
            out = p.kernel(p.params, st, inp)
            if idx is not None:
                for k, v in st.items():
                    full_state[k][idx] = v
            cur[p.name] = out
            nz = np.count_nonzero(out, axis=1)
            if idx is not None:
                nz_full = np.zeros(self.batch, np.int64)
                nz_full[idx] = nz
                nz = nz_full
            self._nz[p.name].append(nz)
            if p.name in self._held:
                self._held[p.name] = held = np.array(self._held[p.name], dtype=out.dtype)
                held[slice(None) if idx is None else idx] = out
            for o, var in self.state_outputs.get(p.name, ()):  # the whole batch: exited samples keep their state
                self._held[o] = np.array(full_state[var])
            if p.name in self.record:
                tr = self._tr[p.name]
                tr.setdefault("out", []).append(np.array(self._held[p.name]))
                for k, v in full_state.items():
                    tr.setdefault(k, []).append(np.array(v))
        for name, buf in self.hist.items():
            if idx is None:
                buf[self.t % buf.shape[0]] = cur[name]
            else:
                buf[self.t % buf.shape[0]][idx] = cur[name]
        self.steps_run[self.active] += 1
        if self.exit is not None:
            probs = cur[self.exit.name]
            crossed = probs.max(axis=1) > self.exit.node.theta
            rows = np.flatnonzero(self.active)[crossed]
            self.decision[rows] = np.argmax(probs[crossed], axis=1)
            self.decision_time[rows] = self.t
            self.active[rows] = False
        self.t += 1
        return {o: self._held[o] for o in self.program.outputs}

    def decisions(self) -> dict[str, np.ndarray]:
        """{'<exit>:decision', '<exit>:time'} [B]; undecided samples decide now, at the last step run."""
        if self.exit is None:
            return {}
        name = self.exit.name
        last = self._held[name]
        open_ = np.flatnonzero(self.decision_time < 0)
        self.decision[open_] = np.argmax(last[open_], axis=1)
        self.decision_time[open_] = self.t - 1
        return {name + DECISION: self.decision.copy(), name + TIME: self.decision_time.copy()}

    def activity(self, T: int | None = None) -> Activity:
        """What the steps since the last reset did; padded to T steps (no work) after an early stop."""
        g = self.program.graph
        T = self.t if T is None else T
        B = self.batch or 0
        act = Activity(T, B, steps=self.steps_run.copy() if self.batch else None)
        for p in self.program.plans:
            nz = np.zeros((T, B), np.int64)
            if self._nz[p.name]:
                nz[:self.t] = np.stack(self._nz[p.name])
            act.nonzero[p.name] = nz
            act.kinds[p.name] = g.nodes[p.name].out_kind
            act.sizes[p.name] = g.nodes[p.name].size
        for n, d in self._tr.items():
            # after everyone has exited nothing changes: the frozen values repeat
            act.traces[n] = {k: np.concatenate([np.stack(v)] + [np.stack(v)[-1:]] * (T - self.t)) for k, v in d.items()}
        return act

    # -- whole sequences --------------------------------------------------------
    def run(self, x, progress: bool = False) -> tuple[dict[str, np.ndarray], Activity]:
        """Run a whole sequence x [T, B, F] (or a dict by input name) from the initial state.

        Outputs are [T, B, n] per output node plus, with an EarlyExit node, its decisions and decision times [B].
        """
        if self.noise:
            x = fill_noise(self.program.graph, x, self.noise_seed)
        fast = self.exit is None and not self.record and not self.state_outputs and not progress
        # the fast loop's float32 products list an input's nonzeros: its value test (0/1 for a spike input, finite
        # for a graded one) is made in that pass (one input only: with several, the first bad one in order is
        # the error, as check_inputs finds it; not an integer input, which is tested for integers too)
        kinds, integer = self._kinds()
        listed = [n for n in kinds if n not in integer and len(self.program.inputs) == 1] \
            if fast and self.dtype == np.float32 else []
        xs = check_inputs(self.program.input_sizes, x, self.dtype, "input", kinds, integer, listed=listed)
        if fast:
            from snnc.runtime.numpy import fastloop  # the same kernels without per-step bookkeeping
            return fastloop.run(self, xs, self.parallel_time, [n for n in listed if _given(x, n).dtype == self.dtype])
        T, B = next(iter(xs.values())).shape[:2]
        self.reset(B)
        self.last_path = {"loop": "step", "parallel": [],
                          "stepwise": [p.name for p in self.program.plans if p.name not in self.program.inputs]}
        outs = {o: np.empty((T, B, self.program.graph.output_size(o)), self.dtype) for o in self.program.outputs}
        steps = range(T)
        if progress:
            from tqdm import tqdm
            steps = tqdm(steps, desc="numpy run", unit="step", disable=None, leave=False)
        for t in steps:
            if not self.active.any():
                for o in outs:
                    outs[o][t:] = self._held[o]  # every sample has decided: the rest of the sequence is skipped
                break
            y = self._step({k: v[t] for k, v in xs.items()})
            for o, v in y.items():
                outs[o][t] = v
        outs.update(self.decisions())
        return outs, self.activity(T)


def _given(x, name: str) -> np.ndarray:
    """The array given for input `name` (x: one array or a dict by name), as check_inputs read it."""
    return np.asarray(x[name] if isinstance(x, Mapping) else x)


def run(graph: Graph, x, dtype: str = "float64", record: bool | Iterable[str] = False) -> tuple[dict[str, np.ndarray], Activity]:
    """Lower `graph` and run it on x [T, B, F]; returns ({output: [T, B, n]}, Activity)."""
    return NumpyRuntime(lower(graph, dtype), record=record).run(x)
