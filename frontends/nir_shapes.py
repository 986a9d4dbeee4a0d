"""NIR shapes: every node's output shape, neurons sized by their input, and NIR's conv/pool nodes as snnc primitives.

snnc's values are flat [B, features]; NIR's are shaped ((C, H, W) after a Conv2d).
The shapes are worked out once over the flattened graph: from a node's own fields,
else from what feeds it (a leading batch 1, as Norse writes, is dropped where a
conv or pool needs its exact rank).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Primitive


def _ints(name: str, v: Any, n: int, what: str) -> np.ndarray:
    a = np.asarray(v).reshape(-1)
    if a.size == 1:
        a = np.repeat(a, n)
    if a.size != n or a.dtype.kind not in "iuf" or np.any(a != np.round(a)):
        raise SnncError(f"NIR node '{name}': {what} {np.asarray(v).tolist()} is not {n} whole numbers")
    return a.astype(np.int64)


def neuron_fields(n: Any) -> dict[str, np.ndarray]:
    """The numeric parameters of an NIR neuron-like node, as float arrays."""
    if isinstance(n, Primitive) or not dataclasses.is_dataclass(n):
        return {}
    out = {}
    for f in dataclasses.fields(n):
        v = getattr(n, f.name)
        if f.name in ("input_type", "output_type", "metadata") or v is None or isinstance(v, (str, dict)):
            continue
        try:
            out[f.name] = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            continue
    return out


def _given(types: Any, key: str) -> tuple[int, ...] | None:
    v = types.get(key) if isinstance(types, dict) else None
    a = np.asarray(v).reshape(-1) if v is not None else np.zeros(0)
    return tuple(int(s) for s in a) if a.size and a.dtype.kind in "iuf" and np.all(a >= 1) else None


def _fit(shape: tuple | None, rank: int) -> tuple | None:
    """`shape` with a leading batch 1 dropped when that gives `rank` axes."""
    if shape is not None and len(shape) == rank + 1 and shape[0] == 1:
        return shape[1:]
    return shape


def conv_in_shape(name: str, n: Any, fed: tuple | None) -> tuple[int, ...]:
    """(C_in, *spatial) of an NIR Conv or pool node, from its fields or from what feeds it."""
    import nir

    conv = isinstance(n, (nir.Conv1d, nir.Conv2d))
    rank = (2 if isinstance(n, nir.Conv1d) else 3)
    shape = _fit(_given(n.input_type, "input"), rank) or _fit(fed, rank)
    if conv and getattr(n, "input_shape", None) is not None:
        spatial = tuple(int(s) for s in np.asarray(n.input_shape).reshape(-1))
        shape = (int(np.shape(n.weight)[1]) * int(n.groups), *spatial)
    if shape is None or len(shape) != rank:
        raise SnncError(f"NIR node '{name}' ({type(n).__name__}): input shape {shape or 'unknown'} is not "
                        f"{rank}-D (C, {'N' if rank == 2 else 'H, W'}); give the node's input_type")
    return shape


def convert_conv(name: str, n: Any, fed: tuple | None) -> Primitive:
    """snnc's Conv1d/Conv2d/SumPool2d/AvgPool2d for an NIR conv or pool node fed a value of shape `fed`."""
    import nir

    from snnc.compiler.primitives.conv import AvgPool2d, Conv1d, Conv2d, SumPool2d

    shape = conv_in_shape(name, n, fed)
    if isinstance(n, (nir.SumPool2d, nir.AvgPool2d)):
        cls = SumPool2d if isinstance(n, nir.SumPool2d) else AvgPool2d
        return cls(np.array(shape), _ints(name, n.kernel_size, 2, "kernel_size"), _ints(name, n.stride, 2, "stride"),
                   _ints(name, n.padding, 2, "padding"))
    W = np.asarray(n.weight, dtype=np.float64)
    nd = W.ndim - 2
    groups = int(n.groups)
    if shape[0] != W.shape[1] * groups:
        raise SnncError(f"NIR node '{name}' ({type(n).__name__}): input has {shape[0]} channels, weight {W.shape} "
                        f"with groups {groups} takes {W.shape[1] * groups}")
    dilation = _ints(name, n.dilation, nd, "dilation")
    pad = n.padding
    if isinstance(pad, (str, bytes)):
        pad = pad.decode() if isinstance(pad, bytes) else pad
        span = dilation * (np.array(W.shape[2:]) - 1)
        if pad == "same" and np.any(span % 2):
            raise SnncError(f"NIR node '{name}': padding 'same' with an even kernel span is asymmetric; snnc pads evenly")
        pad = span // 2 if pad == "same" else np.zeros(nd, np.int64)
    b = np.zeros(W.shape[0]) if getattr(n, "bias", None) is None else np.asarray(n.bias, np.float64).reshape(-1)
    return (Conv1d if nd == 1 else Conv2d)(W, b, np.array(shape[1:]), _ints(name, n.stride, nd, "stride"),
                                           _ints(name, pad, nd, "padding"), dilation, groups)


def shapes(nodes: dict, edges: list) -> dict[str, tuple[int, ...]]:
    """The output shape of every node that has one, by name (fixpoint over the edges)."""
    import nir

    preds: dict[str, list[str]] = {}
    for s, d, _ in edges:
        preds.setdefault(d, []).append(s)
    out: dict[str, tuple[int, ...]] = {}
    for _ in range(len(nodes) + 1):
        changed = False
        for k, n in nodes.items():
            if k in out or isinstance(n, tuple):
                continue
            fed = next((out[p] for p in preds.get(k, []) if p in out), None)
            got = _shape_of(k, n, fed, nir)
            if got is not None:
                out[k], changed = got, True
        if not changed:
            break
    return out


def _shape_of(k: str, n: Any, fed: tuple | None, nir: Any) -> tuple | None:
    if isinstance(n, Primitive):
        return (n.size,)
    if isinstance(n, nir.Input):
        return _given(n.input_type, "input")
    if isinstance(n, (nir.Affine, nir.Linear)):
        return (int(np.shape(n.weight)[0]),) if np.ndim(n.weight) == 2 else None
    if isinstance(n, nir.Scale):
        return (int(np.size(n.scale)),)
    if isinstance(n, (nir.Conv1d, nir.Conv2d, nir.SumPool2d, nir.AvgPool2d)):
        try:
            p = convert_conv(k, n, fed)
        except SnncError:
            return None
        c = p.W.shape[0] if hasattr(p, "W") else int(p.in_shape[0])
        return (int(c), *p.out_spatial)
    if isinstance(n, nir.Output):
        return None
    own = [a.shape for a in neuron_fields(n).values() if a.size > 1]
    return own[0] if own else fed


def size_neurons(nodes: dict, kinds: tuple, shp: dict) -> None:
    """Neurons of `kinds` get flat per-neuron parameters: scalars (Norse) broadcast to their input, (C, H, W) raveled."""
    for k, n in list(nodes.items()):
        if type(n) not in kinds:
            continue
        fields = neuron_fields(n)
        size = max((a.size for a in fields.values()), default=1)
        if size == 1:
            if k not in shp:
                raise SnncError(f"NIR node '{k}' ({type(n).__name__}): scalar parameters and no input of known size "
                                "to take its population size from")
            size = int(np.prod(shp[k]))
        elif any(a.size not in (1, size) for a in fields.values()):
            f = next(f for f, a in fields.items() if a.size not in (1, size))
            raise SnncError(f"NIR node '{k}' ({type(n).__name__}): '{f}' has {fields[f].size} values, the others {size}")
        if all(a.shape == (size,) for a in fields.values()):
            continue
        kw = {f.name: getattr(n, f.name) for f in dataclasses.fields(n) if f.init and f.name not in ("input_type", "output_type")}
        kw.update({f: np.broadcast_to(a.reshape(-1), (size,)).copy() for f, a in fields.items()})
        nodes[k] = type(n)(**kw)
