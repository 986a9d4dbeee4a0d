"""The fixed-point helpers (`snnc.compiler.fixedpoint`, plain NumPy on int64) traced onto Syms, unchanged.

Each helper function is rebuilt over globals where `np` is a thin proxy: calls
that meet a Sym go to the tracer (`np.asarray(x, np.int64)` becomes a cast,
`np.where` a select), everything else is NumPy itself; the module's lookup
tables become integer parameters read by index. So the integer `step` of a
Loihi primitive compiles from the same source the NumPy runtime executes.
"""
from __future__ import annotations

import types
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from snnc.backends.cpu.symbolic import ARRAY_FUNCTIONS, UFUNCS, Sym, Tracer, Unsupported


def _has_sym(args, kwargs) -> bool:
    return any(isinstance(a, Sym) for a in (*args, *kwargs.values())) or any(
        isinstance(a, (list, tuple)) and any(isinstance(b, Sym) for b in a) for a in args)


class _NumpyProxy:
    """`np` inside the traced helpers: Sym arguments are traced, anything else is NumPy's."""

    def __init__(self, tr: Tracer):
        self._tr = tr

    def asarray(self, x, dtype=None, **kw):
        if isinstance(x, Sym):
            return x if dtype is None else self._tr.cast(x, dtype)
        return np.asarray(x, dtype, **kw)

    array = asarray

    def __getattr__(self, name: str) -> Any:
        real = getattr(np, name)
        if not callable(real) or isinstance(real, type):
            return real  # constants and dtypes
        tr = self._tr

        def call(*args, **kwargs):
            if not _has_sym(args, kwargs):
                return real(*args, **kwargs)
            if name in ARRAY_FUNCTIONS:
                return ARRAY_FUNCTIONS[name](tr, *args, **kwargs)
            uf = real.__name__ if isinstance(real, np.ufunc) else name  # np.abs is the ufunc 'absolute'
            if uf in UFUNCS and not kwargs:
                return tr.ew(UFUNCS[uf], *args)
            raise Unsupported(f"numpy.{name} in a fixed-point helper")
        return call


class _Table:
    """A constant 1-D lookup table of the helpers, read with traced integer indices."""

    def __init__(self, tr: Tracer, data: np.ndarray, store: Callable[[np.ndarray], tuple[str, int]]):
        self._tr, self._data, self._store, self._at = tr, data, store, None

    def __getitem__(self, idx):
        if not isinstance(idx, Sym):
            return self._data[idx]
        if self._at is None:
            self._at = self._store(self._data.astype(np.int64))
        buf, off = self._at
        return Sym(self._tr, "ew", (self._tr.cast(idx, "i"),), n=idx.n, kind="i", code=f"{buf}[{off} + {{0}}]")

    def __len__(self) -> int:
        return len(self._data)


def traced(fx: types.ModuleType, tr: Tracer, store: Callable[[np.ndarray], tuple[str, int]]) -> SimpleNamespace:
    """`ops.fx` for the compiled backend: fx's functions over the proxy `np`, its integer tables as parameters."""
    g = dict(vars(fx))
    g["np"] = _NumpyProxy(tr)
    for k, v in vars(fx).items():
        if isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "iu":
            g[k] = _Table(tr, v, store)
    for k, v in vars(fx).items():
        if isinstance(v, types.FunctionType) and v.__module__ == fx.__name__:
            g[k] = types.FunctionType(v.__code__, g, v.__name__, v.__defaults__, v.__closure__)
    return SimpleNamespace(**{k: g[k] for k in vars(fx) if not k.startswith("__")})
