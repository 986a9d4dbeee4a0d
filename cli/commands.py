"""The work behind each `snnc` subcommand (argument parsing lives in cli.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.files import atomic_path, save_npy
from snnc.compiler.targets import get_target, target_for_artifact


def say(msg: str) -> None:
    print(msg, file=sys.stderr)


# -- models ----------------------------------------------------------------------

def load_input(path: str | None, what: str = "--input") -> np.ndarray | dict[str, np.ndarray] | None:
    """A .npy array, or an .npz: one array, or several named after the graph inputs (e.g. noise inputs)."""
    from snnc.runtime.inputs import load_input as load

    return load(path, what)


def is_torch_model(spec: str) -> bool:
    p = Path(spec)
    return not (p.suffix in (".snn", ".nir") or (p.exists() and p.is_dir()))


def model_graph(args: argparse.Namespace, dtype: str = "float32", data=None):
    """(Graph, torch module or None) for MODEL: an .snn graph, or a PyTorch model traced in `dtype`.

    Input kinds: --input-kind, else the file's record, else inferred from `data` (values 0/1: spike), else graded;
    graded ranges likewise from --input-range, the file or the data (compiler/inputkinds.py).
    """
    from snnc.compiler.inputkinds import parse_kinds, parse_ranges, resolve
    spec = args.model
    p = Path(spec)
    declared = parse_kinds(getattr(args, "input_kind", None))
    ranges = parse_ranges(getattr(args, "input_range", None))
    if p.suffix == ".nir":
        from snnc.cli.nir_options import nir_options
        return resolve(get_target("nir").load_graph(p, nir_options(args)), declared, data, ranges=ranges), None
    if p.suffix == ".snn":
        from snnc.compiler.serialize import load
        from snnc.compiler.verify import verify
        return resolve(verify(load(p)), declared, data, trust_graph=True, ranges=ranges), None
    from snnc.frontends.modelfile import load_model
    from snnc.frontends.reference import prepare
    from snnc.frontends.tracing import trace
    import torch

    lm = load_model(spec, getattr(args, "weights", None), getattr(args, "allow_pickle", False), getattr(args, "input_size", None))
    module = prepare(lm.module, dtype)
    example = torch.zeros(2, 1, lm.input_size, dtype=torch.float64 if dtype == "float64" else torch.float32)
    graph = trace(module, example)
    graph.meta["source"] = f"{lm.name} ({graph.meta.get('source')})"
    recorded = {graph.inputs[0]: lm.input_kind} if lm.input_kind else None
    rec_range = {graph.inputs[0]: lm.input_range} if lm.input_range else None
    return resolve(graph, declared, data, recorded, ranges=ranges, recorded_ranges=rec_range), module


def _csv(s: str | None) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()] if s else []


# -- commands --------------------------------------------------------------------

def cmd_compile(args: argparse.Namespace) -> int:
    target = get_target(args.target)  # an unknown target fails before any work
    calib = load_input(args.calib, "--calib")
    graph, _ = model_graph(args, args.dtype, calib)
    graph.meta["dtype"] = args.dtype  # the precision the artifact runs in unless `snnc run --dtype` says otherwise
    passes = _csv(args.passes)
    if args.skip_steps < 0:
        raise SnncError(f"compile: --skip-steps must be >= 0, got {args.skip_steps}")
    if (args.label_output or args.skip_steps) and not args.labels:
        raise SnncError("compile: --label-output and --skip-steps score the --labels accuracy; give --labels too")
    if args.quantize or passes or args.hardware:
        from snnc.compiler import pipeline
        graph = pipeline.apply(graph, quantize=args.quantize, passes=passes, hardware=args.hardware,
                               calib=calib, labels=load_input(args.labels, "--labels"),
                               label_output=args.label_output, skip_steps=args.skip_steps)
        say(pipeline.report(graph))
    from snnc.cli.nir_options import nir_options
    options = {"opset": args.opset, "onnx_mode": args.onnx_mode, "progress": True, "dtype": args.dtype,
               **nir_options(args)}
    say(target.compile_artifact(graph, Path(args.output), options))
    return 0


def _save_outputs(path: str, outputs: dict[str, np.ndarray]) -> None:
    if len(outputs) == 1 and not path.endswith(".npz"):
        save_npy(path, next(iter(outputs.values())))
    else:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **outputs)


def _distinct_outputs(artifact: str, inp: str, *outs: str | None) -> None:
    """Refuse an output that would overwrite another output, the input or the artifact."""
    import os

    seen = {os.path.realpath(artifact): "the artifact", os.path.realpath(inp): "--input"}
    for opt, o in zip(("-o", "--activity", "--traces"), outs):
        if o is None:
            continue
        r = os.path.realpath(o)
        if r in seen:
            raise SnncError(f"{opt} {o} is the same file as {seen[r]}; give distinct files")
        seen[r] = opt


def cmd_run(args: argparse.Namespace) -> int:
    _distinct_outputs(args.artifact, args.input, args.output, args.activity, args.traces)
    from snnc.cli.report import graph_of_artifact
    from snnc.compiler.readout import dequantize, is_quantized, parse_record, traces_of
    name, target = target_for_artifact(Path(args.artifact))
    x = load_input(args.input)
    from snnc.cli.nir_options import nir_options
    graph = graph_of_artifact(name, target, Path(args.artifact), nir_options(args))
    record = parse_record(graph, args.record)
    options = {"dtype": args.dtype, "progress": True, "timeout": args.timeout, "noise_seed": args.seed,  # dtype None: the artifact's
               "record": sorted({node for _, node, _ in record}), **nir_options(args)}
    outputs, activity = target.run_artifact(Path(args.artifact), x, options)
    traces = {}
    if record:
        missing = [e for e, node, var in record if (var or "out") not in activity.traces.get(node, {})]
        if missing and name == "onnx":  # the artifact returns its outputs only: its embedded graph, probes as outputs
            g = graph.copy()
            g.outputs = list(g.outputs) + [e for e in missing if e not in g.outputs]
            extra, _ = target.run_graph(g, x, {**options, "dtype": args.dtype or graph.meta.get("dtype"), "record": []})
            outputs_probe = {e: extra[e] for e in missing}
            say(f"recorded {', '.join(missing)} by lowering the artifact's embedded graph with them as outputs")
        else:
            outputs_probe = outputs
        traces = traces_of(activity, record, outputs_probe)
    if is_quantized(graph) and not args.raw:  # integers of a Loihi-quantized graph back to float
        for d in (outputs, traces):
            for k in list(d):
                if ":" in k:  # early-exit decisions and times are exact integers
                    continue
                d[k], note = dequantize(graph, k, d[k])
                if note:
                    say(f"note: {note}")
    if args.output:
        _save_outputs(args.output, outputs)
    if record:
        path = args.traces or "traces.npz"
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **traces)
        say(f"traces {', '.join(f'{k}{list(v.shape)}' for k, v in traces.items())} -> {path}")
    if args.activity:
        activity.save(args.activity)
    shapes = ", ".join(f"{k}{list(v.shape)}" for k, v in outputs.items())
    say(f"ran {args.artifact} on {name}: outputs {shapes}" + (f" -> {args.output}" if args.output else ""))
    say(activity.summary())
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    p = Path(args.artifact)
    if p.suffix == ".pt" or (":" in args.artifact and not p.exists()):
        from snnc.compiler.printer import format_graph, to_dot
        args.model = args.artifact
        graph, _ = model_graph(args)
        print(to_dot(graph, p.stem) if args.dot else format_graph(graph, args.artifact), end="\n")
        return 0
    _, target = target_for_artifact(p)
    from snnc.cli.nir_options import nir_options
    print(target.inspect_artifact(p, {"dot": args.dot, **nir_options(args)}))
    return 0


def cmd_zoo(args: argparse.Namespace) -> int:
    from snnc.frontends import zoo
    if args.list or not args.name:
        for name, arch in sorted(zoo.ARCHS.items()):
            print(f"{name:<10} {arch.description}")
        return 0
    if not args.output:
        raise SnncError("zoo: give the output model file with -o FILE.pt")
    if args.dataset:
        return _zoo_dataset(args)
    if args.pretrained:
        if args.set:
            raise SnncError("zoo: --set changes a random model's architecture; a --pretrained fixture has its own")
        import shutil
        src = zoo.pretrained_path(args.name)  # an unknown fixture name fails here, listing the known ones
        if not src.exists():
            raise SnncError(f"zoo: pretrained model '{args.name}': {src} is missing; regenerate it with {zoo.PRETRAINED[args.name].recipe}")
        with atomic_path(args.output) as tmp:
            shutil.copyfile(src, tmp)
        p = zoo.PRETRAINED[args.name]
        say(f"wrote {args.output}: trained fixture '{args.name}' ({p.description}; zoo arch '{p.arch}', trained by {p.recipe})")
        return 0
    config = {}
    for kv in args.set or []:
        k, sep, v = kv.partition("=")
        if not sep:
            raise SnncError(f"zoo: --set expects key=value, got {kv!r}")
        import json
        try:
            config[k] = json.loads(v)
        except ValueError:
            config[k] = v
    module, cfg = zoo.build(args.name, config, seed=args.seed)
    from snnc.frontends.modelfile import save_model
    save_model(args.output, args.name, cfg, module)
    n = sum(p.numel() for p in module.parameters())
    say(f"wrote {args.output}: zoo model '{args.name}' ({n} parameters, input [T, B, {zoo.ARCHS[args.name].input_size(cfg)}], seed {args.seed})")
    return 0


def _zoo_dataset(args: argparse.Namespace) -> int:
    """`snnc zoo NAME --dataset SPLIT -o x.npz`: the fixture's data split for `snnc verify --dataset`."""
    from snnc.frontends import zoo
    from snnc.frontends.datasets import load_dataset
    if args.name not in zoo.PRETRAINED:
        raise SnncError(f"zoo: --dataset needs a pretrained fixture name; known: {', '.join(zoo.PRETRAINED)}")
    x, y = load_dataset(zoo.PRETRAINED[args.name].dataset, args.dataset)
    with atomic_path(args.output) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, x=x, y=y)
    say(f"wrote {args.output}: {args.name} {args.dataset} split, x {list(x.shape)} [T, N, F], y {list(y.shape)}")
    return 0


def random_spikes(T: int, B: int, F: int, rate: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((T, B, F)) < rate).astype(np.float32)
