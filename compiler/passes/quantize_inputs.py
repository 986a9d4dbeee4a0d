"""Graded graph inputs for quantize(loihi): Loihi's graded spikes carry integers, so a LoihiDense reads its input as
integers (truncated toward zero). A graded input gets an encoder: an `Affine` x·2^q right after the Input (q the
largest with max|x|·2^q <= 127, an 8-bit signed payload), and the Dense weights it feeds are divided by 2^q, so W·x
is unchanged up to the encoder's truncation (< 2^-q). max|x| comes from the input's recorded range
(graph.meta['input_ranges']: `--input-range`, the model file, the data; compiler/inputkinds.py), else from the
calibration set, else the range [-1, 1] is assumed and the report warns. An input whose calibration values are all
integers is taken as it is (a fractional value later is an error of the integer runtimes, never a silent truncation).
"""
from __future__ import annotations

import math

import numpy as np

from snnc.compiler.inputkinds import input_range
from snnc.compiler.ir import Edge, Graph
from snnc.compiler.primitives import Dense, Input
from snnc.compiler.primitives.quantized import Affine

PAYLOAD_MAX = 127  # largest |encoded input|: 8-bit signed graded spikes
Q_MAX = 16  # at most 16 fractional bits
ASSUMED = (-1.0, 1.0)  # the range of a graded input with none known


def _top(graph: Graph, name: str, traces: dict | None, notes: list) -> tuple[float | None, str]:
    """(max |x| to encode, or None to take the input as integers; where the range came from)."""
    known = input_range(graph, name)
    x = None if traces is None else np.asarray(traces[name]["out"], float)
    if x is not None and np.array_equal(x, np.trunc(x)):
        return None, "integer values in the calibration set: taken as they are"
    if known is not None and known[1] != "data":
        (lo, hi), why = known
        return max(abs(lo), abs(hi)), f"range [{lo:g}, {hi:g}] ({why})"
    if x is not None:
        return float(np.abs(x).max()), f"max |x| {float(np.abs(x).max()):.4g} in the calibration set"
    if known is not None:
        (lo, hi), _ = known
        return max(abs(lo), abs(hi)), f"range [{lo:g}, {hi:g}] of the data given"
    lo, hi = ASSUMED
    q = math.floor(math.log2(PAYLOAD_MAX / max(abs(lo), abs(hi))))
    notes.append(f"warning: graded input '{name}' has no known range (no --input-range, no range in the model file, "
                 f"no --calib): assumed in [{lo:g}, {hi:g}] and encoded as x·2^{q} for Loihi, so fractions below "
                 f"2^-{q} are lost and |x| above {PAYLOAD_MAX / 2**q:g} exceeds the 8-bit payload")
    return max(abs(lo), abs(hi)), f"range [{lo:g}, {hi:g}] assumed"


def encode_inputs(graph: Graph, g: Graph, traces: dict | None, formats: dict,
                  notes: list) -> tuple[dict[str, float], dict[str, float]]:
    """Insert encoders into `g` (a copy of `graph`) for graded inputs; returns ({Dense: input scale 2^-q},
    {Dense: largest |integer input| it reads}) for the Dense nodes the graded inputs feed."""
    in_scale: dict[str, float] = {}
    x_max: dict[str, float] = {}
    for name, node in graph.nodes.items():
        if not isinstance(node, Input) or node.kind == "spike":
            continue
        if all(e.port == "noise" for e in graph.out_edges(name)):
            continue  # uniform noise of stochastic neurons: read by the neuron itself as floor(u·2^16)
        users = [e.dst for e in graph.out_edges(name)]
        top, src = _top(graph, name, traces, notes)
        if top is None:
            formats[name] = f"input (graded, {src})"
            continue
        q = min(Q_MAX, math.floor(math.log2(PAYLOAD_MAX / top))) if top > 0 else 0
        mixed = [u for u in users if not isinstance(graph.nodes[u], Dense)
                 or any(e.src != name for e in graph.in_edges(u))]
        for u in users:
            x_max[u] = max(x_max.get(u, 0.0), top * 2.0 ** max(q, 0) if not mixed else top)
        if q <= 0 or mixed:
            why = f"feeds {', '.join(mixed)} beside other sources" if mixed else f"its {src} needs no scaling"
            formats[name] = "input (graded, taken as integers)"
            notes.append(f"warning: graded input '{name}' reaches Loihi as integers (truncated toward zero); "
                         f"it is not encoded because it {why}")
            continue
        enc = f"{name}.encode"
        g.add(enc, Affine(np.full(node.size, 2.0**q), np.zeros(node.size)))
        g.edges = [Edge(enc, e.dst, e.port, e.delay) if e.src == name else e for e in g.edges]
        g.connect(name, enc)
        for u in users:
            in_scale[u] = 2.0**-q
        formats[name] = f"input (graded, {src})"
        formats[enc] = f"Affine encoder x·2^{q}, read by the LoihiDense as integers (truncated toward zero)"
    return in_scale, x_max
