"""Graph input kinds: `spike` (values 0/1) or `graded` (any real), declared, recorded in a file, or inferred from data.

An input's kind is never guessed from an all-zero tracing example (DESIGN §3):
`resolve` takes it, in this order, from the user's declaration (`--input-kind`),
the model or graph file, the data given (`--input`, `--calib`, `--dataset`: all
values 0 or 1 means spike), else graded, which carries any value on every target.

A graded input may carry a value range [lo, hi] (graph.meta['input_ranges']), in the same order of precedence:
`--input-range`, the model file, the graph file, the data given (its min and max). quantize(loihi) chooses the
input's integer encoding from it when no calibration set is given; data outside a declared range is an error.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from snnc.compiler.errors import InputError, SnncError
from snnc.compiler.ir import GRADED, SPIKE, Graph

KINDS = (SPIKE, GRADED)


def parse_kinds(spec: str | None, option: str = "--input-kind") -> dict[str, str] | str | None:
    """'spike', 'graded' (every data input) or 'NAME=KIND,NAME=KIND' -> a kind or {name: kind}."""
    if not spec:
        return None
    spec = spec.strip()
    if spec in KINDS:
        return spec
    out = {}
    for part in spec.split(","):
        name, sep, kind = part.strip().partition("=")
        if not sep or kind.strip() not in KINDS or not name.strip():
            raise SnncError(f"{option}: expected 'spike', 'graded' or NAME=spike|graded[,...], got {part.strip()!r}")
        out[name.strip()] = kind.strip()
    return out


def infer_kind(a: np.ndarray) -> str:
    """spike when every value is 0 or 1, else graded."""
    a = np.asarray(a)
    return SPIKE if a.size and bool(np.all((a == 0) | (a == 1))) else GRADED


def _data_by_input(graph: Graph, data) -> dict[str, np.ndarray]:
    if data is None:
        return {}
    if isinstance(data, Mapping):
        return {k: np.asarray(v) for k, v in data.items() if k in graph.inputs}
    from snnc.runtime.inputs import noise_inputs
    names = [n for n in graph.inputs if n not in noise_inputs(graph)]
    return {names[0]: np.asarray(data)} if len(names) == 1 else {}


def parse_ranges(spec: str | None, option: str = "--input-range") -> dict[str, tuple[float, float]] | tuple | None:
    """'LO,HI' (every data input) or 'NAME=LO,HI;NAME=LO,HI' -> (lo, hi) or {name: (lo, hi)}."""
    if not spec:
        return None
    out: dict[str, tuple[float, float]] = {}
    for part in spec.split(";"):
        name, sep, rng = part.strip().rpartition("=")
        out[name.strip() if sep else ""] = _range(rng, option, part.strip())
    if "" in out:
        if len(out) > 1:
            raise SnncError(f"{option}: give 'LO,HI' for every input or NAME=LO,HI;... by name, not both")
        return out[""]
    return out


def _range(text: str, option: str, part: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise SnncError(f"{option}: expected LO,HI or NAME=LO,HI[;...] (e.g. {option}=0,1), got {part!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise SnncError(f"{option}: the range {part!r} needs finite LO < HI")
    return lo, hi


def resolve(graph: Graph, declared: dict[str, str] | str | None = None, data=None, recorded: Mapping[str, str] | None = None,
            trust_graph: bool = False, ranges: dict | tuple | None = None,
            recorded_ranges: Mapping[str, tuple[float, float]] | None = None) -> Graph:
    """A copy of `graph` whose Input nodes carry their kinds; meta['input_kinds'] says where each came from, and
    meta['input_ranges'] the value range of each graded input with a known one.

    `recorded`: kinds stored in a model file; `trust_graph`: the graph's own Input kinds were recorded (a .snn
    or .nir file), not defaulted by tracing; `ranges`: declared (lo, hi) for every data input or by name;
    `recorded_ranges`: ranges stored in a model file.
    """
    from snnc.runtime.inputs import noise_inputs
    noise = set(noise_inputs(graph))
    data_inputs = [n for n in graph.inputs if n not in noise]
    if isinstance(declared, str):
        declared = {n: declared for n in data_inputs}
    declared = dict(declared or {})
    unknown = [n for n in declared if n not in graph.inputs]
    if unknown:
        raise SnncError(f"--input-kind: '{unknown[0]}' is not a graph input (inputs: {', '.join(data_inputs)})")
    bad = [n for n in declared if n in noise and declared[n] == SPIKE]
    if bad:
        raise SnncError(f"--input-kind: '{bad[0]}' is the uniform noise of a stochastic layer, a graded input")
    by_data = _data_by_input(graph, data)
    g = graph.copy()
    origin = {}
    for n in graph.inputs:
        node = graph.nodes[n]
        if n in declared:
            kind, why = declared[n], "declared"
        elif recorded and n in recorded:
            kind, why = recorded[n], "model file"
        elif trust_graph or n in noise:
            kind, why = node.kind, "graph file" if n not in noise else "noise"
        elif n in by_data:
            kind, why = infer_kind(by_data[n]), "data"
        else:
            kind, why = GRADED, "default"
        if kind != node.kind:
            g.nodes[n] = node.replace(kind=kind)
        origin[n] = {"kind": kind, "from": why}
    g.meta["input_kinds"] = origin
    _resolve_ranges(g, graph, data_inputs, by_data, ranges, recorded_ranges)
    from snnc.compiler.verify import verify
    return verify(g)


def _resolve_ranges(g: Graph, graph: Graph, data_inputs: list[str], by_data: dict, ranges, recorded) -> None:
    """meta['input_ranges'] of `g`: {input: {"range": [lo, hi], "from": where}} for graded inputs with a known range."""
    if isinstance(ranges, tuple):
        ranges = {n: ranges for n in data_inputs}
    ranges = dict(ranges or {})
    unknown = [n for n in ranges if n not in data_inputs]
    if unknown:
        raise SnncError(f"--input-range: '{unknown[0]}' is not a data input of the graph (inputs: {', '.join(data_inputs)})")
    prior = graph.meta.get("input_ranges") or {}
    out = {}
    for n in data_inputs:
        if n in ranges:
            rng, why = ranges[n], "declared"
        elif recorded and n in recorded:
            rng, why = recorded[n], "model file"
        elif n in prior and not (prior[n].get("from") == "data" and n in by_data and by_data[n].size):
            rng, why = prior[n]["range"], prior[n].get("from", "graph file")
        elif n in by_data and by_data[n].size:  # the data given now decides a range that came from data before
            rng, why = (float(by_data[n].min()), float(by_data[n].max())), "data"
        else:
            continue
        lo, hi = float(rng[0]), float(rng[1])
        if g.nodes[n].kind == SPIKE:
            if why == "declared":
                raise SnncError(f"--input-range: '{n}' is a spike input (values 0 or 1); a range is for graded inputs")
            continue
        a = by_data.get(n)
        if why != "data" and a is not None and a.size and (a.min() < lo or a.max() > hi):
            v = a.min() if a.min() < lo else a.max()
            i = tuple(int(j) for j in np.argwhere(a == v)[0])
            raise InputError(f"input '{n}' holds {v:g} at [t, b, f] = {list(i)}, outside its range [{lo:g}, {hi:g}] "
                             f"({why}); give the right range (--input-range {n}={min(lo, a.min()):g},{max(hi, a.max()):g})")
        out[n] = {"range": [lo, hi], "from": why}
    g.meta.pop("input_ranges", None)
    if out:
        g.meta["input_ranges"] = out


def input_range(graph: Graph, name: str) -> tuple[tuple[float, float], str] | None:
    """((lo, hi), where it came from) of graded input `name`, or None when no range is known."""
    r = (graph.meta.get("input_ranges") or {}).get(name)
    return ((float(r["range"][0]), float(r["range"][1])), r.get("from", "graph file")) if r else None


def input_kinds(graph: Graph) -> dict[str, str]:
    """{graph input: kind}."""
    return {n: graph.nodes[n].kind for n in graph.inputs}


def integer_inputs(graph) -> set[str]:
    """Graph inputs read directly by a fixed-point (integer) node: those must hold integers. An input behind a float
    node (the encoder x·2^q that quantize(loihi) inserts for fractional inputs) may hold any real."""
    return {e.src for e in graph.edges if e.src in graph.inputs and graph.nodes[e.dst].integer}


def check_values(name: str, kind: str, a: np.ndarray, integer: bool = False, where: str = "input") -> None:
    """Raise InputError naming `name` and an offending value: a spike input must hold 0/1 only; with `integer`
    (a Loihi fixed-point graph, which takes graded inputs as integers) a graded input must hold integers."""
    if kind == SPIKE:
        bad = (a != 0) & (a != 1)
        if bad.any():
            i = tuple(int(v) for v in np.argwhere(bad)[0])
            raise InputError(f"{where} '{name}' is a spike input (values 0 or 1) but holds {a[i]:g} at [t, b, f] = "
                             f"{list(i)}; declare it graded (--input-kind {name}=graded) to feed real values")
    elif integer and a.dtype.kind == "f":
        bad = a != np.trunc(a)
        if bad.any():
            i = tuple(int(v) for v in np.argwhere(bad)[0])
            raise InputError(f"{where} '{name}': a Loihi fixed-point graph takes graded inputs as integers, got {a[i]:g} "
                             f"at [t, b, f] = {list(i)}; scale the input to integers (it would be truncated)")
