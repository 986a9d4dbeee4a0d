"""Dataset evaluation for `snnc verify --dataset`: a function over a shard of sample indices returning exact counts.

`evaluate_shard(job, indices)` runs the reference graph (NumPy runtime) and one
target on the samples `indices` of the data set and returns `Counts`: correct
predictions of both, decision flips against the reference, spike agreement per
spiking layer, graded-output agreement, and the first step and layer where the
target diverged. Counts of disjoint shards merge exactly with `+` (sums, and the
earliest divergence), so shards can run anywhere (a Dask cluster, one by one).

Data set: an .npz with `x` [T, N, F] (time first, like every snnc input) and
labels `y`: [N] (one per sequence) or [T, N] (one per step).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from snnc.compiler.errors import InputError, SnncError
from snnc.compiler.ir import SPIKE, Graph
from snnc.compiler.primitives.rc import DECISION

# graded values agree within atol + rtol·|ref|, by dtype (spikes and decisions must be equal)
TOLERANCE = {"float64": (1e-9, 1e-7), "float32": (1e-4, 1e-4)}


@dataclass
class Counts:
    """Exact counts of one target on some samples; `a + b` merges two disjoint shards."""

    samples: int = 0
    scored: int = 0  # scored predictions (samples, or samples x steps for per-step labels)
    correct: int = 0  # the target's correct predictions
    ref_correct: int = 0  # the reference's on the same samples
    flips: int = 0  # predictions that differ from the reference's
    layers: dict[str, list[int]] = field(default_factory=dict)  # spiking layer -> [agree, total]
    outputs: dict[str, list[int]] = field(default_factory=dict)  # graded output -> [within tolerance, total]
    missing: list[str] = field(default_factory=list)  # spiking layers the target did not record
    first: tuple[int, int, str] | None = None  # (step, schedule rank, layer) of the earliest divergence

    def __add__(self, o: "Counts") -> "Counts":
        def add(a: dict, b: dict) -> dict:
            return {k: [x + y for x, y in zip(a.get(k, [0, 0]), b.get(k, [0, 0]))] for k in {**a, **b}}
        firsts = [f for f in (self.first, o.first) if f is not None]
        return Counts(self.samples + o.samples, self.scored + o.scored, self.correct + o.correct,
                      self.ref_correct + o.ref_correct, self.flips + o.flips, add(self.layers, o.layers),
                      add(self.outputs, o.outputs), sorted(set(self.missing) | set(o.missing)),
                      min(firsts) if firsts else None)


@dataclass
class Job:
    """What a shard needs: the graphs, how to run the target, the data, and how predictions are read."""

    reference: Graph  # run by the NumPy runtime in float64
    graph: Graph  # what the target runs (the reference, or its quantized version)
    run: Callable[[Graph, Any, dict], tuple[dict, Any]]  # the target's run_graph
    x: np.ndarray  # [T, N, F]
    y: np.ndarray  # [N] or [T, N]
    label_output: str
    dtype: str = "float64"
    skip_steps: int = 0
    rule: str = "last"  # per-sequence labels: argmax at the "last" step or of the time "sum"
    options: dict = field(default_factory=dict)
    dequantize: bool = False  # the target's graph is Loihi-quantized: compare its values in float units
    ref_cache: dict = field(default_factory=dict)  # shard key -> the reference run (the same for every target)


def load_dataset_file(path: str) -> tuple[np.ndarray, np.ndarray]:
    """x [T, N, F] and y [N] or [T, N] from an .npz; errors name the file and the array at fault."""
    from pathlib import Path
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--dataset {p}: no such file")
    try:
        with np.load(p, allow_pickle=False) as z:
            if "x" not in z.files or "y" not in z.files:
                raise InputError(f"--dataset {p}: needs arrays 'x' [T, N, F] and 'y' [N] or [T, N], has {', '.join(z.files)}")
            x, y = z["x"], z["y"]
    except InputError:
        raise
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"--dataset {p}: not a readable .npz ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    if x.ndim != 3:
        raise InputError(f"--dataset {p}: x must be [T, N, F], got shape {x.shape}")
    T, N = x.shape[:2]
    if y.shape not in ((N,), (T, N)):
        raise InputError(f"--dataset {p}: y must be [N] = [{N}] or [T, N] = [{T}, {N}] for x {list(x.shape)}, got {list(y.shape)}")
    if y.dtype.kind not in "iub":
        raise InputError(f"--dataset {p}: y must hold integer class labels, got dtype {y.dtype}")
    return x, y.astype(np.int64)


def predict(graph: Graph, outs: dict[str, np.ndarray], label_output: str, per_step: bool, skip: int, rule: str) -> np.ndarray:
    """Predicted classes: [T - skip, B] per step, else [B] (an EarlyExit's decision, else argmax at the last step / of the sum)."""
    exits = [n for n, v in graph.nodes.items() if type(v).__name__ == "EarlyExit"]
    if exits and not per_step:
        return np.asarray(outs[exits[0] + DECISION])
    y = outs[label_output]
    if per_step:
        return y[skip:].argmax(-1)
    return (y[-1] if rule == "last" else y[skip:].sum(0)).argmax(-1)


def spiking_nodes(graph: Graph) -> list[str]:
    return [n for n in graph.schedule() if graph.nodes[n].out_kind == SPIKE and type(graph.nodes[n]).__name__ != "Input"]


def _first_mismatch(a: np.ndarray, b: np.ndarray) -> int | None:
    """First step t (axis 0) where a and b differ anywhere."""
    bad = np.flatnonzero(np.any((a != b).reshape(a.shape[0], -1), axis=1))
    return int(bad[0]) if bad.size else None


def evaluate_shard(job: Job, indices) -> Counts:
    """Counts of the target on samples `indices` (the reference is run on the same samples)."""
    from snnc.compiler.readout import dequantize, is_quantized
    from snnc.runtime.numpy.runtime import NumpyRuntime
    idx = np.asarray(indices, dtype=np.int64)
    x = job.x[:, idx]
    per_step = job.y.ndim == 2
    y = job.y[:, idx] if per_step else job.y[idx]
    spk = spiking_nodes(job.reference)
    rank = {n: i for i, n in enumerate(job.reference.schedule())}
    key = idx.tobytes()
    if key not in job.ref_cache:
        job.ref_cache.clear()  # one shard at a time: the targets of a shard share its reference run
        job.ref_cache[key] = NumpyRuntime(job.reference, "float64", record=spk).run(x)
    ref_out, ref_act = job.ref_cache[key]
    outs, act = job.run(job.graph, x, {**job.options, "dtype": job.dtype, "record": spk})
    if job.dequantize:  # quantized values in float units, the reference's too when it is the quantized graph
        outs = {k: dequantize(job.graph, k, v)[0] if ":" not in k else v for k, v in outs.items()}
        if is_quantized(job.reference):
            ref_out = {k: dequantize(job.reference, k, v)[0] if ":" not in k else v for k, v in ref_out.items()}
    ref_pred = predict(job.reference, ref_out, job.label_output, per_step, job.skip_steps, job.rule)
    pred = predict(job.graph, outs, job.label_output, per_step, job.skip_steps, job.rule)
    truth = y[job.skip_steps:] if per_step else y
    c = Counts(samples=len(idx), scored=int(truth.size), correct=int((pred == truth).sum()),
               ref_correct=int((ref_pred == truth).sum()), flips=int((pred != ref_pred).sum()))
    firsts = []
    for n in spk:
        got = act.traces.get(n, {}).get("out")
        if got is None:
            c.missing.append(n)
            continue
        ref = ref_act.traces[n]["out"]
        if got.shape != ref.shape:
            raise SnncError(f"target returned spikes of '{n}' with shape {got.shape}, the reference {ref.shape}")
        same = (ref != 0) == (got != 0)
        c.layers[n] = [int(same.sum()), int(same.size)]
        t = _first_mismatch(ref != 0, got != 0)
        if t is not None:
            firsts.append((t, rank[n], n))
    atol, rtol = TOLERANCE[job.dtype]
    for o in job.reference.outputs:
        if job.reference.output_kind(o) == SPIKE or o not in outs:
            continue
        ref, got = np.asarray(ref_out[o], np.float64), np.asarray(outs[o], np.float64)
        ok = np.abs(got - ref) <= atol + rtol * np.abs(ref)
        c.outputs[o] = [int(ok.sum()), int(ok.size)]
        t = _first_mismatch(ok, np.ones_like(ok))
        if t is not None:
            firsts.append((t, rank[job.reference.output_ref(o)[0]], o))
    c.first = min(firsts) if firsts else None
    return c


def shards(n: int, size: int) -> list[np.ndarray]:
    """Sample indices 0..n-1 in consecutive shards of at most `size`."""
    return [np.arange(i, min(n, i + size)) for i in range(0, n, max(1, size))]
