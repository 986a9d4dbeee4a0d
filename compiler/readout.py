"""Reading values out of a run: recorded traces by `NODE[.STATE]`, and quantized integers back to float.

After `quantize(loihi)` a neuron's membrane (and a graded readout's output) is an
integer in units of the neuron's voltage scale S (quantize record `scales`):
float ≈ int / S. Spikes need no scale. A state without a known scale stays an
integer and `dequantize` says so.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.activity import Activity
from snnc.compiler.errors import SnncError
from snnc.compiler.ir import SPIKE, Graph


def parse_record(graph: Graph, spec: str | list[str] | None) -> list[tuple[str, str, str | None]]:
    """'n1,n2.v' -> [(entry, node, state or None)], each checked against the graph."""
    items = spec if isinstance(spec, list) else [s.strip() for s in (spec or "").split(",") if s.strip()]
    out = []
    for it in items:
        try:
            node, var = graph.output_ref(it)
        except SnncError as e:
            raise SnncError(f"--record: {e}".replace("graph output", "entry")) from None
        out.append((it, node, var))
    return out


def traces_of(activity: Activity, record: list[tuple[str, str, str | None]], outputs: dict) -> dict[str, np.ndarray]:
    """{entry: [T, B, n]} from an Activity's traces (or the run's outputs); a missing trace is an error."""
    res = {}
    for entry, node, var in record:
        tr = activity.traces.get(node, {})
        val = tr.get(var or "out")
        if val is None:
            val = outputs.get(entry)
        if val is None:
            raise SnncError(f"--record {entry}: the target did not record it (recorded: "
                            f"{', '.join(f'{n}.{k}' for n, d in activity.traces.items() for k in d) or 'nothing'})")
        res[entry] = np.asarray(val)
    return res


def is_quantized(graph: Graph) -> bool:
    return any(v.integer for v in graph.nodes.values())


def voltage_scales(graph: Graph) -> dict[str, np.ndarray]:
    """Node -> voltage scale S of a Loihi-quantized graph (float ≈ int / S)."""
    for r in reversed(graph.meta.get("passes", [])):
        if isinstance(r, dict) and r.get("name") == "quantize" and r.get("scheme") == "loihi":
            return {n: np.asarray(s, float) for n, s in (r.get("scales") or {}).items()}
    return {}


def dequantize(graph: Graph, entry: str, values: np.ndarray) -> tuple[np.ndarray, str | None]:
    """`values` of `entry` (an output or a recorded NODE[.STATE]) as float; (values, note) when no scale is known."""
    node, var = graph.output_ref(entry)
    n = graph.nodes[node]
    if not n.integer:
        return values, None
    if (var is None and n.out_kind == SPIKE) or var == "s":
        return values.astype(np.float64), None
    S = voltage_scales(graph).get(node)
    if S is not None and (var == "v" or (var is None and "v" in n.states)):
        return values.astype(np.float64) / S, None
    return values, f"{entry}: no float scale is known for this integer value; written as integers"
