"""Executing a NumPy Program: `run(x[T,B,F])` for whole sequences, `step(x_t)` for streaming.

This is the reference semantics of DESIGN §3: at each step the nodes are evaluated
in schedule order; a port receives the sum of its edges, a delay-d edge the
source's output from step t-d (zeros before step 0).
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from snnc.backends.numpy_backend import Program, lower
from snnc.compiler.errors import InputError
from snnc.compiler.ir import Graph
from snnc.runtime.activity import Activity
from snnc.runtime.inputs import check_inputs


class NumpyRuntime:
    """Preallocated state for one Program; `reset(B)` then `step(x_t)` repeatedly, or `run(x)`."""

    def __init__(self, program: Program | Graph, dtype: str = "float64", record: bool | Iterable[str] = False):
        self.program = program if isinstance(program, Program) else lower(program, dtype)
        self.dtype = self.program.dtype
        names = [p.name for p in self.program.plans]
        self.record = set(names) if record is True else set(record or ())
        unknown = self.record - set(names)
        if unknown:
            raise InputError(f"record: unknown node(s) {', '.join(sorted(unknown))}")
        self.batch = None
        self.t = 0

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

    def _delayed(self, src: str, d: int) -> np.ndarray:
        buf = self.hist[src]
        return buf[(self.t - d) % buf.shape[0]]  # unwritten slots are still zero before step d

    def step(self, x_t: np.ndarray | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Advance one step with inputs [B, F]; returns {output name: [B, n]}."""
        sizes = self.program.input_sizes
        if not isinstance(x_t, Mapping):
            x_t = {self.program.inputs[0]: x_t} if len(sizes) == 1 else x_t
        xs = check_inputs(sizes, {k: np.asarray(v)[None] for k, v in x_t.items()}, self.dtype, "step input")
        B = next(iter(xs.values())).shape[1]
        if self.batch is None:
            self.reset(B)
        elif B != self.batch:
            raise InputError(f"step input: batch {B} differs from the running batch {self.batch}; call reset({B}) first")
        return self._step({k: v[0] for k, v in xs.items()})

    def _step(self, xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        cur: dict[str, np.ndarray] = {}
        for p in self.program.plans:
            if p.inputs:
                inp = {}
                for port, srcs in p.inputs.items():
                    acc = None
                    for src, d in srcs:
                        v = cur[src] if d == 0 else self._delayed(src, d)
                        acc = v if acc is None else acc + v
                    inp[port] = acc
            else:
                inp = {"x": xs[p.name]}
            out = p.kernel(p.params, self.state[p.name], inp)
            cur[p.name] = out
            self._nz[p.name].append(np.count_nonzero(out, axis=1))
            if p.name in self.record:
                tr = self._tr[p.name]
                tr.setdefault("out", []).append(np.array(out))
                for k, v in self.state[p.name].items():
                    tr.setdefault(k, []).append(np.array(v))
        for name, buf in self.hist.items():
            buf[self.t % buf.shape[0]] = cur[name]
        self.t += 1
        return {o: cur[o] for o in self.program.outputs}

    def activity(self) -> Activity:
        """What the steps since the last reset did."""
        g = self.program.graph
        act = Activity(self.t, self.batch or 0)
        for p in self.program.plans:
            act.nonzero[p.name] = (np.stack(self._nz[p.name]) if self._nz[p.name] else np.zeros((0, self.batch or 0))).astype(np.int64)
            act.kinds[p.name] = g.nodes[p.name].out_kind
            act.sizes[p.name] = g.nodes[p.name].size
        for n, d in self._tr.items():
            act.traces[n] = {k: np.stack(v) for k, v in d.items()}
        return act

    # -- whole sequences --------------------------------------------------------
    def run(self, x, progress: bool = False) -> tuple[dict[str, np.ndarray], Activity]:
        """Run a whole sequence x [T, B, F] (or a dict by input name) from the initial state."""
        xs = check_inputs(self.program.input_sizes, x, self.dtype)
        T, B = next(iter(xs.values())).shape[:2]
        self.reset(B)
        outs = {o: np.empty((T, B, self.program.graph.nodes[o].size), self.dtype) for o in self.program.outputs}
        steps = range(T)
        if progress:
            from tqdm import tqdm
            steps = tqdm(steps, desc="numpy run", unit="step", disable=None, leave=False)
        for t in steps:
            y = self._step({k: v[t] for k, v in xs.items()})
            for o, v in y.items():
                outs[o][t] = v
        return outs, self.activity()


def run(graph: Graph, x, dtype: str = "float64", record: bool | Iterable[str] = False) -> tuple[dict[str, np.ndarray], Activity]:
    """Lower `graph` and run it on x [T, B, F]; returns ({output: [T, B, n]}, Activity)."""
    return NumpyRuntime(lower(graph, dtype), record=record).run(x)
