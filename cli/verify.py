"""`snnc verify`: every target against the reference graph run by the NumPy runtime, and that against PyTorch.

On one input (`--input`, or random spikes) it prints the agreement of every output
and spiking layer; on a data set (`--dataset x.npz`, x [T, N, F], y [N] or [T, N])
it prints per target the accuracy, decision flips against the reference, spike
agreement per layer and the first step and layer where the target diverged.
`--quantize S` runs the quantized graph on the targets: compared with the float
graph by accuracy, and exactly with the NumPy integer runtime. A target that
cannot run the graph says so and fails; so does a spiking layer it did not record.
"""
from __future__ import annotations

import argparse

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.evaluate import TOLERANCE, Counts, Job, evaluate_shard, load_dataset_file, shards, spiking_nodes
from snnc.compiler.targets import get_target

SLOW = {"loihi": "Lava's CPU simulator runs at about 1 % of the NumPy runtime's speed"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--targets", default="numpy", help="comma-separated targets (default numpy)")
    p.add_argument("--input", help="input .npy [T, B, F]; default: random spikes")
    p.add_argument("--dataset", help="an .npz with x [T, N, F] and labels y [N] or [T, N]: accuracy per target")
    p.add_argument("--quantize", help="verify the graph quantized with this scheme (loihi, int8, float16) against the float one")
    p.add_argument("--calib", help="calibration input .npy [T, B, F] for --quantize (default: the first 32 samples of the data)")
    p.add_argument("--label-output", help="the output the --dataset accuracy scores (default: the first output)")
    p.add_argument("--skip-steps", type=int, default=0, help="warm-up steps not scored with per-step labels (default 0)")
    p.add_argument("--decision", choices=["last", "sum"], default="last",
                   help="per-sequence labels: argmax of the output at the last step or of its sum over time (default last)")
    p.add_argument("--samples", type=int, help="use only the first N samples of the data set")
    p.add_argument("--slow-samples", type=int, default=16,
                   help="samples the slow loihi target runs from the data set (default 16; Lava is ~1 %% of NumPy's speed)")
    p.add_argument("--shard-size", type=int, help="samples per shard of the data set evaluation (default: 64, and one "
                                                  "shard per worker for the slow loihi target)")
    p.add_argument("--workers", type=int, help="--dataset: Dask worker processes of an embedded LocalCluster (default: "
                                               "the cores available; 1 runs the shards in this process without Dask)")
    p.add_argument("--scheduler", help="--dataset: address of an existing Dask scheduler (tcp://HOST:PORT) instead "
                                       "of an embedded cluster")
    p.add_argument("--max-drop", type=float, default=1.0,
                   help="--quantize: accuracy points a quantized target may lose against the float graph (default 1.0)")
    p.add_argument("--min-decisions", type=float, default=99.5,
                   help="percent of decisions a float target must share with the reference (default 99.5)")
    p.add_argument("--steps", type=int, default=100, help="T of the random input (default 100)")
    p.add_argument("--batch", type=int, default=4, help="B of the random input (default 4)")
    p.add_argument("--rate", type=float, default=0.05, help="spike probability of the random input (default 0.05)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input (default 0)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float64", help="precision of the target runs (default float64)")
    p.add_argument("--atol", type=float, help="absolute tolerance of graded outputs (default per dtype: "
                                              + ", ".join(f"{k} {v[0]:g}" for k, v in TOLERANCE.items()) + ")")
    p.add_argument("--rtol", type=float, help="relative tolerance of graded outputs (default per dtype: "
                                              + ", ".join(f"{k} {v[1]:g}" for k, v in TOLERANCE.items()) + ")")
    p.add_argument("--min-agreement", type=float, default=99.9, help="percent of spike entries that must agree (default 99.9)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds before a Lava run is stopped (default 600)")


def _targets(args) -> dict:
    from snnc.cli.commands import _csv
    targets = _csv(args.targets)
    if not targets:
        raise SnncError("verify: --targets is empty; give e.g. --targets numpy,onnx")
    mods = {t: get_target(t) for t in targets}
    if "loihi" in mods:  # a missing Lava environment fails before any run, not after the other targets
        from snnc.runtime.lava.runner import lava_python
        lava_python()
    return mods


def _torch_run(module):
    """A run_graph-like function running the PyTorch module (spikes of its layers as traces)."""
    def run(graph, x, options):
        from snnc.compiler.activity import Activity
        from snnc.frontends.reference import torch_reference
        from snnc.runtime.inputs import fill_noise, noise_inputs
        if noise_inputs(graph):  # the noise the NumPy runtime draws (seed 0), handed to the stochastic layers
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                x = fill_noise(graph, x, seed=0)
        outs, spikes = torch_reference(module, graph, x)
        T, B = np.shape(next(iter(x.values())) if isinstance(x, dict) else x)[:2]
        act = Activity(T, B)
        act.traces = {n: {"out": s} for n, s in spikes.items()}
        return outs, act
    return run


def run(args: argparse.Namespace) -> int:
    from snnc.cli.commands import load_input, model_graph
    mods = _targets(args)
    if args.input and args.dataset:
        raise SnncError("verify: give --input or --dataset, not both")
    data_x = data_y = None
    if args.dataset:
        data_x, data_y = load_dataset_file(args.dataset)
        if args.samples:
            data_x, data_y = data_x[:, :args.samples], data_y[..., :args.samples]
    x = load_input(args.input) if args.input else data_x
    graph, module = model_graph(args, "float64", x)
    qgraph = None
    if args.quantize:
        from snnc.compiler import pipeline
        calib = load_input(args.calib, "--calib") if args.calib else (x[:, :32] if x is not None and not isinstance(x, dict) else None)
        qgraph = pipeline.apply(graph, quantize=args.quantize, calib=calib)
    if args.dataset:
        return _run_dataset(args, mods, graph, qgraph, module, data_x, data_y)
    from snnc.cli.verify_input import run_one_input
    return run_one_input(args, mods, graph, qgraph, module, x)


def _fmt_first(c: Counts) -> str:
    return "none" if c.first is None else f"step {c.first[0]}, {c.first[2]}"


def _line(name: str, c: Counts, ok: bool | None, extra: str = "") -> str:
    acc = 100 * c.correct / max(1, c.scored)
    ref = 100 * c.ref_correct / max(1, c.scored)
    spk = min((100 * a / max(1, t) for a, t in c.layers.values()), default=100.0)
    flag = {True: "PASS", False: "FAIL", None: "    "}[ok]
    return (f"  {flag} {name:<18} {c.samples:>6} {acc:9.2f} % {ref:9.2f} % {100 * c.flips / max(1, c.scored):8.3f} % "
            f"{spk:10.4f} %  {_fmt_first(c)}{extra}")


def _evaluate(args, job: Job, n: int, target: str, desc: str) -> Counts:
    """The target's counts over the first n samples, shard by shard: on Dask unless one worker suffices."""
    from snnc.compiler.distributed import default_workers, run_shards, shard_size
    workers = args.workers if args.workers is not None else default_workers()
    if workers < 1:
        raise SnncError(f"verify: --workers must be a positive integer, got {workers}")
    parts = shards(n, shard_size(target, n, workers, args.shard_size))
    if not args.scheduler:
        workers = min(workers, len(parts))  # a cluster for one shard only costs its start-up
    return run_shards(evaluate_shard, job, parts, Counts(), workers=workers, scheduler=args.scheduler, desc=desc)


def _check_labels(path: str, graph, label: str, y) -> None:
    """Labels must be classes of the scored output: checked before any shard starts."""
    import numpy as np
    exits = [n for n, v in graph.nodes.items() if type(v).__name__ == "EarlyExit"]
    classes = graph.nodes[exits[0]].size if exits else graph.output_size(label)
    bad = np.flatnonzero((y < 0) | (y >= classes))
    if bad.size:
        raise SnncError(f"--dataset {path}: label {int(y.flat[bad[0]])} is out of range for output '{label}' "
                        f"with {classes} classes (0..{classes - 1})")


def _run_dataset(args, mods, graph, qgraph, module, x, y) -> int:
    from snnc.compiler.errors import LoweringError
    from snnc.compiler.readout import is_quantized
    label = args.label_output or graph.outputs[0]
    if label not in graph.outputs:
        raise SnncError(f"verify: --label-output '{label}' is not a graph output (outputs: {', '.join(graph.outputs)})")
    N = x.shape[1]
    _check_labels(args.dataset, graph, label, y)
    per = "per step" if y.ndim == 2 else f"per sequence ({args.decision} step)"
    print(f"verify {args.model} on {args.dataset}: {N} samples, x {list(x.shape)} [T, N, F], labels {per}, "
          f"scored output '{label}'" + (f", first {args.skip_steps} steps not scored" if args.skip_steps else ""))
    kinds = ", ".join(f"{n} {v['kind']} ({v['from']})" for n, v in graph.meta.get("input_kinds", {}).items())
    print(f"reference: the float graph on the NumPy runtime (float64); input kinds: {kinds}")
    base = dict(reference=graph, x=x, y=y, label_output=label, skip_steps=args.skip_steps, rule=args.decision)
    print(f"  {'':4} {'target':<18} {'samples':>6} {'accuracy':>11} {'reference':>11} {'flips':>10} {'min spikes':>12}  first divergence")
    ok_all = True
    cache: dict = {}
    if module is not None:
        c = _evaluate(args, Job(**base, graph=graph, run=_torch_run(module), ref_cache=cache), N, "pytorch", "pytorch")
        ok = c.flips <= (1 - args.min_decisions / 100) * c.scored and not c.missing
        ok_all &= ok
        print(_line("pytorch", c, ok))
    target_graph = qgraph if qgraph is not None else graph
    scheme = f"{args.quantize}-quantized " if qgraph is not None else ""
    exact: dict[str, Counts] = {}
    for t, mod in mods.items():
        n = min(N, args.slow_samples) if t in SLOW else N
        job = Job(**base, graph=target_graph, run=mod.run_graph, dtype=args.dtype,
                  options={"timeout": args.timeout, "progress": False}, dequantize=is_quantized(target_graph), ref_cache=cache)
        name = f"{t}" + (f" ({args.quantize})" if qgraph is not None else "")
        try:
            c = _evaluate(args, job, n, t, t)
        except LoweringError as e:
            print(f"  FAIL {name:<18} CANNOT RUN the {scheme}graph: {e}")
            ok_all = False
            continue
        if qgraph is None:
            ok = c.flips <= (1 - args.min_decisions / 100) * c.scored
            ok &= all(a >= args.min_agreement / 100 * tot for a, tot in c.layers.values())
        else:  # against the float graph: accuracy within --max-drop points
            ok = 100 * (c.ref_correct - c.correct) / max(1, c.scored) <= args.max_drop
            if is_quantized(qgraph) and t != "numpy":  # and bit for bit the NumPy integer runtime's run
                ej = Job(**{**base, "reference": qgraph}, graph=qgraph, run=mod.run_graph, dtype=args.dtype,
                         options=job.options, dequantize=True)
                exact[t] = e = _evaluate(args, ej, n, t, f"{t} vs integer")
                ok &= e.flips == 0 and all(a == tot for a, tot in e.layers.values()) and all(
                    a == tot for a, tot in e.outputs.values())
        ok &= not c.missing
        ok_all &= ok
        note = f"  (first {n} samples: {SLOW[t]})" if n < N else ""
        if c.missing:
            note += f"  NOT RECORDED: {', '.join(c.missing)}"
        print(_line(name, c, ok, note))
        for layer, (a, tot) in c.layers.items():
            print(f"         spikes {layer:<28} {100 * a / max(1, tot):9.4f} % of {tot} agree with the reference")
        for o, (a, tot) in c.outputs.items():
            print(f"         output {o:<28} {100 * a / max(1, tot):9.4f} % of {tot} within tolerance")
        if t in exact:
            e = exact[t]
            same = e.flips == 0 and all(a == tot for a, tot in [*e.layers.values(), *e.outputs.values()])
            print(f"         vs the NumPy integer runtime: {'bit-exact' if same else 'DIFFERS'} "
                  f"({e.flips} decision flips, first divergence {_fmt_first(e)})")
    crit = (f"quantized targets may lose <= {args.max_drop} accuracy points against the float reference and must equal "
            "the NumPy integer runtime bit for bit" if qgraph is not None else
            f"decisions must agree with the reference for >= {args.min_decisions} %, spikes per layer >= {args.min_agreement} %")
    print(f"{'PASS' if ok_all else 'FAIL'}: {crit}")
    return 0 if ok_all else 1
