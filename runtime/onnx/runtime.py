"""Executing snnc ONNX models with onnxruntime: `run(x[T,B,F])` and, for step models, `step(x_t)`.

The model's snnc metadata (written by `snnc.backends.onnx.lower.lower`) says
its mode, dtype, inputs, outputs, which nodes it counts and its states. Spike
counts come from the model's `<node>.nonzero` outputs, computed inside the time
loop, so the Activity is measured by the run itself; Input nodes are counted
from the input array. Graded nodes are counted only in models lowered with
activity="all".
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from snnc.compiler.errors import InputError, SnncError
from snnc.compiler.ir import Edge
from snnc.compiler.primitives.rc import DECISION, TIME
from snnc.compiler.activity import Activity
from snnc.runtime.inputs import check_inputs


def one_line(e: BaseException) -> str:
    """An exception's message on one line (onnxruntime's span several)."""
    return " ".join(str(e).split()) or type(e).__name__


def session_options(threads: int | None = None):
    """onnxruntime session options: full graph optimisation, sequential, `threads` intra-op threads."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3  # warnings (e.g. unused initializers) are not the user's business
    if threads:
        so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
    return so


class OnnxRuntime:
    """An onnxruntime session over an snnc model (ModelProto, bytes or file path)."""

    def __init__(self, model, threads: int | None = None, where: str | None = None, noise_seed: int = 0):
        import onnxruntime as ort

        self.noise_seed = noise_seed

        if isinstance(model, (str, os.PathLike)):
            where = where or str(model)
            if not Path(model).is_file():
                raise SnncError(f"{model}: no such file")
            data = Path(model).read_bytes()
        elif isinstance(model, (bytes, bytearray)):
            data = bytes(model)
        else:
            data = model.SerializeToString()
        where = where or "onnx model"
        try:
            self.session = ort.InferenceSession(data, session_options(threads), providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for invalid models
            raise SnncError(f"{where}: onnxruntime cannot load the model: {one_line(e)}") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if "snnc.mode" not in meta:
            raise SnncError(f"{where}: not an snnc ONNX model (no snnc metadata); compile it with 'snnc compile -t onnx'")
        try:
            self.mode = meta["snnc.mode"]
            self.dtype = np.dtype(meta["snnc.dtype"])
            self.inputs: dict[str, int] = json.loads(meta["snnc.inputs"])
            self.outputs: dict[str, int] = json.loads(meta["snnc.outputs"])
            self.nodes: dict[str, list] = json.loads(meta["snnc.nodes"])
            self.counted: list[str] = json.loads(meta["snnc.counted"])
            self.states: list[dict] = json.loads(meta["snnc.states"])
            self.noise: list[str] = json.loads(meta.get("snnc.noise", "[]"))
            self.exit: str = meta.get("snnc.exit", "")
        except (KeyError, ValueError, TypeError) as e:
            raise SnncError(f"{where}: corrupt snnc metadata ({one_line(e)})") from None
        self.where = where
        self.batch: int | None = None

    def _kinds(self) -> dict[str, str]:
        """Input kinds as the model records them (snnc.nodes: [type, kind, size])."""
        return {n: self.nodes[n][1] for n in self.inputs if n in self.nodes}

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            names = [o.name for o in self.session.get_outputs()]
            return dict(zip(names, self.session.run(names, feeds)))
        except Exception as e:
            raise SnncError(f"{self.where}: onnxruntime failed: {one_line(e)}") from None

    def _activity(self, xs: dict[str, np.ndarray], counts: dict[str, np.ndarray], T: int, B: int,
                  steps: np.ndarray | None = None) -> Activity:
        act = Activity(T, B, steps=steps)
        ran = np.arange(T)[:, None] < act.steps[None, :]  # [T, B]: steps each sample actually ran
        for name, (_, kind, size) in self.nodes.items():
            if name in xs:
                nz = np.count_nonzero(xs[name], axis=2) * ran  # an exited sample reads no more input
            elif name in counts:
                nz = counts[name]
            else:
                continue
            act.nonzero[name] = np.asarray(nz, np.int64)
            act.kinds[name], act.sizes[name] = kind, int(size)
        return act

    def _fill_noise(self, x):
        """Missing noise inputs drawn like the NumPy runtime does (same generator, same order)."""
        if not self.noise:
            return x
        from snnc.compiler.ir import Graph
        from snnc.compiler.primitives import Input
        from snnc.runtime.inputs import fill_noise

        g = Graph()  # just what fill_noise reads: the inputs, their sizes, which ones feed noise ports
        for n, size in self.inputs.items():
            g.add(n, Input(size))
        g.edges = [Edge(n, "_", "noise") for n in self.noise]
        return fill_noise(g, x, seed=self.noise_seed)

    # -- whole sequences --------------------------------------------------------
    def run(self, x, progress: bool = False) -> tuple[dict[str, np.ndarray], Activity]:
        """Run a whole sequence x [T, B, F] (or a dict by input name) from the initial state.

        Outputs are [T, B, n] per output node plus, with an EarlyExit node, its decisions and decision times [B].
        """
        xs = check_inputs(self.inputs, self._fill_noise(x), self.dtype, "input", self._kinds())
        T, B = next(iter(xs.values())).shape[:2]
        if self.mode == "loop":
            res = self._run(xs)
            outs = {o: res[o] for o in self.outputs}
            steps = None
            if self.exit:
                outs.update({k: res[k] for k in (self.exit + DECISION, self.exit + TIME)})
                steps = outs[self.exit + TIME] + 1
            counts = {n: res[f"{n}.nonzero"] for n in self.counted}
            return outs, self._activity(xs, counts, T, B, steps)
        self.reset(B)
        outs = {o: np.empty((T, B, n), self.dtype) for o, n in self.outputs.items()}
        steps = range(T)
        if progress:
            from tqdm import tqdm
            steps = tqdm(steps, desc="onnx run", unit="step", disable=None, leave=False)
        for t in steps:
            if self.exit and not self.state[self._slot["active"]].any():
                for o in outs:  # every sample has decided: the rest of the sequence is skipped
                    outs[o][t:] = outs[o][t - 1]
                break
            for o, v in self._step({k: v[t] for k, v in xs.items()}).items():
                outs[o][t] = v
        outs.update(self.decisions())
        act = self.activity(T)
        return outs, self._activity(xs, act.nonzero, T, B, act.steps)

    # -- streaming (step models) ------------------------------------------------
    def reset(self, batch: int) -> None:
        """Set every state input to its initial value for `batch` samples."""
        if self.mode != "step":
            raise SnncError(f"{self.where}: a loop model runs whole sequences; compile with --onnx-mode step to stream")
        self.batch, self.t = batch, 0
        self.state = {}
        for s in self.states:
            shape = tuple(batch if d == "B" else d for d in s["shape"])
            self.state[s["input"]] = np.ascontiguousarray(np.broadcast_to(np.asarray(s["init"], s["dtype"]), shape))
        # the early-exit bookkeeping states, by variable
        self._slot = {s["var"]: s["input"] for s in self.states if s["node"] == self.exit}
        self._counts: dict[str, list[np.ndarray]] = {n: [] for n in self.counted}

    def step(self, x_t: np.ndarray | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Advance one step with inputs [B, F]; returns {output name: [B, n]}."""
        if self.mode != "step":
            raise SnncError(f"{self.where}: a loop model runs whole sequences; compile with --onnx-mode step to stream")
        if not isinstance(x_t, Mapping):
            x_t = {next(iter(self.inputs)): x_t} if len(self.inputs) == 1 else x_t
        xs = check_inputs(self.inputs, {k: np.asarray(v)[None] for k, v in x_t.items()}, self.dtype, "step input",
                          self._kinds())
        B = next(iter(xs.values())).shape[1]
        if self.batch is None:
            self.reset(B)
        elif B != self.batch:
            raise InputError(f"step input: batch {B} differs from the running batch {self.batch}; call reset({B}) first")
        return self._step({k: v[0] for k, v in xs.items()})

    def _step(self, xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        res = self._run({**xs, **self.state})
        for s in self.states:
            self.state[s["input"]] = res[s["output"]]
        for n in self.counted:
            self._counts[n].append(res[f"{n}.nonzero"])
        self.t += 1
        return {o: res[o] for o in self.outputs}

    def decisions(self) -> dict[str, np.ndarray]:
        """{'<exit>:decision', '<exit>:time'} [B] (step models); undecided samples decide now, at the last step run."""
        if not self.exit:
            return {}
        active = self.state[self._slot["active"]]
        last = np.argmax(self.state[self._slot["held"]], axis=1)
        decision = np.where(active, last, self.state[self._slot["decision"]])
        time = np.where(active, self.t - 1, self.state[self._slot["time"]])
        return {self.exit + DECISION: decision.astype(np.int64), self.exit + TIME: time.astype(np.int64)}

    def activity(self, T: int | None = None) -> Activity:
        """What the steps since the last reset did (step models), padded to T steps (no work) after an early stop."""
        T = self.t if T is None else T
        B = self.batch or 0
        counts = {}
        for n, c in self._counts.items():
            counts[n] = np.zeros((T, B), np.int64)
            if c:
                counts[n][:len(c)] = np.stack(c)
        steps = self.decisions()[self.exit + TIME] + 1 if self.exit else None
        return self._activity({}, counts, T, B, steps)
