"""`snnc verify` on one input: every output and spiking layer of every target against the NumPy reference run."""
from __future__ import annotations

import argparse

import numpy as np

from snnc.compiler.errors import LoweringError, SnncError
from snnc.compiler.evaluate import TOLERANCE, spiking_nodes


def _input(args, graph, x):
    from snnc.cli.commands import random_spikes
    from snnc.runtime.inputs import check_inputs, fill_noise, noise_inputs
    if x is None:
        if args.steps <= 0 or args.batch <= 0 or not 0 <= args.rate <= 1:
            raise SnncError(f"verify: the random input needs --steps > 0, --batch > 0 and 0 <= --rate <= 1, "
                            f"got {args.steps}, {args.batch}, {args.rate}")
        F = graph.nodes[graph.inputs[0]].size
        x = random_spikes(args.steps, args.batch, F, args.rate, args.seed)
        source = f"random spikes [{args.steps}, {args.batch}, {F}] at rate {args.rate} (seed {args.seed})"
    else:
        shapes = {k: list(v.shape) for k, v in x.items()} if isinstance(x, dict) else list(x.shape)
        source = f"{args.input} {shapes}"
    notes = []
    if noise_inputs(graph):  # stochastic layers: every run gets the same noise, drawn once here
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            x = fill_noise(graph, x, seed=args.seed, where="verify")
        notes = [str(w.message) for w in caught]
    x = check_inputs({n: graph.nodes[n].size for n in graph.inputs}, x, np.dtype("float64"), "input",
                     {n: graph.nodes[n].kind for n in graph.inputs})
    return (x[graph.inputs[0]] if len(x) == 1 else x), source, notes


def run_one_input(args: argparse.Namespace, mods: dict, graph, qgraph, module, x) -> int:
    from snnc.compiler.agreement import agreement
    from snnc.compiler.readout import dequantize, is_quantized
    from snnc.runtime.numpy.runtime import NumpyRuntime
    x, source, notes = _input(args, graph, x)
    atol = args.atol if args.atol is not None else TOLERANCE[args.dtype][0]
    rtol = args.rtol if args.rtol is not None else TOLERANCE[args.dtype][1]
    kinds = ", ".join(f"{n} {v['kind']} ({v['from']})" for n, v in graph.meta.get("input_kinds", {}).items())
    print(f"verify {args.model}: input {source}, dtype {args.dtype} (graded tolerance {atol:g} + {rtol:g}·|ref|); "
          f"reference: the graph on the NumPy runtime (float64); input kinds: {kinds}")
    for note in notes:
        print(note)
    min_f = args.min_agreement / 100
    spk = spiking_nodes(graph)
    ref_out, ref_act = NumpyRuntime(graph, "float64", record=spk).run(x)
    ref_spikes = {n: ref_act.traces[n]["out"] for n in spk}
    out_kinds = {n: graph.output_kind(n) for n in graph.outputs}
    ok = True
    if module is not None:  # the reference itself against the PyTorch model it was traced from
        from snnc.frontends.reference import torch_reference
        t_out, t_spikes = torch_reference(module, graph, x)
        ag = agreement("reference (NumPy runtime) vs PyTorch", t_out, t_spikes, ref_out, ref_act, out_kinds,
                       TOLERANCE["float64"][0], TOLERANCE["float64"][1], min_f)
        print(ag.format())
        ok &= ag.ok
    target_graph = qgraph if qgraph is not None else graph
    qref = None
    if qgraph is not None:
        q_spk = spiking_nodes(qgraph)
        q_out, q_act = NumpyRuntime(qgraph, "float64", record=q_spk).run(x)
        qref = (q_out, {n: q_act.traces[n]["out"] for n in q_spk})
        deq = {k: dequantize(qgraph, k, v)[0] if ":" not in k else v for k, v in q_out.items()}
        info = agreement(f"{args.quantize}-quantized graph (NumPy runtime) vs the float graph", ref_out, ref_spikes, deq,
                         q_act, out_kinds, atol, rtol, min_f)
        print(info.format().replace(": PASS", ": informational").replace(": FAIL", ": informational", 1))
    for t, mod in mods.items():
        try:
            outs, act = mod.run_graph(target_graph, x, {"dtype": args.dtype, "record": spk, "progress": True,
                                                        "timeout": args.timeout})
        except LoweringError as e:
            scheme = f"{args.quantize}-quantized " if qgraph is not None else ""
            print(f"target {t}: FAIL, CANNOT RUN the {scheme}graph: {e}")
            ok = False
            continue
        if qgraph is None:
            ag = agreement(t, ref_out, ref_spikes, outs, act, out_kinds, atol, rtol, min_f)
        else:  # a quantized target must compute what the NumPy integer runtime computes, exactly
            exact = is_quantized(qgraph)
            ag = agreement(f"{t} ({args.quantize}) vs the NumPy runtime on the quantized graph", qref[0], qref[1], outs, act,
                           out_kinds, 0.0 if exact else atol, 0.0 if exact else rtol, 1.0 if exact else min_f)
        print(ag.format())
        ok &= ag.ok
    return 0 if ok else 1
