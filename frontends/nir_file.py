"""Reading and writing `.nir` files (NIR's HDF5 format) safely: one clear line naming the node or edge at fault.

nir.read follows HDF5 links anywhere on disk, asserts on unknown types and lets
h5py raise from deep inside; this reader walks the file itself, refuses external
and soft links, external and virtual datasets, checks every node's type, fields,
values and edges, and builds the nir objects without nir's strict type inference
(snnc checks shapes itself). Writes go through memory, then one atomic rename.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import FileFormatError, SnncError

MAX_DEPTH = 32  # nested subgraphs; deeper files are refused before recursion can fail
# the fields NIR's own reader needs per node type (nir/serialization.py read_node)
REQUIRED = {
    "Affine": ("weight", "bias"), "Linear": ("weight",), "Scale": ("scale",),
    "Conv1d": ("weight", "stride", "padding", "dilation", "groups", "bias"),
    "Conv2d": ("weight", "stride", "padding", "dilation", "groups", "bias"),
    "SumPool2d": ("kernel_size", "stride", "padding"), "AvgPool2d": ("kernel_size", "stride", "padding"),
    "Delay": ("delay",), "Flatten": ("start_dim", "end_dim"), "Threshold": ("threshold",),
    "I": ("r",), "IF": ("r", "v_threshold"), "LI": ("tau", "r", "v_leak"), "LIF": ("tau", "r", "v_leak", "v_threshold"),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak"), "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold"),
    "Input": ("shape",), "Output": ("shape",), "NIRGraph": ("nodes", "edges"),
}
INF_OK = ("tau", "tau_syn", "tau_mem", "v_threshold", "threshold")  # inf: no leak, or a neuron that never fires


def _refuse_links(group: Any, where: str) -> None:
    import h5py

    for key in group.keys():
        link = group.get(key, getlink=True)
        if isinstance(link, (h5py.ExternalLink, h5py.SoftLink)):
            kind = "an external" if isinstance(link, h5py.ExternalLink) else "a soft"
            raise FileFormatError(f"{where}/{key} is {kind} HDF5 link; snnc reads only data stored in the file itself")


def _read_group(group: Any, where: str, depth: int = 0) -> dict:
    """The HDF5 group as nested dicts of numpy values (strings decoded), refusing anything outside the file."""
    import h5py

    if depth > MAX_DEPTH:
        raise FileFormatError(f"{where}: groups nested deeper than {MAX_DEPTH}")
    _refuse_links(group, where)
    out: dict[str, Any] = {}
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            out[key] = _read_group(item, f"{where}/{key}", depth + 1)
            continue
        if item.external or item.is_virtual:
            raise FileFormatError(f"{where}/{key} is an external or virtual HDF5 dataset; snnc reads only data "
                                  "stored in the file itself")
        v = item[()]
        out[key] = v.decode("utf8", "replace") if isinstance(v, bytes) else v
    return out


def _name(v: Any) -> str:
    return v.decode("utf8", "replace") if isinstance(v, bytes) else str(v)


def _check_node(d: Any, name: str, depth: int) -> None:
    """Type, required fields and finite values of one node dict; recurses into subgraphs."""
    if not isinstance(d, dict):
        raise FileFormatError(f"NIR node '{name}' is a dataset, not a node group")
    kind = d.get("type")
    if kind is None:
        raise FileFormatError(f"NIR node '{name}' has no 'type' field")
    kind = _name(kind)
    if kind not in REQUIRED:
        raise FileFormatError(f"NIR node '{name}': unknown node type '{kind}' (NIR knows {', '.join(sorted(REQUIRED))})")
    missing = [f for f in REQUIRED[kind] if f not in d]
    if missing:
        raise FileFormatError(f"NIR node '{name}' ({kind}): missing field '{missing[0]}'")
    for k, v in d.items():
        if k in ("type", "metadata", "nodes", "edges") or isinstance(v, str):
            continue
        a = np.asarray(v)
        if a.dtype.kind not in "biuf":
            raise FileFormatError(f"NIR node '{name}' ({kind}): field '{k}' is not numeric (dtype {a.dtype})")
        if a.dtype.kind == "f" and (np.isnan(a).any() or (np.isinf(a).any() and k not in INF_OK)):
            raise FileFormatError(f"NIR node '{name}' ({kind}): field '{k}' has non-finite values")
    if kind == "NIRGraph":
        if not isinstance(d["nodes"], dict):
            raise FileFormatError(f"NIR node '{name}': 'nodes' is not a group")
        for k, sub in d["nodes"].items():
            _check_node(sub, f"{name}.{k}" if name else k, depth + 1)
        edges = np.asarray(d["edges"])
        if edges.size and (edges.ndim != 2 or edges.shape[1] != 2):
            raise FileFormatError(f"NIR graph '{name or '(top)'}': edges of shape {edges.shape} are not pairs")
        names = set(d["nodes"])
        for a, b in edges.reshape(-1, 2):
            a, b = _name(a), _name(b)
            for end in (a, b):
                if end not in names:
                    raise FileFormatError(f"NIR edge {a} -> {b}{' in ' + name if name else ''}: no node '{end}'")


def _build(d: dict, name: str) -> Any:
    """nir objects from a checked node dict; a constructor's complaint names the node."""
    import nir

    kind = _name(d["type"])
    if kind == "NIRGraph":
        nodes = {k: _build(v, f"{name}.{k}" if name else k) for k, v in d["nodes"].items()}
        edges = [(_name(a), _name(b)) for a, b in np.asarray(d["edges"]).reshape(-1, 2)]
        return nir.NIRGraph(nodes, edges, metadata=d.get("metadata", {}), type_check=False)
    kw = {k: v for k, v in d.items() if k != "type"}
    if kind in ("Input", "Output"):
        kw[f"{kind.lower()}_type"] = {kind.lower(): np.asarray(kw.pop("shape"))}
    if kind == "Flatten":
        kw["input_type"] = {"input": kw["input_type"] if "input_type" in kw else None}
    if kind in ("CubaLIF", "LIF", "IF") and "v_reset" not in kw:  # (CubaLI has no reset)
        kw["v_reset"] = np.zeros_like(np.asarray(kw.get("v_threshold", kw.get("v_leak"))))
    try:
        return getattr(nir, kind)(**kw)
    except TypeError as e:
        msg = str(e).split("()", 1)[-1].strip()
        raise FileFormatError(f"NIR node '{name}' ({kind}): {msg}") from None
    except (AssertionError, ValueError, IndexError) as e:
        raise FileFormatError(f"NIR node '{name}' ({kind}): {' '.join(str(e).split()) or 'inconsistent fields'}") from None


def read_nir_graph(path: str | Path) -> Any:
    """The nir.NIRGraph stored in `path`, checked; any problem is one FileFormatError naming the file and node."""
    import h5py

    p = Path(path)
    if not p.is_file():
        raise FileFormatError(f"{p}: no such file" if not p.exists() else f"{p}: not a file")
    try:
        with h5py.File(p, "r") as f:
            _refuse_links(f, "")
            if "node" not in f:
                raise FileFormatError("no 'node' group (not a NIR file)")
            d = _read_group(f["node"], "/node")
    except FileFormatError as e:
        raise FileFormatError(f"{p}: {e}") from None
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as e:  # h5py's ways of saying "corrupt"
        raise FileFormatError(f"{p}: not a readable NIR file ({' '.join(str(e).split())[:200] or type(e).__name__})") from None
    try:
        _check_node(d, "", 0)
        return _build(d, "")
    except FileFormatError as e:
        raise FileFormatError(f"{p}: {e}") from None


def write_nir_graph(ng: Any, path: str | Path) -> None:
    """Write NIR graph `ng` to `path` atomically: serialized in memory, then one rename; failures are one line."""
    import nir

    from snnc.compiler.files import atomic_path

    buf = io.BytesIO()
    try:
        nir.write(buf, ng)  # h5py crashes on a full disk when writing a file itself; memory cannot fill a disk
    except Exception as e:  # nir and h5py raise many types for a graph they cannot store
        raise SnncError(f"cannot serialize the NIR graph for {path}: {' '.join(str(e).split())[:200]}") from None
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            f.write(buf.getbuffer())
            f.flush()
    except OSError as e:
        raise SnncError(f"cannot write {path}: {e.strerror or e}") from None
