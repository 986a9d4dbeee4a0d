"""The large arrays run() keeps from one run to the next, so a run of the same shapes reuses their memory.

A fresh array of tens of MB is new pages: the kernel faults and zeroes them (and, with transparent huge
pages, may compact memory first) in system time on every run, ~10 % of a run at batch 64 and T=1000.
Each array belongs to one (node, role) key; a run asking for the same shape and dtype gets the same array.
Only memory nothing outside the runtime can still see is reused: run() returns copies of pooled outputs,
and counts the previous run's activity, if still pending, before a new run overwrites it (fastloop).
"""
from __future__ import annotations

import numpy as np

MIN_BYTES = 1 << 20  # smaller arrays come from malloc's own free lists: a pool would only add a lookup


class Pool:
    """{key: array} reused by shape and dtype; `reused` counts the arrays a run took from an earlier run."""

    def __init__(self):
        self._arrays: dict = {}
        self.reused = 0

    def empty(self, key, shape, dtype) -> np.ndarray:
        """An uninitialised array for `key`: the one the last run used when its shape and dtype match."""
        shape, dtype = tuple(int(s) for s in shape), np.dtype(dtype)
        if int(np.prod(shape)) * dtype.itemsize < MIN_BYTES:
            return np.empty(shape, dtype)
        a = self._arrays.get(key)
        if a is not None and a.shape == shape and a.dtype == dtype:
            self.reused += 1
            return a
        a = self._arrays[key] = np.empty(shape, dtype)
        return a

    def holds(self, a: np.ndarray) -> bool:
        """Whether `a` shares memory with an array of the pool."""
        return any(np.may_share_memory(a, b) for b in self._arrays.values())


class SeqOps:
    """The op vocabulary for one whole-sequence step call of `node`: the large results of its products and
    float arithmetic written into the pool's arrays (node, 1), (node, 2), ... in the order the step makes
    them. The same ufuncs with out=: every value as the plain ops compute it."""

    _UFUNCS = ("add", "sub", "mul", "div", "neg", "maximum", "minimum", "exp", "tanh")

    def __init__(self, ops, pool: Pool, node: str):
        self._ops, self._pool, self._node, self._k = ops, pool, node, 0

    def _out(self, shape, dtype) -> np.ndarray:
        self._k += 1
        return self._pool.empty((self._node, self._k), shape, dtype)

    def matmul(self, x, W):
        if getattr(x, "ndim", 0) != 2:
            return self._ops.matmul(x, W)
        return self._ops.matmul(x, W, out=self._out((x.shape[0], W.shape[0]), np.result_type(x, W)))

    def __getattr__(self, name):
        real = getattr(self._ops, name)
        if name not in self._UFUNCS:
            return real

        def into(*args):
            if not all(isinstance(a, (np.ndarray, float, int)) for a in args):
                return real(*args)
            dtype = np.result_type(*args)
            if dtype != self._ops.dtype:  # (a result another dtype: computed as it is)
                return real(*args)
            return real(*args, out=self._out(np.broadcast_shapes(*(np.shape(a) for a in args)), dtype))
        return into
