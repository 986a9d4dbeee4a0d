"""Validation of the arrays users feed to a runtime: one clear error naming what is wrong."""
from __future__ import annotations

from typing import Collection, Mapping

import numpy as np

from snnc.compiler.errors import FileFormatError, InputError


def load_input(path: str | None, what: str = "--input") -> np.ndarray | dict[str, np.ndarray] | None:
    """A .npy array, or an .npz of arrays by name (one array: returned alone); no pickles, sizes within limits."""
    from pathlib import Path

    from snnc.compiler import limits

    if path is None:
        return None
    p = Path(path)
    where = f"{what} {p}"
    data = limits.read_bytes(p, where, "a .npy/.npz file", InputError)
    try:
        if data[:4] != b"PK\x03\x04" and data[:4] != b"PK\x05\x06":
            return limits.parse_npy(data, where)
        with limits.open_zip(data, where, ".npz archive") as z:
            names = z.namelist()
            if not names or not all(m.endswith(".npy") for m in names):
                raise InputError(f"{where}: a zip archive but not an .npz of arrays "
                                 f"(members like {names[0][:80] if names else 'none'}); give a .npy array")
            if len(set(names)) != len(names):
                raise InputError(f"{where}: .npz lists an array twice")
            arrays = {m[:-4]: limits.parse_npy(limits.read_member(z, m, where), f"{where} array '{m[:-4]}'")
                      for m in names}
    except FileFormatError as e:
        raise InputError(str(e)) from None
    return next(iter(arrays.values())) if len(arrays) == 1 else arrays


def check_inputs(sizes: Mapping[str, int], x, dtype: np.dtype, where: str = "input",
                 kinds: Mapping[str, str] | None = None, integer: bool | set = False,
                 unchecked: Collection[str] = (), listed: Collection[str] = ()) -> dict[str, np.ndarray]:
    """Return {input name: array [T, B, F] in `dtype`} or raise InputError.

    `x` is one array when the graph has one input, else a dict by input name. With `kinds`
    ({input: spike|graded}) a spike input must hold 0/1 only, and with `integer` (a Loihi
    fixed-point graph) a graded input must hold integers: no value is changed silently.
    The inputs in `unchecked` are not tested for NaN and inf here: the caller's kernel tests them
    in its own pass over the values and raises the same error. The inputs in `listed` given in `dtype`
    are not tested at all here (0/1 for spikes, NaN and inf): the caller tests them in its own pass (the
    NumPy runtime's listing of their nonzeros) and calls check_inputs again without `listed` when that fails.
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
        # a spike input holding only 0/1 is finite too: one pass instead of two (a failure names its cause below)
        if n in listed and a.dtype == dtype:
            pass
        elif kinds is not None and kinds.get(n) == "spike" and not ((a != 0) & (a != 1)).any():
            pass
        elif a.dtype.kind == "f" and n not in unchecked and not np.all(np.isfinite(a)):
            raise InputError(f"{where} '{n}': contains NaN or inf")
        elif kinds is not None and n in kinds:
            from snnc.compiler.inputkinds import check_values
            check_values(n, kinds[n], a, integer if isinstance(integer, bool) else n in integer, where)
        out[n] = np.ascontiguousarray(a, dtype=dtype)
    return out


# -- uniform noise of stochastic neurons (SPSN) ------------------------------------

class NoiseWarning(UserWarning):
    """A stochastic model ran without its noise input: snnc drew it from a seeded generator."""


def noise_inputs(graph) -> list[str]:
    """Graph inputs that feed only `noise` ports (the uniform noise of stochastic neurons)."""
    out = []
    for n in graph.inputs:
        edges = graph.out_edges(n)
        if edges and all(e.port == "noise" for e in edges):
            out.append(n)
    return out


def fill_noise(graph, x, seed: int = 0, where: str = "input") -> dict[str, np.ndarray]:
    """Inputs by name with every missing noise input drawn as U(0, 1) from numpy default_rng(seed).

    Given noise must be [T, B, n] like the data and lie in [0, 1); drawing missing
    noise warns (NoiseWarning) and names the seed, so the run can be repeated.
    """
    noise = noise_inputs(graph)
    data = [n for n in graph.inputs if n not in noise]
    if not isinstance(x, Mapping):
        if len(data) != 1:
            raise InputError(f"{where}: the graph has {len(data)} data inputs ({', '.join(data)}); pass a dict by name")
        x = {data[0]: x}
    x = dict(x)
    given = [np.shape(x[n]) for n in data if n in x]
    if not given or len(given[0]) != 3:
        return x  # check_inputs names the problem
    T, B = given[0][:2]
    missing = [n for n in noise if n not in x]
    if missing:
        rng = np.random.default_rng(seed)  # one generator, drawn in graph-input order
        for n in missing:
            x[n] = rng.random((T, B, graph.nodes[n].size))
        import warnings
        warnings.warn(f"{where}: noise input(s) {', '.join(missing)} not given; drew uniform noise "
                      f"from numpy.random.default_rng(seed={seed})", NoiseWarning, stacklevel=3)
    for n in noise:
        if n in missing:
            continue
        size = graph.nodes[n].size
        a = np.asarray(x[n])
        if a.shape != (T, B, size):
            raise InputError(f"{where}: noise input '{n}' must have shape [T, B, {size}] = {(T, B, size)}, got {a.shape}")
        if a.dtype.kind not in "fiub":
            raise InputError(f"{where}: noise input '{n}' has non-numeric dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= 1):
            raise InputError(f"{where}: noise input '{n}' must hold uniform samples in [0, 1), got values in [{a.min()}, {a.max()}]")
        x[n] = a
    return x
