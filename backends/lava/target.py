"""The `loihi` target: a Lava network directory (network.json + weights.npz + graph.snn), run in .venv-lava.

The directory is self-contained and holds no pickled code: structure as JSON,
arrays in an npz (loaded with allow_pickle=False), and the IR graph as an .snn
so `snnc report` can count costs. Running it starts the Lava interpreter as a
subprocess (runtime/lava_runner.py).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from snnc.backends.lava.lower import DENSE, LavaNet, lower
from snnc.backends.lava.lif_rules import lif_paths
from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.serialize import load, save
from snnc.runtime.inputs import check_inputs, fill_noise, noise_inputs
from snnc.runtime.lava.runner import run_description

FORMAT, VERSION = "snnc-lava", 1
MAX_DELAY = 62


def write_description(net: LavaNet, graph: Graph, d: Path) -> None:
    doc = {"format": FORMAT, "version": VERSION, **net.doc()}
    (d / "network.json").write_text(json.dumps(doc, indent=1))
    with open(d / "weights.npz", "wb") as f:
        np.savez_compressed(f, **net.arrays)
    save(graph, d / "graph.snn")


def compile_artifact(graph: Graph, out: Path, options: dict) -> str:
    out = Path(out)
    if out.exists() and not is_artifact(out):
        raise SnncError(f"{out}: exists and is not a Lava network directory; refusing to overwrite it")
    net = lower(graph)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise SnncError(f"cannot write {out}: directory {parent} does not exist")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        write_description(net, graph, tmp)
        old = None
        if out.exists():  # swap in the new directory, then drop the old one
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.replace(out, old / "x")
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    lat = max(net.latency.values(), default=0)
    kinds = _kinds(net)
    return (f"wrote {out} (Lava network: {', '.join(f'{v} {k}' for k, v in kinds.items())}; {'floating' if net.mode == 'float' else net.mode} point; "
            f"Dense latency {lat} step(s) compensated and stripped)" + _delay_warning(net.procs)
            + "".join(f"\n  LIF {ln}" for ln in lif_paths(net.procs)))


def _delay_warning(procs: dict) -> str:
    """A warning when a delay exceeds what a Loihi chip holds (Lava's CPU simulator runs any delay)."""
    long = {n: p["params"]["delay"] for n, p in procs.items() if p["kind"] == "delay" and p["params"]["delay"] > MAX_DELAY}
    if not long:
        return ""
    n, d = max(long.items(), key=lambda kv: kv[1])
    return (f"; warning: {len(long)} delay process(es) exceed Loihi's {MAX_DELAY}-step limit (longest: '{n}', {d} steps): "
            "Lava's CPU simulator runs them, a Loihi chip could not")


def _kinds(net: LavaNet) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in net.procs.values():
        out[p["kind"]] = out.get(p["kind"], 0) + 1
    return out


def _run(desc: Path, graph: Graph, x, options: dict):
    dtype = np.dtype(options.get("dtype") or "float64")
    # stochastic neurons: missing noise is drawn exactly as the NumPy runtime draws it (and says so)
    x = fill_noise(graph, x, seed=options.get("noise_seed", 0))
    from snnc.compiler.inputkinds import integer_inputs
    xs = check_inputs({n: graph.nodes[n].size for n in graph.inputs}, x, np.float64, "input",
                      {n: graph.nodes[n].kind for n in graph.inputs if n not in noise_inputs(graph)},  # (u in [0, 1))
                      integer_inputs(graph))
    outs, act, _ = run_description(desc, xs, options)
    return {k: v.astype(dtype) for k, v in outs.items()}, act


def run_graph(graph: Graph, x, options: dict):
    """Lower `graph`, write its description to a private temp dir and run it in Lava."""
    net = lower(graph)
    with tempfile.TemporaryDirectory(prefix="snnc-lava-desc-") as d:
        write_description(net, graph, Path(d))
        return _run(Path(d), graph, x, {**options, "cleanup": [d]})  # the worker removes it if snnc is killed


def run_artifact(path: Path, x, options: dict):
    _check(path)
    return _run(Path(path), load_graph(path), x, options)


def load_graph(path: Path) -> Graph:
    """The IR graph stored inside a Lava network directory."""
    _check(path)
    return load(Path(path) / "graph.snn")


def _check(path: Path) -> dict:
    """network.json, validated with weights.npz (backends/lava/artifact.py) before any use."""
    from snnc.backends.lava.artifact import check_description

    return check_description(Path(path))


def is_artifact(path: Path) -> bool:
    path = Path(path)
    return path.is_dir() and (path / "network.json").is_file()


def resources(graph: Graph) -> list[dict]:
    """Loihi 1 resource use per neuron population, by the partition pass's model (one model for every command)."""
    from snnc.compiler.passes.partition import resource_summary
    return resource_summary(graph, "loihi1")["rows"]


def inspect_artifact(path: Path, options: dict) -> str:
    doc = _check(path)
    graph = load_graph(path)
    if options.get("dot"):
        from snnc.compiler.printer import to_dot
        return to_dot(graph, Path(path).stem)
    from snnc.compiler.passes.partition import resource_summary
    summary = resource_summary(graph, "loihi1")
    rows = summary["rows"]
    kinds: dict[str, int] = {}
    for p in doc["procs"].values():
        kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
    lat = max(doc["latency"].values(), default=0)
    delays = [p["params"]["delay"] for p in doc["procs"].values() if p["kind"] == "delay"]
    tag = "fixed_pt" if doc["mode"] == "fixed" else "floating_pt"
    lines = [f"{Path(path).name}: Lava network, {doc['mode']} point ({tag} models)",
             f"  processes: {', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}; {len(doc['conns'])} connections",
             f"  latency: {lat} step(s) from Lava's Dense buffering, compensated and stripped; "
             "per output: " + ", ".join(f"{o} {doc['latency'][o]}" for o in doc["outputs"]),
             f"  compensating delays: {len(delays)}" + (f" (max {max(delays)} steps, Loihi allows {MAX_DELAY})" if delays else ""),
             *(f"  LIF {ln}" for ln in lif_paths(doc["procs"])),
             "  Loihi 1 resources (the partition pass's model: 1024 compartments, 4096 input and output axons, "
             "128 KB synaptic memory per core; 128 cores per chip):",
             f"    {'population':<16} {'type':<10} {'neurons':>8} {'synapses':>10} {'syn mem KB':>10} {'fan-in':>7} {'blocks':>6}"]
    for r in rows:
        blocks = "-" if r["cores"] is None else r["cores"]
        lines.append(f"    {r['node']:<16} {r['type']:<10} {r['neurons']:>8} {r['synapses']:>10} "
                     f"{r['synmem_kb']:>10.1f} {r['fan_in']:>7} {blocks:>6}")
    total = f"    total: {sum(r['neurons'] for r in rows)} neurons, {sum(r['synapses'] for r in rows)} synapses, "
    if summary["error"]:
        lines.append(total + f"does not fit Loihi 1: {summary['error']}")
    else:
        lines.append(total + f"{summary['cores']} cores on {summary['chips']} chip(s) after packing")
    return "\n".join(lines)
