"""Validation of an snnc ONNX artifact before it is run or inspected: metadata schema, format version, op
domains, initializer sizes and values, and the embedded IR graph. Every fault is one line naming the file and
the metadata key, initializer or node at fault.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler import limits
from snnc.compiler.errors import FileFormatError
from snnc.compiler.schema import Map, Row, validate

FORMAT_VERSION = 1  # the highest snnc.format this snnc reads (backends/onnx/lower.py writes it)
DOMAINS = ("", "ai.onnx")  # onnxruntime's standard operators: a custom domain could name any native kernel
_STATE = {"input": str, "output": str, "node": str, "var": str, "shape": [(int, str)], "dtype": str,
          "init": (float, [object]), "*": object}
META = {  # metadata key -> (schema of its JSON value, or str for a plain string), required
    "snnc.mode": (str, True), "snnc.dtype": (str, True),
    "snnc.inputs": (Map(int), True), "snnc.outputs": (Map(int), True),
    "snnc.nodes": (Map(Row((str, str, int))), True), "snnc.counted": ([str], True),
    "snnc.states": ([_STATE], True), "snnc.noise": ([str], False), "snnc.exit": (str, False),
}


def _metadata(model, where: str) -> dict[str, str]:
    meta: dict[str, str] = {}
    for p in model.metadata_props:
        k, v = p.key, p.value  # protobuf hands back bytes for a string that is not valid UTF-8
        if not isinstance(k, str) or not isinstance(v, str):
            name = k if isinstance(k, str) else k.decode("utf-8", "replace")
            raise FileFormatError(f"{where}: metadata '{name[:80]}' is not valid UTF-8 text")
        meta[k] = v
    return meta


def _walk(graph, path: str = ""):
    """(node, where) for every node of `graph` and of its subgraphs (Loop bodies)."""
    import onnx

    for n in graph.node:
        yield n, f"{path}{n.name or n.op_type}"
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from _walk(a.g, f"{path}{n.name or n.op_type}/")
            for g in a.graphs:
                yield from _walk(g, f"{path}{n.name or n.op_type}/")


def _initializers(graph, where: str) -> None:
    from onnx import numpy_helper

    for init in graph.initializer:
        count = 1
        for d in init.dims:
            if d < 0:
                raise FileFormatError(f"{where}: initializer '{init.name}' has a negative dimension {d}")
            count *= d
        limits.check("array_bytes", count * 8, where, f"the size of initializer '{init.name}' in bytes")
        try:
            a = numpy_helper.to_array(init)
        except Exception as e:  # a truncated raw_data or an unknown data type
            raise FileFormatError(f"{where}: initializer '{init.name}' is corrupt ({' '.join(str(e).split())[:200]})") from None
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise FileFormatError(f"{where}: initializer '{init.name}' has NaN or inf values")


def _wiring(model, meta: dict[str, str], where: str) -> None:
    """The graph inputs and outputs the runtime feeds and reads, as the metadata names them, exist."""
    import json

    from snnc.compiler.primitives.rc import DECISION, TIME

    nodes, counted = json.loads(meta["snnc.nodes"]), json.loads(meta["snnc.counted"])
    states, exit_ = json.loads(meta["snnc.states"]), meta.get("snnc.exit", "")
    if exit_ and exit_ not in nodes:
        raise FileFormatError(f"{where}: metadata 'snnc.exit' names {exit_[:80]!r}, which is not in 'snnc.nodes'")
    for n in counted:
        if n not in nodes:
            raise FileFormatError(f"{where}: metadata 'snnc.counted' names {n[:80]!r}, which is not in 'snnc.nodes'")
    ins = {v.name for v in model.graph.input}
    outs = {v.name for v in model.graph.output}
    want_in = set(json.loads(meta["snnc.inputs"]))
    want_out = set(json.loads(meta["snnc.outputs"])) | {f"{n}.nonzero" for n in counted}
    if meta["snnc.mode"] == "loop":
        want_out |= {exit_ + DECISION, exit_ + TIME} if exit_ else set()
    else:
        want_in |= {s["input"] for s in states}
        want_out |= {s["output"] for s in states}
    for kind, want, have in (("input", want_in, ins), ("output", want_out, outs)):
        missing = sorted(want - have)
        if missing:
            raise FileFormatError(f"{where}: the metadata names graph {kind} {missing[0][:80]!r}, which the model "
                                  f"does not have")


def check_artifact(model, where: str) -> dict[str, str]:
    """Raise FileFormatError at the first fault of an snnc ONNX model; return its metadata."""
    meta = _metadata(model, where)
    if "snnc.mode" not in meta:
        raise FileFormatError(f"{where}: not an snnc ONNX model (no snnc metadata); compile it with 'snnc compile -t onnx'")
    fmt = meta.get("snnc.format")
    if fmt is None:
        raise FileFormatError(f"{where}: metadata lacks 'snnc.format' (corrupt, or written by an snnc too old)")
    if not fmt.isdigit():
        raise FileFormatError(f"{where}: metadata 'snnc.format' is {fmt[:40]!r}, not a format version number")
    if int(fmt) > FORMAT_VERSION:
        raise FileFormatError(f"{where}: written by a newer snnc (ONNX format version {int(fmt)}, this snnc reads up "
                              f"to {FORMAT_VERSION}); upgrade snnc")
    for key, (schema, required) in META.items():
        if key not in meta:
            if required:
                raise FileFormatError(f"{where}: metadata lacks '{key}'")
            continue
        if schema is str:
            continue
        v = limits.loads_json(meta[key], f"{where} metadata '{key}'")
        validate(v, schema, where, f"metadata '{key}'")
    if meta["snnc.mode"] not in ("loop", "step"):
        raise FileFormatError(f"{where}: metadata 'snnc.mode' is {meta['snnc.mode'][:40]!r}, expected loop or step")
    if meta["snnc.dtype"] not in ("float32", "float64"):
        raise FileFormatError(f"{where}: metadata 'snnc.dtype' is {meta['snnc.dtype'][:40]!r}, expected float32 or float64")
    _wiring(model, meta, where)
    for op in model.opset_import:
        if op.domain not in DOMAINS:
            raise FileFormatError(f"{where}: imports operator domain '{op.domain[:80]}'; snnc models use only the "
                                  "standard ONNX operators")
    for n, at in _walk(model.graph):
        if not isinstance(n.domain, str) or not isinstance(n.op_type, str):
            raise FileFormatError(f"{where}: node {at!r:.80} has a name, type or domain that is not valid UTF-8")
        if n.domain not in DOMAINS:
            raise FileFormatError(f"{where}: node '{at[:80]}' ({n.op_type[:40]}) is in the custom operator domain "
                                  f"'{n.domain[:80]}'; snnc models use only the standard ONNX operators")
    for v in list(model.graph.input) + list(model.graph.output):
        if not isinstance(v.name, str) or not all(isinstance(d.dim_param, str) for d in v.type.tensor_type.shape.dim):
            raise FileFormatError(f"{where}: a graph input or output has a name that is not valid UTF-8")
    if not isinstance(model.producer_name, str):
        raise FileFormatError(f"{where}: producer_name is not valid UTF-8")
    _initializers(model.graph, where)
    from snnc.backends.onnx.target import GRAPH_KEY, embedded_graph
    if GRAPH_KEY in meta:
        embedded_graph(meta, where)
    return meta
