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

from snnc.compiler import limits
from snnc.compiler.errors import FileFormatError, SnncError
from snnc.frontends.nir_schema import MAX_DEPTH, check_node

def _refuse_links(group: Any, where: str) -> None:
    import h5py

    for key in group.keys():
        link = group.get(key, getlink=True)
        if isinstance(link, (h5py.ExternalLink, h5py.SoftLink)):
            kind = "an external" if isinstance(link, h5py.ExternalLink) else "a soft"
            raise FileFormatError(f"{where}/{key} is {kind} HDF5 link; snnc reads only data stored in the file itself")


def _check_strings(item: Any, where: str, raw: Any) -> None:
    """Variable-length strings: every stored length read from the file itself and bounded before h5py allocates it
    (a flipped length in a heap id would have it allocate and fill up to 4 GB)."""
    n = int(item.size)
    off, stored = item.id.get_offset(), item.id.get_storage_size()
    if stored == 0 and off is None:
        return  # never written: h5py returns the fill value
    if off is None or item.id.get_create_plist().get_layout() != 1 or stored != 16 * n:
        raise FileFormatError(f"{where}: variable-length strings stored chunked, compact or with {stored} bytes for {n}; "
                              "snnc reads them as nir writes them (contiguous, 16-byte heap ids)")
    raw.seek(off)
    ids = np.frombuffer(raw.read(stored), dtype="<u4")
    if ids.size != 4 * n:
        raise FileFormatError(f"{where}: string data past the end of the file")
    limits.check("json_bytes", int(ids[0::4].astype(np.int64).sum()), where, "the total length of its strings")


def _read_dataset(item: Any, where: str, raw: Any) -> Any:
    """One dataset's value, bounded and refused unless it is numbers or strings stored in the file itself."""
    import h5py

    if item.external or item.is_virtual:
        raise FileFormatError(f"{where} is an external or virtual HDF5 dataset; snnc reads only data "
                              "stored in the file itself")
    info = h5py.check_string_dtype(item.dtype)
    if info is not None and info.length is None:
        _check_strings(item, where, raw)
    elif item.dtype.kind not in "biufcSU" or item.dtype.names:
        raise FileFormatError(f"{where}: HDF5 dtype {item.dtype} is neither numbers nor strings")
    else:
        limits.check("array_bytes", int(item.size) * item.dtype.itemsize, where, "its declared size in bytes")
    v = item[()]
    return v.decode("utf8", "replace") if isinstance(v, bytes) else v


def _read_group(group: Any, where: str, raw: Any, depth: int = 0) -> dict:
    """The HDF5 group as nested dicts of numpy values (strings decoded), refusing anything outside the file."""
    import h5py

    if not isinstance(group, h5py.Group):
        raise FileFormatError(f"{where} is not an HDF5 group")
    if depth > 2 * MAX_DEPTH + 4:  # a subgraph is two levels (node/nodes/name)
        raise FileFormatError(f"{where}: groups nested deeper than {MAX_DEPTH} subgraphs")
    _refuse_links(group, where)
    out: dict[str, Any] = {}
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            out[key] = _read_group(item, f"{where}/{key}", raw, depth + 1)
        elif isinstance(item, h5py.Dataset):
            out[key] = _read_dataset(item, f"{where}/{key}", raw)
        else:
            raise FileFormatError(f"{where}/{key} is an HDF5 {type(item).__name__}, not a group or dataset")
    return out


def _build(d: dict, name: str) -> Any:
    """nir objects from a checked node dict; a constructor's complaint names the node."""
    import nir

    kind = d["type"]
    if kind == "NIRGraph":
        nodes = {k: _build(v, f"{name}.{k}" if name else k) for k, v in d["nodes"].items()}
        return nir.NIRGraph(nodes, d["edges"], metadata=d["metadata"], type_check=False)
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
        with h5py.File(p, "r") as f, open(p, "rb") as raw:
            _refuse_links(f, "")
            if "node" not in f:
                raise FileFormatError("no 'node' group (not a NIR file)")
            d = _read_group(f["node"], "/node", raw)
    except FileFormatError as e:
        raise FileFormatError(f"{p}: {e}") from None
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as e:  # h5py's ways of saying "corrupt"
        raise FileFormatError(f"{p}: not a readable NIR file ({' '.join(str(e).split())[:200] or type(e).__name__})") from None
    try:
        return _build(check_node(d, ""), "")
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
