"""Graded graph inputs for quantize(loihi): Loihi's graded spikes carry integers, so a LoihiDense reads its input as
integers (truncated toward zero). A graded input whose calibration values are not all integers gets an encoder:
an `Affine` x·2^q right after the Input (q the largest with max|x|·2^q <= 127, an 8-bit signed payload), and the
Dense weights it feeds are divided by 2^q, so W·x is unchanged up to the encoder's truncation (< 2^-q). Without a
calibration set snnc cannot know the input's range: the input stays integer and the report warns.
"""
from __future__ import annotations

import math

import numpy as np

from snnc.compiler.ir import Edge, Graph
from snnc.compiler.primitives import Dense, Input
from snnc.compiler.primitives.quantized import Affine

PAYLOAD_MAX = 127  # largest |encoded input|: 8-bit signed graded spikes
Q_MAX = 16  # at most 16 fractional bits


def encode_inputs(graph: Graph, g: Graph, traces: dict | None, formats: dict, notes: list) -> dict[str, float]:
    """Insert encoders into `g` (a copy of `graph`) for non-integer graded inputs; returns {Dense: input scale 2^-q}."""
    in_scale: dict[str, float] = {}
    for name, node in graph.nodes.items():
        if not isinstance(node, Input) or node.kind == "spike":
            continue
        if all(e.port == "noise" for e in graph.out_edges(name)):
            continue  # uniform noise of stochastic neurons: read by the neuron itself as floor(u·2^16)
        users = [e.dst for e in graph.out_edges(name)]
        if traces is None:
            formats[name] = "input (graded, taken as integers)"
            notes.append(f"warning: graded input '{name}' reaches Loihi as integers (truncated toward zero) and no "
                         f"calibration set gives its range: non-integer values lose their fraction (pass --calib)")
            continue
        x = np.asarray(traces[name]["out"], float)
        if np.array_equal(x, np.trunc(x)):
            formats[name] = "input (graded, integer values in the calibration set: taken as they are)"
            continue
        top = float(np.abs(x).max())
        q = min(Q_MAX, math.floor(math.log2(PAYLOAD_MAX / top))) if top > 0 else 0
        mixed = [u for u in users if not isinstance(graph.nodes[u], Dense)
                 or any(e.src != name for e in graph.in_edges(u))]
        if q <= 0 or mixed:
            why = f"feeds {', '.join(mixed)} beside other sources" if mixed else f"its range {top:g} needs no scaling"
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
        formats[name] = f"input (graded, max |x| {top:.4g} in the calibration set)"
        formats[enc] = f"Affine encoder x·2^{q}, read by the LoihiDense as integers (truncated toward zero)"
    return in_scale
