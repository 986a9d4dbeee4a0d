"""NIR shapes: every node's output shape, and neurons sized by what feeds them.

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
