"""One versioned `.snn` file per graph: a zip holding `graph.json` (structure) and one `.npy` per array.

Serialization is generic over the dataclass fields of the registered primitives,
so a new primitive needs no code here. The round trip is exact (dtypes and
values); a missing, truncated, corrupt, oversized or newer-version file fails
with one clear message naming the file and the node or field at fault (the
schema below is checked before anything is built; limits.py bounds sizes).
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
from typing import Any

import numpy as np

from snnc.compiler import limits
from snnc.compiler.errors import FileFormatError, GraphError, PrimitiveError
from snnc.compiler.files import atomic_path
from snnc.compiler.ir import PRIMITIVES, Edge, Graph
from snnc.compiler.limits import parse_npy, read_member
from snnc.compiler.schema import NUMBER, Map, Row, check_version, validate
from snnc.compiler.verify import verify

FORMAT = "snnc-graph"
VERSION = 1


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return list(o)
    raise TypeError(f"meta value of type {type(o).__name__} is not JSON-serializable")


def to_bytes(graph: Graph) -> bytes:
    """The .snn file content of `graph`."""
    from snnc import __version__

    arrays: dict[str, np.ndarray] = {}
    nodes = []
    for name, node in graph.nodes.items():
        fields: dict[str, Any] = {}
        for f in dataclasses.fields(node):
            v = getattr(node, f.name)
            if isinstance(v, np.ndarray):
                key = f"arrays/{len(arrays)}.npy"
                arrays[key] = v
                fields[f.name] = {"array": key}
            else:
                fields[f.name] = {"value": v.item() if isinstance(v, np.generic) else v}
        nodes.append({"name": name, "type": type(node).__name__, "fields": fields})
    doc = {
        "format": FORMAT, "version": VERSION, "snnc_version": __version__,
        "nodes": nodes,
        "edges": [[e.src, e.dst, e.port, int(e.delay)] for e in graph.edges],
        "inputs": list(graph.inputs), "outputs": list(graph.outputs), "meta": graph.meta,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("graph.json", json.dumps(doc, indent=1, default=_json_default))
        for key, a in arrays.items():
            b = io.BytesIO()
            np.lib.format.write_array(b, np.array(a, order="C"), allow_pickle=False)  # keeps 0-d arrays 0-d
            z.writestr(key, b.getvalue())
    return buf.getvalue()


def save(graph: Graph, path: str | os.PathLike) -> None:
    """Write `graph` to `path` atomically."""
    data = to_bytes(graph)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


_FIELD = ({"array": str}, {"value": object})
_META = {"?dt": (NUMBER, type(None)), "?source": str, "?snnc_version": str, "?node_meta": Map(dict), "?order": [str],
         "?passes": [{"?name": str, "*": object}], "?hardware": (str, dict),
         "?placement": Map({"blocks": [{"neurons": Row((int, int)), "core": int, "chip": int, "*": object}],
                            "*": object}),
         "*": object}
SCHEMA = {"format": str, "version": object, "?snnc_version": str,
          "nodes": [{"name": str, "type": str, "fields": Map(_FIELD)}],
          "edges": [Row((str, str, str, int))], "inputs": [str], "outputs": [str], "?meta": _META}
_SCALARS = {"int": int, "float": float, "bool": bool, "str": str}


def _node(nd: dict, z: zipfile.ZipFile, where: str) -> Any:
    """One primitive from its graph.json entry: known type and fields, typed scalars, bounded arrays."""
    name, tname = nd["name"], nd["type"]
    cls = PRIMITIVES.get(tname)
    if cls is None:
        raise FileFormatError(f"{where}: node '{name}' has unknown primitive type '{tname[:80]}'")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kw: dict[str, Any] = {}
    for fname, spec in nd["fields"].items():
        f = fields.get(fname)
        if f is None:
            raise FileFormatError(f"{where}: node '{name}' ({tname}) has unknown field '{fname[:80]}'")
        at = f"{where}: node '{name}' ({tname}) field '{fname}'"
        if "array" in spec:
            if f.type != "np.ndarray":
                raise FileFormatError(f"{at}: expected a {f.type} value, got an array")
            try:
                data = read_member(z, spec["array"], where)
            except KeyError:
                raise FileFormatError(f"{at}: array member {spec['array'][:80]} is missing") from None
            kw[fname] = parse_npy(data, f"{at} ({spec['array']})")
        else:
            v = spec["value"]
            want = _SCALARS.get(f.type)
            if want is not None:
                validate(v, want, at)
            else:  # an array given inline: numbers or nested lists of numbers
                validate(v, (float, [object]), at)
            kw[fname] = v
    missing = [n for n, f in fields.items() if n not in kw
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise FileFormatError(f"{where}: node '{name}' ({tname}) lacks field(s) {', '.join(missing)}")
    try:
        node = cls(**kw)
    except (PrimitiveError, TypeError, ValueError) as e:
        raise FileFormatError(f"{where}: node '{name}' ({tname}): {' '.join(str(e).split())[:300]}") from None
    limits.check("neurons", node.size, where, f"the size of node '{name}'")
    return node


def from_bytes(data: bytes, where: str = "<bytes>", verified: bool = False) -> Graph:
    """Parse .snn content (schema and limits checked); `where` names the file in errors.

    With `verified` the graph also passes verify() (what a file loaded to run must do; `load` sets it).
    """
    with limits.open_zip(data, where, ".snn file") as z:
        try:
            raw = read_member(z, "graph.json", where)
        except KeyError:
            raise FileFormatError(f"{where}: not a .snn file (no graph.json inside)") from None
        doc = limits.loads_json(raw, f"{where} (graph.json)")
        if not isinstance(doc, dict):
            raise FileFormatError(f"{where}: not a .snn graph file (graph.json holds {type(doc).__name__})")
        check_version(doc, FORMAT, VERSION, where, "a .snn graph file")
        validate(doc, SCHEMA, f"{where} (graph.json)")
        g = Graph(meta=doc.get("meta", {}))
        for nd in doc["nodes"]:
            if nd["name"] in g.nodes:
                raise FileFormatError(f"{where}: node '{nd['name']}' is defined twice")
            g.nodes[nd["name"]] = _node(nd, z, where)
    for s, d, p, dl in doc["edges"]:
        if dl < 0:
            raise FileFormatError(f"{where}: edge {s} -> {d}.{p}: negative delay {dl}")
        limits.check("delay", dl, where, f"the delay of edge {s} -> {d}.{p}")
        g.edges.append(Edge(s, d, p, dl))
    g.inputs, g.outputs = list(doc["inputs"]), list(doc["outputs"])
    if not verified:
        return g
    try:
        return verify(g)
    except GraphError as e:
        raise FileFormatError(f"{where}: {e}") from None


def load(path: str | os.PathLike) -> Graph:
    """Read a .snn file: validated, within limits and verified."""
    return from_bytes(limits.read_bytes(path, str(path), "a .snn file"), str(path), verified=True)
