"""One versioned `.snn` file per graph: a zip holding `graph.json` (structure) and one `.npy` per array.

Serialization is generic over the dataclass fields of the registered primitives,
so a new primitive needs no code here. The round trip is exact (dtypes and
values); a missing, truncated, corrupt or newer-version file fails with one
clear message.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import FileFormatError, PrimitiveError, SnncError
from snnc.compiler.files import atomic_path
from snnc.compiler.ir import PRIMITIVES, Edge, Graph

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


def from_bytes(data: bytes, where: str = "<bytes>") -> Graph:
    """Parse .snn content; `where` names the file in errors."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        bad = z.testzip()
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as e:
        raise FileFormatError(f"{where}: not a valid .snn file (truncated or corrupt: {e})") from None
    if bad is not None:
        raise FileFormatError(f"{where}: corrupt .snn file (checksum error in member {bad})")
    with z:
        try:
            doc = json.loads(z.read("graph.json"))
        except KeyError:
            raise FileFormatError(f"{where}: not a .snn file (no graph.json inside)") from None
        except (ValueError, zipfile.BadZipFile, zlib.error) as e:
            raise FileFormatError(f"{where}: corrupt graph.json ({e})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise FileFormatError(f"{where}: not a .snn graph file (format {doc.get('format') if isinstance(doc, dict) else None!r})")
        ver = doc.get("version")
        if not isinstance(ver, int) or ver > VERSION:
            raise FileFormatError(f"{where}: written by a newer snnc (format version {ver}, this snnc reads up to {VERSION}); upgrade snnc")
        try:
            g = Graph(meta=doc.get("meta", {}))
            for nd in doc["nodes"]:
                name, tname = nd["name"], nd["type"]
                if name in g.nodes:
                    raise FileFormatError(f"{where}: node '{name}' is defined twice")
                cls = PRIMITIVES.get(tname)
                if cls is None:
                    raise FileFormatError(f"{where}: node '{name}' has unknown primitive type '{tname}'")
                kw = {}
                for fname, spec in nd["fields"].items():
                    if "array" in spec:
                        kw[fname] = np.lib.format.read_array(io.BytesIO(z.read(spec["array"])), allow_pickle=False)
                    else:
                        kw[fname] = spec["value"]
                try:
                    node = cls(**kw)
                except (PrimitiveError, TypeError) as e:
                    raise FileFormatError(f"{where}: node '{name}' ({tname}): {e}") from None
                g.nodes[name] = node
            g.edges = [Edge(s, d, p, int(dl)) for s, d, p, dl in doc["edges"]]
            g.inputs = list(doc["inputs"])
            g.outputs = list(doc["outputs"])
        except SnncError:
            raise
        except (KeyError, TypeError, ValueError, zipfile.BadZipFile, zlib.error, OSError) as e:
            raise FileFormatError(f"{where}: corrupt .snn file ({type(e).__name__}: {e})") from None
    return g


def load(path: str | os.PathLike) -> Graph:
    """Read a .snn file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileFormatError(f"{path}: is a directory, not a .snn file") from None
    except OSError as e:
        raise FileFormatError(f"{path}: cannot read ({e.strerror})") from None
    return from_bytes(data, str(path))
