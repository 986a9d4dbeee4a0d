"""The step contract and its array-op vocabulary; `NumpyOps` is the vocabulary's NumPy meaning.

Every primitive defines its step once, beside its dataclass:

    def step(self, ops, p, s, x) -> tuple[V, dict[str, V]]

- `p`: the node's prepared parameters by attribute (its fields plus what `prepare()` returns).
  On NumPy (and Lava) float arrays are cast to the program dtype; on ONNX they are the same
  arrays, turned into initializers where a symbolic value meets them.
- `s`: state values at t−1 by state name (`Primitive.states`), [B, n].
- `x`: the summed input per port, [B, in] (an Input node gets its data as x["x"]).
- returns (output [B, n], new value of every state by name).

`step` must build its values only through `ops` (never `+` or `np.` on values), so the same
function runs on NumPy arrays and emits ONNX nodes; Python control flow may depend on the node's
own fields (`self.reset`, `self.stochastic`), never on values. Parameters derived once (a product
computed in float64 before the cast, as PyTorch does) come from `prepare(self) -> dict`.
Executors keep the floating-point operation order written in `step`, which is the order of the
PyTorch layers, so float64 runs agree with PyTorch to the last bit.

Vocabulary (V: an array [B, n], a parameter [n] or a Python scalar; NumPy broadcasting):

    add(a, b)  sub(a, b)  mul(a, b)  div(a, b)  neg(a)     elementwise arithmetic
    exp(a)  sigmoid(a)  tanh(a)                             σ(a) = 1 / (1 + exp(−a))
    maximum(a, b)  minimum(a, b)  clip(a, lo, hi)  round(a) round: half to even
    matmul(x, W)          x [B, in] · Wᵀ with W [out, in] -> [B, out]
    int_matmul(q, W)      integer-valued q [B, in] times int8 W [out, in], exact int32 sums, as a float
    concat(a, b, ...)     along features;  slice(a, start, stop): features start:stop
    softmax(a)            over features (max-shifted)
    conv(x, W, b, in_shape, stride, padding, dilation, groups)   PyTorch's Conv1d/Conv2d on flat features
    pool(x, mode, in_shape, kernel, stride, padding)              "sum" or "avg" 2-D pooling (zeros counted)
    greater(a, b)  less(a, b) -> mask;  where(mask, a, b)
    heaviside(a, b)       H(a − b) = 1 where a > b else 0, in the program dtype (a spike)
    cast(mask)            a mask as 0/1 in the program dtype
    dtype                 the program's float dtype; `fx`: the fixed-point helpers (compiler/fixedpoint.py)
                          that integer (Loihi) primitives' steps use on int64 arrays
"""
from __future__ import annotations

import numpy as np


SPARSE_ROWS = 1024  # from this many rows x is a whole sequence [T·B, in]: its row counts are kept
SPARSE_WORK = 2 ** 19  # multiply-adds below which a dense product (under ~10 µs) cannot repay the index building


class NumpyOps:
    """The vocabulary on NumPy arrays in one float dtype: the reference meaning of every step.

    With `sparse=True` (the float32 whole-sequence loop) a large matmul whose x is mostly zeros runs
    event-driven, SciPy's CSR kernel adding the weight rows of the nonzero entries only: the same sums
    of the nonzero terms in another order. `sparse_calls` counts those products, `row_counts` keeps the
    nonzeros per row of every whole sequence [T·B, in] it indexed (that sequence's activity), and
    `binary` holds the keys (row_key) of sequences known to be 0/1.
    """

    def __init__(self, dtype: str | np.dtype = "float64", sparse: bool = False):
        self.dtype = np.dtype(dtype)
        self._t: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id(W) -> (W, contiguous Wᵀ)
        self.sparse = sparse
        self.sparse_calls = 0
        self.row_counts: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # row_key(x) -> (x, counts [rows])
        self.binary: set[tuple] = set()
        self.listings: dict[tuple, tuple[np.ndarray, list]] = {}  # row_key(x) -> (x, listing(x)'s blocks)
        self._rows: dict[tuple[int, int], np.ndarray] = {}
        self._one = np.ones(0, self.dtype)

    @property
    def fx(self):
        from snnc.compiler import fixedpoint
        return fixedpoint

    add, sub, mul, div, neg = staticmethod(np.add), staticmethod(np.subtract), staticmethod(np.multiply), \
        staticmethod(np.true_divide), staticmethod(np.negative)
    exp, tanh, maximum, minimum = staticmethod(np.exp), staticmethod(np.tanh), staticmethod(np.maximum), \
        staticmethod(np.minimum)
    greater, less, where, round = staticmethod(np.greater), staticmethod(np.less), staticmethod(np.where), \
        staticmethod(np.rint)

    @staticmethod
    def sigmoid(a):
        # torch's formula, so Bernoulli draws u < σ(v) agree bit for bit; exp overflow gives the right limit 0
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-a))

    @staticmethod
    def clip(a, lo, hi):
        return np.clip(a, lo, hi)

    def _transposed(self, W: np.ndarray, dtype=None) -> np.ndarray:
        # x @ Wᵀ with a contiguous Wᵀ made once per weight matrix (the program keeps W alive)
        hit = self._t.get(id(W))
        if hit is None or hit[0] is not W:
            hit = self._t[id(W)] = (W, np.ascontiguousarray(W.T if dtype is None else W.T.astype(dtype)))
        return hit[1]

    def matmul(self, x, W, out=None):
        """x·Wᵀ, written into `out` [rows, out] when given (the NumPy runtime's reused buffers)."""
        WT = self._transposed(W)
        if self.sparse and getattr(x, "ndim", 0) == 2 and x.shape[0] * x.shape[1] * WT.shape[1] >= SPARSE_WORK:
            y = self._sparse_matmul(x, WT, out)
            if y is not None:
                return y
        return x @ WT if out is None else np.matmul(x, WT, out=out)

    def _bounds(self, R: int, F: int) -> np.ndarray:
        # where each row of a flat [R, F] index starts: searchsorted turns the nonzeros' positions into indptr
        b = self._rows.get((R, F))
        if b is None:
            b = self._rows[R, F] = np.arange(0, (R + 1) * F, F)
        return b

    def _sparse_matmul(self, x, WT, out=None):
        """x·WT by SciPy's CSR kernel when x is sparse enough to pay (else None), into `out` when given."""
        kernel = _csr_matvecs()
        if kernel is None or x.dtype != WT.dtype or not x.flags.c_contiguous:
            return None
        (R, F), N = x.shape, WT.shape[1]
        if R < SPARSE_ROWS:  # one step's batch: the whole x at once
            flat = (x != 0).ravel().nonzero()[0]  # a bool mask's nonzero is several times faster than the floats'
            if not _sparse_pays(flat.size / x.size, N):
                return None  # (listing one step's nonzeros costs about a fifth of its dense product)
            y = _zeroed(out, R, N, x.dtype)
            kernel(R, F, N, flat.searchsorted(self._bounds(R, F)), flat % F, x.ravel()[flat], WT.ravel(), y.ravel())
            self.sparse_calls += 1
            return y
        chunks = self.listing(x, N)
        if chunks is None:
            return None
        y = _zeroed(out, R, N, x.dtype)
        for r, n, indptr, cols, data in chunks:
            data = self._ones(cols.size, x.dtype) if data is None else data
            kernel(n, F, N, indptr, cols, data, WT.ravel(), y[r:r + n].ravel())  # y[rows] += A·WT (a view)
        self.sparse_calls += 1
        return y

    def listing(self, x, n_out: int, check: str | None = None):
        """A whole sequence x [R, F]'s nonzeros as CSR blocks of rows [(first row, rows, indptr, columns,
        values or None: all 1)], or None when a sample of its rows says a product into n_out columns would
        not pay; kept for this run (`listings`) with its row counts.

        `check` tests an input's values in the same pass (NaN and inf are nonzeros, so they are listed):
        "spike", False unless every nonzero is exactly 1; "graded", False unless every one is finite.
        """
        key = row_key(x)
        hit = self.listings.get(key)
        if hit is not None:
            return hit[1]
        R, F = x.shape
        if not _sparse_pays(np.count_nonzero(x[::R // 256]) / (F * len(range(0, R, R // 256))), n_out):
            return None  # (a sample of a whole sequence's rows)
        counts = np.empty(R, np.int64)
        binary = check == "spike" or key in self.binary
        rows = max(32, 2 ** 17 // F) & -8  # ~512 KB of x at a time: it stays in cache through its passes
        chunks = []
        for r in range(0, R, rows):
            xc = x[r:r + rows]
            n = xc.shape[0]
            flat = nonzero_flat(xc != 0)
            data = xc.ravel()[flat]
            if check is not None and not (data == 1 if check == "spike" else np.isfinite(data)).all():
                return False
            starts = self._bounds(n, F)
            indptr = flat.searchsorted(starts)
            counts[r:r + n] = nnz = np.diff(indptr)
            cols = flat - starts[:-1].repeat(nnz)  # (flat % F, about 4x cheaper than the integer division)
            chunks.append((r, n, indptr, cols, None if binary else data))
        # x is kept alive with its counts: no later array can take its address in this run
        self.listings[key] = (x, chunks)
        self.row_counts[key] = (x, counts)
        return chunks

    def _ones(self, n: int, dtype) -> np.ndarray:
        if self._one.size < n or self._one.dtype != dtype:
            self._one = np.ones(max(n, 2 * self._one.size), dtype)
        return self._one[:n]

    def int_matmul(self, q, W):
        acc = q.astype(np.int32) @ self._transposed(W, np.int32)  # int32 accumulation
        return acc.astype(self.dtype)

    @staticmethod
    def concat(*xs):
        return np.concatenate(xs, axis=1)

    @staticmethod
    def slice(a, start: int, stop: int):
        return a[:, start:stop]

    @staticmethod
    def conv(x, W, b, in_shape, stride, padding, dilation, groups):
        from snnc.compiler.primitives.conv_math import conv
        return conv(x, W, b, in_shape, stride, padding, dilation, groups)

    @staticmethod
    def pool(x, mode, in_shape, kernel, stride, padding):
        from snnc.compiler.primitives.conv_math import pool
        return pool(x, mode, in_shape, kernel, stride, padding)

    @staticmethod
    def softmax(a):
        e = np.exp(a - a.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def heaviside(self, a, b):
        return (a > b).astype(self.dtype)

    def cast(self, mask):
        return np.asarray(mask).astype(self.dtype)


def _zeroed(out, R: int, N: int, dtype) -> np.ndarray:
    """`out` set to zeros when it is a C-contiguous [R, N] array of `dtype` (the kernel writes through ravel()), else new zeros."""
    if out is None or out.shape != (R, N) or out.dtype != dtype or not out.flags.c_contiguous:
        return np.zeros((R, N), dtype)
    out[...] = 0
    return out


def nonzero_flat(mask: np.ndarray) -> np.ndarray:
    """The flat positions of a C-contiguous bool mask's True entries, ascending: np.flatnonzero(mask).

    Eight mask bytes read as one uint64 word: the words holding any True are listed first, then only their
    bytes (at 5 % density about a third of the words), about 2x faster than nonzero over every byte.
    """
    m = mask.reshape(-1)
    if m.size % 8 or m.size < 2 ** 14:  # (a small mask: the two passes cost more calls than they save)
        return m.nonzero()[0]
    words = m.view(np.uint64)
    hit = (words != 0).nonzero()[0]
    j = words[hit].view(np.bool_).nonzero()[0]  # (the words' bytes are 0/1: a bool view reads them as they are)
    return (hit[j >> 3] << 3) | (j & 7)


def row_key(x: np.ndarray) -> tuple:
    """What identifies x's memory and layout (while x is alive)."""
    return x.__array_interface__["data"][0], x.shape, x.strides, x.dtype.str


_KERNEL: list = []


def _csr_matvecs():
    """SciPy's C++ kernel Y += A·X for a CSR matrix A (its public csr_matrix costs ~20 µs a call), or None.

    It is a private SciPy function: it is used only if it exists and computes a known product correctly
    with the argument order used here, so a SciPy that changed it makes the products dense, not wrong.
    """
    if not _KERNEL:
        try:
            from scipy.sparse._sparsetools import csr_matvecs
            # A = [[0, 2], [3, 0]] (CSR), X = [[1, 10], [100, 1000]]: A·X = [[200, 2000], [3, 30]]
            y = np.zeros(4, np.float32)
            csr_matvecs(2, 2, 2, np.array([0, 1, 2]), np.array([1, 0]), np.array([2, 3], np.float32),
                        np.array([1, 10, 100, 1000], np.float32), y)
            if not np.array_equal(y, [200, 2000, 3, 30]):
                csr_matvecs = None
        except Exception:  # noqa: BLE001  (missing or changed: dense products)
            csr_matvecs = None
        _KERNEL.append(csr_matvecs)
    return _KERNEL[0]


def _sparse_pays(density: float, n_out: int) -> bool:
    """Whether the CSR product beats dense BLAS for an x with this fraction of nonzeros."""
    # measured per entry of x in ns (OpenBLAS float32, 1 thread, [16000, 700] x [700, 128] and [64, 128] x
    # [128, 128]): dense 0.023·n_out; CSR 0.3 for the mask and index, 20 per nonzero to list it, 0.11·n_out
    # per nonzero for the sums
    return 0.3 + density * (20 + 0.11 * n_out) < 0.8 * 0.023 * n_out


def prepared(node, dtype: np.dtype, cast=None) -> "Params":
    """The step's `p` for `node`: its fields and `prepare()`'s values, float arrays cast to `dtype`."""
    dtype = np.dtype(dtype)
    vals = {**node.params(), **node.prepare()}
    if cast is None:
        cast = lambda a: a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a  # noqa: E731
    return Params({k: cast(v) for k, v in vals.items()})


class Params:
    """Attribute access to a node's prepared parameters (what `step` receives as `p`)."""

    def __init__(self, values: dict):
        self.__dict__.update(values)

    def items(self):
        return self.__dict__.items()
