"""The pass pipeline, top to bottom: fuse -> quantize -> partition (each a pure Graph -> Graph).

`apply` runs the requested passes in this fixed order (fusing float graphs before
quantizing them, placing the final integer graph), verifying after each one;
`report` formats what each pass recorded in graph.meta["passes"].
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.passes.fuse import fuse
from snnc.compiler.passes.partition import HARDWARE, partition
from snnc.compiler.passes.quantize import SCHEMES, quantize
from snnc.compiler.verify import verify

# (name, pass) in execution order; each takes (graph, options) and returns a new graph
PIPELINE: list[tuple[str, Callable[[Graph, dict], Graph]]] = [
    ("fuse", lambda g, o: fuse(g)),
    ("quantize", lambda g, o: quantize(g, o["quantize"], o["calib"], o["labels"], o["label_output"], o["skip_steps"])),
    ("partition", lambda g, o: partition(g, o["hardware"] or "loihi2", o["calib"])),
]
PASSES = ("fuse", "partition")  # the names --passes accepts (quantize has its own option)


def apply(graph: Graph, quantize: str | None = None, passes: list[str] | None = None, hardware: str | None = None,
          calib: np.ndarray | None = None, labels: np.ndarray | None = None, label_output: str | None = None,
          skip_steps: int = 0) -> Graph:
    """Run fuse / quantize / partition as requested, in pipeline order; the input graph is not modified."""
    passes = [p.strip() for p in (passes or []) if p.strip()]
    for p in passes:
        if p not in PASSES:
            raise SnncError(f"unknown pass '{p}' (valid: {', '.join(PASSES)}; quantization is --quantize "
                            f"{{{','.join(SCHEMES)}}})")
    if quantize is not None and quantize not in SCHEMES:
        raise SnncError(f"unknown quantization scheme '{quantize}' (valid: {', '.join(SCHEMES)})")
    if hardware is not None and "partition" not in passes:
        passes.append("partition")  # asking for a target chip means placing onto it
    if hardware is not None and hardware not in HARDWARE:
        from pathlib import Path

        if not Path(hardware).is_file():
            raise SnncError(f"unknown hardware '{hardware}' (valid: {', '.join(HARDWARE)}, or a JSON file)")
    wanted = set(passes) | ({"quantize"} if quantize else set())
    opts = {"quantize": quantize, "hardware": hardware, "calib": calib, "labels": labels,
            "label_output": label_output, "skip_steps": skip_steps}
    g = graph
    for name, fn in PIPELINE:
        if name in wanted:
            g = verify(fn(g, opts))
    return g if g is not graph else graph.copy()


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _fmt_quantize(r: dict) -> list[str]:
    lines = [f"quantize: scheme {r.get('scheme')}" + (" (calibrated)" if r.get("calibrated") else " (no calibration set)")]
    for n, f in r.get("formats", {}).items():
        lines.append(f"  {n}: {f}")
    layers = r.get("layers", {})
    if layers:
        lines.append("  per-layer error:")
        for n, e in layers.items():
            parts = []
            if "weight_error" in e:
                parts.append(f"weight {_pct(e['weight_error'])}")
            if "output_error" in e:
                parts.append(f"output {_pct(e['output_error'])}")
            if "flushed" in e:
                parts.append(f"{e['flushed']} of {e['nonzero']} weights flush to zero, "
                             f"{e['neurons_without_input']} neuron(s) without input")
            if "spike_mismatch" in e:
                parts.append(f"spikes differ {_pct(e['spike_mismatch'])} (rate {e['rate_before']:.4f} -> {e['rate_after']:.4f})")
            lines.append(f"    {n}: " + ", ".join(parts))
    acc = r.get("accuracy")
    if acc:
        skip = f", first {acc['skip_steps']} steps not scored" if acc.get("skip_steps") else ""
        lines.append(f"  accuracy of '{acc['output']}'{skip}: {_pct(acc['before'])} -> {_pct(acc['after'])}")
    for note in r.get("notes", []):  # a precision warning reads as one, not as a note
        lines.append(f"  {note}" if note.startswith("warning:") else f"  note: {note}")
    return lines


def _fmt_fuse(r: dict) -> list[str]:
    b, a = r.get("ops_before", {}), r.get("ops_after", {})
    lines = ["fuse: " + (", ".join(f"{k} x{v}" for k, v in r.get("rules", {}).items()) or "no rule applied")]
    for k in b:
        lines.append(f"  {k}: {b[k]} -> {a.get(k)}")
    return lines


def _fmt_partition(r: dict, meta: dict) -> list[str]:
    t = r.get("traffic", {})
    lines = [f"partition: hardware {r.get('hardware')}, {r.get('cores')} cores on {r.get('chips')} chip(s), "
             f"{r.get('blocks')} blocks, weighted by {r.get('weighted_by')}"]
    um, ux = r.get("utilisation_mean", {}), r.get("utilisation_max", {})
    for k in um:
        lines.append(f"  {k}: mean {_pct(um[k])}, max {_pct(ux[k])}")
    lines.append("  spikes/step: " + ", ".join(f"{k.replace('_', ' ')} {v:.4g}" for k, v in t.items()))
    for n, p in meta.get("placement", {}).items():
        bl = p["blocks"]
        where = ", ".join(f"[{b['neurons'][0]}:{b['neurons'][1]}]@core{b['core']}/chip{b['chip']}" for b in bl[:6])
        lines.append(f"  {n}: {where}" + (f" ... ({len(bl)} blocks)" if len(bl) > 6 else ""))
    return lines


def report(graph: Graph) -> str:
    """What each pass recorded, as text (`snnc inspect` prints it)."""
    out = []
    for r in graph.meta.get("passes", []):
        if not isinstance(r, dict):
            continue
        name = r.get("name")
        if name == "quantize":
            out += _fmt_quantize(r)
        elif name == "fuse":
            out += _fmt_fuse(r)
        elif name == "partition":
            out += _fmt_partition(r, graph.meta)
        else:
            out.append(f"{name}: " + ", ".join(f"{k}={v}" for k, v in r.items() if k != "name"))
    return "\n".join(out) if out else "no passes recorded"
