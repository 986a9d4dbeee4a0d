"""quantize(graph, scheme): Loihi fixed point, int8 or float16, with a per-layer error report.

- loihi: see quantize_loihi.py (weights as 8-bit mantissa + exponent, 24-bit states,
  12-bit decays, 17-bit thresholds; exact integer arithmetic in the NumPy runtime).
- int8: every Dense becomes an Int8Dense with symmetric per-output-channel int8
  weights and int32 accumulation; inputs from spiking sources are exact (scale 1),
  graded sources get a symmetric int8 scale from the calibration set (or assume
  |x| <= 1 without one, and say so); neuron states stay float.
- float16: every float parameter is rounded to half precision (storage format;
  the runtime computes in its own dtype).

With a calibration input set x [T,B,F] the report gives, per layer, the weight
error and the output error (spike mismatch rate for spiking nodes, relative RMS
of the dequantized value for graded ones), and with labels the accuracy of the
first output before and after.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import SPIKE, Graph
from snnc.compiler.passes.common import accuracy, record, rel_error, run_traces, type_name
from snnc.compiler.primitives import Dense
from snnc.compiler.primitives.quantized import Int8Dense

SCHEMES = ("loihi", "int8", "float16")


def quantize(graph: Graph, scheme: str, calib: np.ndarray | None = None, labels: np.ndarray | None = None,
             label_output: str | None = None, skip_steps: int = 0) -> Graph:
    """A new graph quantized with `scheme`; the input graph is left untouched.

    With labels, the accuracy of `label_output` (default: the first graph output), not scoring the first `skip_steps`."""
    if scheme not in SCHEMES:
        raise SnncError(f"unknown quantization scheme '{scheme}' (valid: {', '.join(SCHEMES)})")
    if labels is not None and calib is None:
        raise SnncError("quantize: labels need a calibration input set (--calib)")
    if label_output is not None and label_output not in graph.outputs:
        raise SnncError(f"quantize: --label-output '{label_output}' is not a graph output (outputs: {', '.join(graph.outputs)})")
    outs_f, traces = run_traces(graph, calib) if calib is not None else (None, None)
    info: dict = {}
    if scheme == "loihi":
        from snnc.compiler.passes.quantize_loihi import quantize_loihi

        g, info = quantize_loihi(graph, traces)
    elif scheme == "int8":
        g, info = _int8(graph, traces)
    else:
        g, info = _float16(graph)
    scales = info.get("scales", {})
    layers = {n: {"weight_error": e} for n, e in info.get("weight_error", {}).items()}
    for n, counts in info.get("flush", {}).items():  # loihi: weights flushed to zero, neurons left without input
        layers.setdefault(n, {}).update(counts)
    acc = None
    if calib is not None:
        outs_q, traces_q = run_traces(g, calib)
        for n in graph.nodes:
            if type_name(graph.nodes[n]) == "Input":
                continue
            yf, yq = traces[n]["out"], traces_q[n]["out"]
            ent = layers.setdefault(n, {})
            if graph.nodes[n].out_kind == SPIKE:
                ent["spike_mismatch"] = float(np.mean(yf != yq))
                ent["rate_before"], ent["rate_after"] = float(yf.mean()), float(yq.mean())
            else:
                sc = np.asarray(info.get("out_scale", {}).get(n, 1.0), float)
                yf = yf - info.get("out_offset", {}).get(n, 0.0)  # a Dense bias that moved into the neuron
                ent["output_error"] = rel_error(yq / np.where(sc == 0, 1.0, sc), np.where(sc == 0, yq, yf))
        if labels is not None:
            o = label_output or graph.outputs[0]
            yq = outs_q[o]
            node, var = g.output_ref(o)  # a state output `node.v` is in its node's voltage scale
            if node in scales and (var == "v" or (var is None and g.nodes[o].out_kind != SPIKE)):
                yq = yq / np.asarray(scales[node], float)  # per-neuron scales: compare dequantized values
            acc = {"output": o, "skip_steps": skip_steps, "before": accuracy(outs_f[o], labels, skip_steps),
                   "after": accuracy(yq, labels, skip_steps)}
    g.meta["output_scale"] = {n: scales[g.output_ref(n)[0]] for n in g.outputs if g.output_ref(n)[0] in scales
                              and (g.output_ref(n)[1] == "v" or (n in g.nodes and g.nodes[n].out_kind != SPIKE))}
    record(g, "quantize", scheme=scheme, formats=info.get("formats", {}), scales=scales, layers=layers,
           accuracy=acc, calibrated=calib is not None, notes=info.get("notes", []))
    return g


def _int8(graph: Graph, traces: dict | None) -> tuple[Graph, dict]:
    g = graph.copy()
    formats, werr, notes = {}, {}, []
    for name, node in graph.nodes.items():
        if not isinstance(node, Dense):
            formats[name] = f"{type_name(node)} float states"
            continue
        srcs = {e.src for e in graph.in_edges(name)}
        if all(graph.nodes[s].out_kind == SPIKE for s in srcs):
            x_scale = 1.0  # binary spikes are exact int8 values
        elif traces is not None:
            xmax = float(np.abs(sum(traces[s]["out"] for s in srcs)).max())
            x_scale = xmax / 127 if xmax > 0 else 1.0
        else:
            x_scale = 1 / 127
            notes.append(f"Dense '{name}': graded input range assumed |x| <= 1 (no calibration set)")
        amax = np.abs(node.W).max(axis=1)
        w_scale = np.where(amax > 0, amax / 127, 1.0)
        Wq = np.clip(np.rint(node.W / w_scale[:, None]), -127, 127).astype(np.int8)
        g.nodes[name] = Int8Dense(Wq, w_scale, np.array(x_scale), node.b)
        werr[name] = rel_error(Wq * w_scale[:, None], node.W)
        formats[name] = f"Int8Dense int8 per-channel weights, int32 accumulate, x_scale {x_scale:.4g}"
    return g, {"formats": formats, "weight_error": werr, "notes": notes}


def _float16(graph: Graph) -> tuple[Graph, dict]:
    g = graph.copy()
    formats, werr = {}, {}
    for name, node in graph.nodes.items():
        changes = {}
        for f in node.array_fields():
            a = getattr(node, f)
            if a.dtype.kind != "f":
                continue
            h = a.astype(np.float16)
            if not np.all(np.isfinite(h)):
                raise SnncError(f"quantize float16: node '{name}' parameter '{f}' overflows half precision (max |x| {np.abs(a).max():g})")
            changes[f] = h.astype(np.float64)
        if changes:
            g.nodes[name] = node.replace(**changes)
            formats[name] = f"{type_name(node)} float16 parameters"
            if isinstance(node, Dense):
                werr[name] = rel_error(changes["W"], node.W)
    return g, {"formats": formats, "weight_error": werr}
