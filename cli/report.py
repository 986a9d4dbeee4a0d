"""`snnc report ARTIFACT`: op counts measured from a run's activity, energy with sources, --compare.

The CLI (compiler/cli.py) calls `add_arguments(parser)` and `run(args)`. The
report itself is a plain dict (`build_report`) whose JSON form is described by
docs/report.schema.json; the table and the PNG are views of it.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from snnc.cli.report_table import format_report
from snnc.compiler.cost import Cost, CostTable, count
from snnc.compiler.neurobench import neurobench_block
from snnc.compiler.energy import (EnergyModel, footprint_bytes, load_model, nonspiking_cost, nonspiking_effective,
                                  nonspiking_footprint)
from snnc.compiler.verdict import crossover
from snnc.compiler.errors import InputError, SnncError
from snnc.compiler.ir import SPIKE, Graph
from snnc.compiler.activity import Activity

FORMAT, VERSION = "snnc-report", 1
COMPUTE = ("acs", "macs", "update_macs", "update_acs")  # arithmetic counts, as opposed to memory and spikes


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The `report` subcommand's options."""
    p.add_argument("artifact", help="a compiled artifact (.snn, .onnx, Lava network directory)")
    p.add_argument("--input", help="input .npy [T, B, F] (or .npz with one array per graph input); "
                                   "default: seeded random spikes")
    p.add_argument("--energy-model", default=None,
                   help="cpu45nm, loihi1, loihi2, or a JSON constants file "
                        "(default: loihi1 for a Lava artifact, else cpu45nm)")
    p.add_argument("--precision", help="arithmetic precision to price (cpu45nm: fp32, int8, int32); "
                                       "default: int8 for a quantized graph, else the model's default")
    p.add_argument("--json", dest="json_out", metavar="OUT.json", help="write the report as JSON (docs/report.schema.json)")
    p.add_argument("--plot", metavar="OUT.png", help="write per-layer ops/energy bars and a spike raster")
    p.add_argument("--compare", choices=["rnn", "gru", "lstm"],
                   help="MACs and energy of a non-spiking network of the same layer sizes and steps")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="runtime dtype (default float32)")
    p.add_argument("--input-kind", metavar="KIND|NAME=KIND,...",
                   help="count the inputs as spike (ACs) or graded (MACs) inputs; default: as the artifact records them")
    p.add_argument("--steps", type=int, default=100, help="T of the random input when no --input (default 100)")
    p.add_argument("--batch", type=int, default=1, help="B of the random input when no --input (default 1)")
    p.add_argument("--rate", type=float, default=0.1, help="spike probability of the random input (default 0.1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input (default 0)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds before a Lava run is stopped (default 600)")
    from snnc.cli.nir_options import add_nir_options
    add_nir_options(p)


def graph_of_artifact(target_name: str, module: Any, path: Path, options: dict | None = None) -> Graph:
    """The IR graph behind an artifact: .snn directly, other targets through their `load_graph(path)`."""
    if target_name == "numpy":
        from snnc.compiler.serialize import load
        return load(path)
    loader = getattr(module, "load_graph", None)
    if loader is None:
        raise SnncError(f"{path}: target '{target_name}' cannot give back its graph yet (no load_graph); "
                        "report on the .snn graph instead")
    return loader(path, options) if target_name == "nir" else loader(path)


def load_input(path: str | None, graph: Graph, steps: int, batch: int, rate: float, seed: int) -> tuple[Any, dict]:
    """The input arrays and a description of where they came from."""
    sizes = {n: graph.nodes[n].size for n in graph.inputs}
    if path is None:
        if steps <= 0 or batch <= 0 or not 0 <= rate <= 1:
            raise InputError(f"random input: need --steps > 0, --batch > 0 and 0 <= --rate <= 1, "
                             f"got {steps}, {batch}, {rate}")
        rng = np.random.default_rng(seed)
        x = {n: (rng.random((steps, batch, f)) < rate).astype(np.float64) for n, f in sizes.items()}
        info = {"source": "random", "path": None, "seed": seed, "rate": rate}
    else:
        from snnc.cli.commands import load_input as read_arrays
        from snnc.runtime.inputs import noise_inputs

        x = read_arrays(path)
        if not isinstance(x, dict):
            data = [n for n in graph.inputs if n not in noise_inputs(graph)]
            if len(data) != 1:
                raise InputError(f"--input {path}: the graph has {len(data)} data inputs; give an .npz with arrays "
                                 + ", ".join(data))
            x = {data[0]: x}
        info = {"source": "file", "path": str(path), "seed": None, "rate": None}
    from snnc.runtime.inputs import fill_noise
    x = fill_noise(graph, x, seed=seed)  # stochastic neurons: one noise draw, counted like any input
    info["shape"] = {n: list(np.shape(a)) for n, a in x.items()}
    return (x if len(x) > 1 else next(iter(x.values()))), info


def default_precision(graph: Graph, model: EnergyModel) -> str:
    """int8 for a quantized (integer) graph when the model prices it, else the model's default."""
    if any(n.integer for n in graph.nodes.values()) and "int8" in model.precisions:
        return "int8"
    return model.default_precision


def build_report(graph: Graph, activity: Activity, energy_model: str = "cpu45nm", precision: str | None = None,
                 compare: str | None = None, meta: dict | None = None) -> dict:
    """The whole report as a JSON-ready dict (schema: docs/report.schema.json)."""
    model = load_model(energy_model)
    prec = model.precision(precision or default_precision(graph, model))
    table: CostTable = count(graph, activity)
    fp = footprint_bytes(graph, model, prec)
    total = table.total()
    per_inf, per_step = table.per_inference(total), table.per_step(total)
    e_total = model.energy(per_inf, prec, fp)
    nodes = []
    for name, c in table.nodes.items():
        pi = table.per_inference(c)
        e = model.energy(pi, prec, fp)
        nodes.append({"name": name, "primitive": table.primitives[name], "per_inference": pi.to_dict(),
                      "per_step": table.per_step(c).to_dict(),
                      "energy_pJ": {"total": sum(e.values()), "by_count": e}})
    n_steps = int(table.steps.sum())
    e_inf = sum(e_total.values())
    doc: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, **(meta or {}),
        "steps": {"T": int(activity.T), "batch": int(activity.batch),
                  "per_sample": [int(s) for s in table.steps], "mean": float(table.steps.mean())},
        "energy_model": _model_doc(model, prec, fp, per_inf),
        "nodes": nodes,
        "total": {"per_inference": per_inf.to_dict(), "per_step": per_step.to_dict(),
                  "per_sample": [total.sample(b).to_dict() for b in range(activity.batch)],
                  "energy_pJ": {"per_inference": e_inf, "per_step": e_inf * activity.batch / max(1, n_steps),
                                "by_count": e_total}},
        "neurobench": neurobench_block(graph, activity, table),
        "compare": None,
        "notes": list(table.notes) + list(model.notes),
    }
    doc["notes"] += input_kind_notes(graph, activity)
    prices = model.unit_prices(prec, fp)
    if not graph.meta.get("placement") and ("spikes_core" in prices or "spikes_chip" in prices):
        doc["notes"].append("the graph has no placement (run the partition pass): spike messages between "
                            "neurons are not counted or priced")
    if compare:
        doc["compare"] = _compare(graph, compare, float(table.steps.mean()), model, precision, per_inf, e_inf)
        doc["compare"].update(_effective_and_verdict(graph, activity, doc["compare"], model, prec, fp, e_inf))
    return doc


def input_kind_notes(graph: Graph, activity: Activity) -> list[str]:
    """Say where an input's declared kind and its values disagree: the kind decides ACs versus MACs."""
    notes = []
    for name in graph.inputs:
        x = activity.traces.get(name, {}).get("out")
        if x is None:
            continue
        binary = bool(np.isin(np.asarray(x), (0, 1)).all())
        kind = graph.nodes[name].out_kind
        if kind != SPIKE and binary:
            notes.append(f"input '{name}' is declared graded but all its values are 0 or 1: its synapses are counted "
                         "as MACs; declare it a spike input (--input-kind spike) to count ACs as NeuroBench does")
        elif kind == SPIKE and not binary:
            notes.append(f"input '{name}' is declared spike but has values other than 0 and 1: its synaptic events "
                         "are counted as ACs and its nonzero values as spikes")
    return notes


def _model_doc(model: EnergyModel, prec: str, fp: float, cost: Cost) -> dict:
    used = model.used_constants(prec, fp)
    return {"name": model.name, "origin": model.origin, "description": model.description, "precision": prec,
            "footprint_bytes": fp, "memory_tier": model.memory_tier(fp),
            "constants": {k: {"pJ": model.constants[k].pJ, "source": model.constants[k].source} for k in used},
            "unit_prices_pJ": model.unit_prices(prec, fp), "included": dict(model.included),
            "unpriced": model.unpriced_nonzero(cost),
            "memory_rule": (model.memory or {}).get("rule")}


def _compare(graph: Graph, cell: str, steps: float, model: EnergyModel, precision: str | None, snn: Cost,
             e_snn: float) -> dict:
    """The seed-000 comparison: the non-spiking network priced by the model's baseline (a CPU model).

    The baseline runs at the precision the user asked for if it has it, else at its default (fp32 for
    cpu45nm, as seed 000 compared fp32 MACs with fp32 ACs).
    """
    base = load_model(model.baseline) if model.baseline != model.name else model
    bprec = precision if precision in base.precisions else base.default_precision
    layers, rnn = nonspiking_cost(graph, cell, steps)
    bfp = nonspiking_footprint(layers, base, bprec)
    by_rnn = base.energy(rnn, bprec, bfp)
    by_snn = base.energy(snn, bprec, footprint_bytes(graph, base, bprec))
    e_rnn, e_snn_same = sum(by_rnn.values()), sum(by_snn.values())
    # arithmetic only (seed 000 compared MACs with ACs): memory left out on both sides
    c_rnn, c_snn = (sum(v for k, v in by.items() if k in COMPUTE) for by in (by_rnn, by_snn))
    used = base.used_constants(bprec, bfp)
    return {
        "network": cell, "steps": steps, "energy_model": base.name, "precision": bprec,
        "layers": [{"node": lay["node"], "layer": lay["layer"], "macs": lay["cost"].macs + lay["cost"].update_macs,
                    "energy_pJ": sum(base.energy(lay["cost"], bprec, bfp).values())} for lay in layers],
        "per_inference": rnn.to_dict(), "energy_pJ": e_rnn, "snn_energy_pJ": e_snn,
        "snn_energy_pJ_same_model": e_snn_same,
        "ratio_energy": e_rnn / e_snn if e_snn else None,
        "ratio_energy_same_model": e_rnn / e_snn_same if e_snn_same else None,
        "ratio_synaptic_ops": rnn.macs / snn.synaptic_ops if snn.synaptic_ops else None,
        "snn_synaptic_ops": snn.synaptic_ops,
        "energy_by_count": by_rnn, "compute_energy_pJ": c_rnn, "snn_compute_energy_pJ_same_model": c_snn,
        "ratio_compute_same_model": c_rnn / c_snn if c_snn else None,
        "constants": {k: {"pJ": base.constants[k].pJ, "source": base.constants[k].source} for k in used},
        "unpriced": base.unpriced_nonzero(rnn),
    }


def _effective_and_verdict(graph: Graph, activity: Activity, cmp_: dict, model: EnergyModel, prec: str, fp: float,
                           e_snn: float) -> dict:
    """The comparison network's effective (NeuroBench-style) count on the same input, and the break-even rate."""
    base = load_model(cmp_["energy_model"])
    bprec = cmp_["precision"]
    layers, _ = nonspiking_cost(graph, cmp_["network"], cmp_["steps"])
    valid = (np.arange(activity.T)[:, None] < np.asarray(activity.steps)[None, :])
    nnz = {n: float((np.asarray(activity.nonzero[n]) * valid).sum(axis=0).mean())
           for n in graph.inputs if n in activity.nonzero}
    eff = nonspiking_effective(graph, cmp_["network"], layers, nnz, cmp_["steps"])
    e_eff = sum(base.energy(eff, bprec, nonspiking_footprint(layers, base, bprec)).values())
    verdict = crossover(graph, activity, model, prec, fp, e_snn,
                        {"dense": cmp_["energy_pJ"], "effective": e_eff})
    return {"effective_per_inference": eff.to_dict(), "effective_energy_pJ": e_eff,
            "ratio_energy_effective": e_eff / e_snn if e_snn else None,
            "ratio_synaptic_ops_effective": eff.macs / cmp_["snn_synaptic_ops"] if cmp_["snn_synaptic_ops"] else None,
            "assumptions": "dense: every weight of the non-spiking network at every step; effective: NeuroBench's "
                           "convention on the same input (zero inputs skipped in W_ih·x, the zero h of the first step "
                           "skipped in W_hh·h, hidden states nonzero afterwards); both priced with "
                           f"{cmp_['energy_model']} {bprec}, memory included as that model prices it; the SNN with "
                           f"{model.name} {prec}",
            "verdict": verdict}


def record_list(graph: Graph) -> list[str]:
    """Nodes whose per-neuron outputs the cost model needs: every edge source and every spiking node."""
    names = {e.src for e in graph.edges} | {n for n, node in graph.nodes.items() if node.out_kind == SPIKE}
    return [n for n in graph.nodes if n in names]


def attach_inputs(activity: Activity, graph: Graph, x: Any) -> None:
    """Give the activity the graph inputs' values as traces: every backend then counts input events exactly."""
    xs = x if isinstance(x, dict) else {graph.inputs[0]: x}
    for name, a in xs.items():
        if "out" not in activity.traces.get(name, {}):
            activity.traces.setdefault(name, {})["out"] = np.asarray(a)


def measure(tname: str, module: Any, path: Path, graph: Graph, x: Any, options: dict) -> tuple[Activity, list[str]]:
    """Run the artifact and return its Activity with per-neuron outputs of every node the cost model reads.

    An ONNX artifact returns spike counts only; its embedded graph is run again on
    onnxruntime, lowered with those nodes as extra outputs (probes), so its counts are
    measured like every other target's; the two runs' outputs must agree.
    """
    rec = record_list(graph)
    outs, activity = module.run_artifact(path, x, {**options, "record": rec})
    if tname != "onnx" or not rec:
        return activity, []
    outs_p, probed = module.run_graph(graph, x, {**options, "record": rec})
    for o in graph.outputs:
        a, b = np.asarray(outs[o], np.float64), np.asarray(outs_p[o], np.float64)
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-5):
            raise SnncError(f"{path}: output '{o}' of the ONNX artifact differs from its embedded graph's "
                            "(was the model edited after compilation? recompile it)")
    seqs = {**{o: outs_p[o] for o in graph.outputs if o in outs_p}, **{n: t["out"] for n, t in probed.traces.items() if "out" in t}}
    for n, a in seqs.items():  # graded nodes: their nonzero counts come from the measured values
        if n in graph.nodes and n not in probed.nonzero and np.ndim(a) == 3:
            probed.nonzero[n] = np.count_nonzero(a, axis=2).astype(np.int64)
            probed.kinds[n], probed.sizes[n] = graph.nodes[n].out_kind, graph.nodes[n].size
    return probed, ["per-neuron activity measured on onnxruntime by the artifact's embedded graph lowered with "
                    "probe outputs (the artifact itself returns spike counts only); its outputs equal the artifact's"]


def run(args: argparse.Namespace) -> int:
    """Entry point of `snnc report`."""
    from snnc.compiler.targets import target_for_artifact

    path = Path(args.artifact)
    tname, module = target_for_artifact(path)
    from snnc.cli.nir_options import nir_options
    nopts = nir_options(args)
    graph = graph_of_artifact(tname, module, path, nopts)
    if getattr(args, "input_kind", None):
        from snnc.compiler.inputkinds import parse_kinds, resolve
        graph = resolve(graph, parse_kinds(args.input_kind), trust_graph=True)
    args.energy_model = args.energy_model or ("loihi1" if tname == "loihi" else "cpu45nm")
    load_model(args.energy_model)  # a bad model name fails before the run
    x, info = load_input(args.input, graph, args.steps, args.batch, args.rate, args.seed)
    activity, notes = measure(tname, module, path, graph, x, {"dtype": args.dtype, "timeout": args.timeout, **nopts})
    attach_inputs(activity, graph, x)
    doc = build_report(graph, activity, args.energy_model, args.precision, args.compare,
                       {"artifact": str(path), "target": tname, "dtype": args.dtype, "input": info})
    doc["notes"] = notes + doc["notes"]
    if tname == "loihi":
        doc["loihi_resources"] = module.resources(graph)
    print(format_report(doc))
    if args.json_out:
        from snnc.compiler.files import atomic_path
        with atomic_path(args.json_out) as tmp:
            Path(tmp).write_text(json.dumps(doc, indent=2))
        print(f"wrote {args.json_out}")
    if args.plot:
        from snnc.cli.report_plot import plot_report
        plot_report(doc, activity, args.plot)
        print(f"wrote {args.plot}")
    return 0
