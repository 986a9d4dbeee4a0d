"""Validation of the arrays users feed to a runtime: one clear error naming what is wrong."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from snnc.compiler.errors import InputError


def check_inputs(sizes: Mapping[str, int], x, dtype: np.dtype, where: str = "input") -> dict[str, np.ndarray]:
    """Return {input name: array [T, B, F] in `dtype`} or raise InputError.

    `x` is one array when the graph has one input, else a dict by input name.
    """
    names = list(sizes)
    if not isinstance(x, Mapping):
        if len(names) != 1:
            raise InputError(f"{where}: the graph has {len(names)} inputs ({', '.join(names)}); pass a dict by name")
        x = {names[0]: x}
    missing = [n for n in names if n not in x]
    if missing:
        raise InputError(f"{where}: missing input(s) {', '.join(missing)}")
    extra = [n for n in x if n not in sizes]
    if extra:
        raise InputError(f"{where}: unknown input(s) {', '.join(map(str, extra))}; the graph's inputs are {', '.join(names)}")
    out, T, B = {}, None, None
    for n in names:
        a = x[n]
        if not isinstance(a, np.ndarray):
            try:
                a = np.asarray(a)
            except Exception as e:  # ragged lists and such
                raise InputError(f"{where} '{n}': not an array ({e})") from None
        if a.dtype.kind not in "biuf":
            raise InputError(f"{where} '{n}': dtype {a.dtype} is not numeric (expected float32/float64, int or bool)")
        if a.ndim != 3:
            hint = "; add a batch axis with x[:, None, :]" if a.ndim == 2 else ""
            raise InputError(f"{where} '{n}': expected rank 3 [T, B, {sizes[n]}], got shape {a.shape}{hint}")
        if a.shape[2] != sizes[n]:
            raise InputError(f"{where} '{n}': expected [T, B, {sizes[n]}] features, got shape {a.shape}")
        if a.shape[0] == 0 or a.shape[1] == 0:
            raise InputError(f"{where} '{n}': empty sequence or batch, shape {a.shape}")
        if T is None:
            T, B = a.shape[:2]
        elif a.shape[:2] != (T, B):
            raise InputError(f"{where} '{n}': [T, B] = {a.shape[:2]} differs from the other inputs' {(T, B)}")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise InputError(f"{where} '{n}': contains NaN or inf")
        out[n] = np.ascontiguousarray(a, dtype=dtype)
    return out
