"""The schema of a NIR file's node groups, checked before any nir object is built (frontends/nir_file.py reads).

Per node type: the fields NIR's own reader needs, the optional ones, and what each must hold; every
violation is one FileFormatError naming the node and the field. Values come back as numpy arrays (a
scalar field as a 0-d array), so nir's constructors and snnc's importer only ever see numbers.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from snnc.compiler.errors import FileFormatError

MAX_DEPTH = 32  # nested subgraphs; deeper files are refused before recursion can fail
_NEURON = {"LI": ("tau", "r", "v_leak"), "LIF": ("tau", "r", "v_leak", "v_threshold"), "I": ("r",),
           "IF": ("r", "v_threshold"), "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak"),
           "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold")}
_CONV = ("weight", "stride", "padding", "dilation", "groups", "bias")
# type -> (required fields, optional fields), as nir/serialization.py read_node reads them
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Affine": (("weight", "bias"), ()), "Linear": (("weight",), ()), "Scale": (("scale",), ()),
    "Conv1d": (_CONV, ("input_shape",)), "Conv2d": (_CONV, ("input_shape",)),
    "SumPool2d": (("kernel_size", "stride", "padding"), ()), "AvgPool2d": (("kernel_size", "stride", "padding"), ()),
    "Delay": (("delay",), ()), "Flatten": (("start_dim", "end_dim"), ("input_type",)), "Threshold": (("threshold",), ()),
    **{k: (v, ("v_reset", "w_in") if k.startswith("Cuba") else ("v_reset",)) for k, v in _NEURON.items()},
    "Input": (("shape",), ()), "Output": (("shape",), ()), "NIRGraph": (("nodes", "edges"), ()),
}
for _k in ("LI", "I", "CubaLI"):  # no reset on a neuron that does not spike
    FIELDS[_k] = (FIELDS[_k][0], tuple(f for f in FIELDS[_k][1] if f != "v_reset"))
INTS = ("stride", "dilation", "groups", "kernel_size", "start_dim", "end_dim", "shape", "input_shape", "input_type")
POSITIVE = ("stride", "dilation", "groups", "kernel_size", "input_shape")  # a conv/pool of 0 divides by zero
MAX_INT = 2**31  # no axis, stride or dimension index of a real model comes near; products stay exact in int64
STR_OK = ("padding",)  # a conv's padding may be "same" or "valid"
INF_OK = ("tau", "tau_syn", "tau_mem", "v_threshold", "threshold")  # inf: no leak, or a neuron that never fires


def _name(v: Any) -> str:
    return v.decode("utf8", "replace") if isinstance(v, bytes) else str(v)


def _value(name: str, kind: str, k: str, v: Any) -> Any:
    """Field `k` of node `name` as a numpy array of the right kind, or a FileFormatError."""
    where = f"NIR node '{name}' ({kind}): field '{k}'"
    if isinstance(v, dict):
        raise FileFormatError(f"{where} is a group, not a dataset")
    if isinstance(v, str):
        if k in STR_OK:
            return v
        raise FileFormatError(f"{where} is a string, not numeric")
    a = np.asarray(v)
    if a.dtype.kind not in ("iu" if k in INTS else "biuf"):
        raise FileFormatError(f"{where} is not {'integer' if k in INTS else 'numeric'} (dtype {a.dtype})")
    if a.dtype.kind == "f" and (np.isnan(a).any() or (np.isinf(a).any() and k not in INF_OK)):
        raise FileFormatError(f"{where} has non-finite values")
    if k in INTS and a.ndim > 1:
        raise FileFormatError(f"{where} of shape {a.shape} is not a list of integers")
    if k in INTS and a.size and np.abs(a).max() > MAX_INT:
        raise FileFormatError(f"{where}: {int(np.abs(a).max())} is above {MAX_INT}")
    if (k in POSITIVE and np.any(a < 1)) or (k == "padding" and np.any(a < 0)):
        raise FileFormatError(f"{where} must be {'>= 0' if k == 'padding' else '>= 1'}, got {a.tolist()}")
    return a


def _edges(name: str, v: Any, names: set) -> list[tuple[str, str]]:
    where = f"NIR graph '{name or '(top)'}'"
    if isinstance(v, (dict, str)):
        raise FileFormatError(f"{where}: 'edges' is not a list of pairs")
    e = np.asarray(v)
    if e.size == 0:
        return []
    if e.ndim != 2 or e.shape[1] != 2 or e.dtype.kind not in "OSU":
        raise FileFormatError(f"{where}: edges of shape {e.shape} and dtype {e.dtype} are not pairs of node names")
    out = []
    for a, b in e:
        if not isinstance(a, (bytes, str, np.bytes_, np.str_)) or not isinstance(b, (bytes, str, np.bytes_, np.str_)):
            raise FileFormatError(f"{where}: an edge end is not a node name")
        a, b = _name(a), _name(b)
        for end in (a, b):
            if end not in names:
                raise FileFormatError(f"NIR edge {a} -> {b}{' in ' + name if name else ''}: no node '{end}'")
        out.append((a, b))
    return out


def check_node(d: Any, name: str, depth: int = 0) -> dict:
    """Node dict `d` checked against its type's schema, fields as arrays, edges as name pairs; recurses."""
    label = f"NIR node '{name}'" if name else "NIR graph (top)"
    if depth > MAX_DEPTH:
        raise FileFormatError(f"{label}: subgraphs nested deeper than {MAX_DEPTH}")
    if not isinstance(d, dict):
        raise FileFormatError(f"{label} is a dataset, not a node group")
    kind = d.get("type")
    if kind is None:
        raise FileFormatError(f"{label} has no 'type' field")
    if not isinstance(kind, str):
        raise FileFormatError(f"{label}: 'type' is not a string")
    if kind not in FIELDS:
        raise FileFormatError(f"{label}: unknown node type '{kind}' (NIR knows {', '.join(sorted(FIELDS))})")
    required, optional = FIELDS[kind]
    missing = [f for f in required if f not in d]
    if missing:
        raise FileFormatError(f"{label} ({kind}): missing field '{missing[0]}'")
    extra = sorted(set(d) - set(required) - set(optional) - {"type", "metadata"})
    if extra:
        raise FileFormatError(f"{label} ({kind}): unknown field '{extra[0]}'")
    meta = d.get("metadata", {})
    if not isinstance(meta, dict):
        raise FileFormatError(f"{label} ({kind}): 'metadata' is not a group")
    out: dict[str, Any] = {"type": kind, "metadata": meta}
    if kind == "NIRGraph":
        if not isinstance(d["nodes"], dict):
            raise FileFormatError(f"{label}: 'nodes' is not a group")
        out["nodes"] = {k: check_node(sub, f"{name}.{k}" if name else k, depth + 1) for k, sub in d["nodes"].items()}
        out["edges"] = _edges(name, d["edges"], set(d["nodes"]))
        return out
    for k in (*required, *optional):
        if k in d:
            out[k] = _value(name, kind, k, d[k])
    return out
