"""Symbolic array ops for the compiled backend: a primitive's `step` run on `Sym` values records a per-step DAG.

Every value is a vector over the neurons of one population (or a scalar that
broadcasts). Elementwise ops become one scalar expression per neuron; `matmul`,
`concat` and reductions are barriers that need their operands stored in arrays.
The emitter (`emit.py`) turns the DAG into loops, fusing consecutive elementwise
ops of the same length into one loop, so a Dense's bias and its destination's
neuron update run in the same pass over the neurons.

`Sym` also speaks NumPy's dispatch protocols (`__array_ufunc__`,
`__array_function__`), so the plain-NumPy fixed-point helpers of
`snnc.compiler.fixedpoint` trace into the same DAG unchanged.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError


class Unsupported(SnncError):
    """An op the compiled backend cannot emit (the lowering names the node)."""


def _kind(dt: Any) -> str:
    """'f' float, 'i' integer, 'b' bool for a numpy dtype or a python scalar."""
    if isinstance(dt, (bool, np.bool_)):
        return "b"
    if isinstance(dt, (int, np.integer)):
        return "i"
    if isinstance(dt, (float, np.floating)):
        return "f"
    return np.dtype(dt).kind.replace("u", "i")


def _join(*kinds: str) -> str:
    """Result kind of arithmetic: float wins, then integer; bools count as integers."""
    return "f" if "f" in kinds else "i"


class Sym:
    """One value of the per-step DAG: a leaf (code template over index {j}) or an op over other Syms."""

    __array_priority__ = 1000

    def __init__(self, tr: "Tracer", op: str, args: tuple = (), n: int = 0, kind: str = "f", code: str = "",
                 **meta: Any):
        self.tr, self.op, self.args, self.n, self.kind, self.code, self.meta = tr, op, args, n, kind, code, meta
        self.id = len(tr.values)
        self.owner = tr.owner  # the node whose step created this value
        tr.values.append(self)

    def __repr__(self) -> str:
        return f"Sym#{self.id}({self.op}, n={self.n}, {self.kind})"

    @property
    def shape(self) -> tuple:
        return (self.tr.batch_axis, self.n) if self.n else ()

    @property
    def ndim(self) -> int:
        return 2 if self.n else 0

    @property
    def dtype(self) -> np.dtype:
        return {"f": self.tr.dtype, "i": np.dtype(np.int64), "b": np.dtype(bool)}[self.kind]

    def __bool__(self) -> bool:
        raise Unsupported("a step branches in Python on a traced value (use ops.where)")

    # -- Python operators: the same ops a step may write with operators ----------
    def __add__(self, o): return self.tr.ew("+", self, o)
    def __radd__(self, o): return self.tr.ew("+", o, self)
    def __sub__(self, o): return self.tr.ew("-", self, o)
    def __rsub__(self, o): return self.tr.ew("-", o, self)
    def __mul__(self, o): return self.tr.ew("*", self, o)
    def __rmul__(self, o): return self.tr.ew("*", o, self)
    def __truediv__(self, o): return self.tr.ew("/", self, o)
    def __rtruediv__(self, o): return self.tr.ew("/", o, self)
    def __floordiv__(self, o): return self.tr.ew("//", self, o)
    def __mod__(self, o): return self.tr.ew("%", self, o)
    def __lshift__(self, o): return self.tr.ew("<<", self, o)
    def __rlshift__(self, o): return self.tr.ew("<<", o, self)
    def __rshift__(self, o): return self.tr.ew(">>", self, o)
    def __rrshift__(self, o): return self.tr.ew(">>", o, self)
    def __and__(self, o): return self.tr.ew("&", self, o)
    def __rand__(self, o): return self.tr.ew("&", o, self)
    def __or__(self, o): return self.tr.ew("|", self, o)
    def __ror__(self, o): return self.tr.ew("|", o, self)
    def __xor__(self, o): return self.tr.ew("^", self, o)
    def __neg__(self): return self.tr.ew("neg", self)
    def __abs__(self): return self.tr.ew("abs", self)
    def __gt__(self, o): return self.tr.ew(">", self, o)
    def __ge__(self, o): return self.tr.ew(">=", self, o)
    def __lt__(self, o): return self.tr.ew("<", self, o)
    def __le__(self, o): return self.tr.ew("<=", self, o)
    def __eq__(self, o): return self.tr.ew("==", self, o)  # type: ignore[override]
    def __ne__(self, o): return self.tr.ew("!=", self, o)  # type: ignore[override]
    __hash__ = object.__hash__

    def astype(self, dt, copy: bool = True):
        return self.tr.cast(self, dt)

    def __matmul__(self, W):
        return self.tr.matmul(self, W, transposed=False)

    def __getitem__(self, key):
        # x[None, :] and x[:, lo:hi] as NumPy code writes them
        if key is None or (isinstance(key, tuple) and all(k is None or k == slice(None) for k in key)):
            return self
        if isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None) and isinstance(key[1], slice):
            lo, hi, st = key[1].indices(self.n)
            if st == 1:
                return self.tr.slice(self, lo, hi)
        raise Unsupported(f"indexing a traced value with {key!r}")

    # -- NumPy dispatch: fixed-point helpers written in plain NumPy trace through here
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs.get("out") is not None:
            return NotImplemented
        name = UFUNCS.get(ufunc.__name__)
        if name is None:
            raise Unsupported(f"numpy ufunc '{ufunc.__name__}'")
        return self.tr.ew(name, *inputs)

    def __array_function__(self, func, types, args, kwargs):
        fn = ARRAY_FUNCTIONS.get(func.__name__)
        if fn is None:
            raise Unsupported(f"numpy function '{func.__name__}'")
        return fn(self.tr, *args, **kwargs)


UFUNCS = {"add": "+", "subtract": "-", "multiply": "*", "true_divide": "/", "divide": "/", "floor_divide": "//",
          "remainder": "%", "left_shift": "<<", "right_shift": ">>", "bitwise_and": "&", "bitwise_or": "|",
          "bitwise_xor": "^", "negative": "neg", "absolute": "abs", "sign": "sign", "exp": "exp", "tanh": "tanh",
          "log": "log", "sqrt": "sqrt", "greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<=",
          "equal": "==", "not_equal": "!=", "maximum": "max", "minimum": "min", "logical_and": "and",
          "logical_or": "or", "logical_not": "not", "rint": "rint", "floor": "floor", "invert": "not"}

ARRAY_FUNCTIONS = {
    "where": lambda tr, c, a, b: tr.where(c, a, b),
    "clip": lambda tr, x, lo=None, hi=None, **k: tr.clip(x, lo, hi),
    "concatenate": lambda tr, xs, axis=-1: tr.concat(list(xs)),
    "zeros_like": lambda tr, x, dtype=None: tr.ew("+", tr.cast(x, dtype or x.dtype), 0) * 0,
    "round": lambda tr, x, decimals=0: tr.ew("rint", x),
}

# (format, result kind or None for the join of the arguments)
EW_FORMATS = {
    "+": ("({0} + {1})", None), "-": ("({0} - {1})", None), "*": ("({0} * {1})", None), "/": ("({0} / {1})", "f"),
    "//": ("({0} // {1})", None), "%": ("({0} % {1})", None), "<<": ("({0} << {1})", "i"), ">>": ("({0} >> {1})", "i"),
    "&": ("({0} & {1})", "i"), "|": ("({0} | {1})", "i"), "^": ("({0} ^ {1})", "i"),
    "neg": ("(-{0})", None), "abs": ("abs({0})", None), "sign": ("np.sign({0})", None),
    "exp": ("np.exp({0})", "f"), "tanh": ("np.tanh({0})", "f"), "log": ("np.log({0})", "f"),
    "sqrt": ("np.sqrt({0})", "f"), "rint": ("np.rint({0})", "f"), "floor": ("np.floor({0})", "f"),
    ">": ("({0} > {1})", "b"), ">=": ("({0} >= {1})", "b"), "<": ("({0} < {1})", "b"),
    "<=": ("({0} <= {1})", "b"), "==": ("({0} == {1})", "b"), "!=": ("({0} != {1})", "b"),
    "max": ("max({0}, {1})", None), "min": ("min({0}, {1})", None),
    "and": ("({0} and {1})", "b"), "or": ("({0} or {1})", "b"), "not": ("(not {0})", "b"),
    "where": ("({1} if {0} else {2})", None),
    # torch's sigmoid formula, so u < σ(v) agrees with the NumPy runtime and the PyTorch layers
    "sigmoid": ("(DT(1) / (DT(1) + np.exp(-{0})))", "f"),
}


FOLDABLE = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "neg": np.negative}


class Tracer:
    """Records the Syms of one time step in creation order (a topological order of the DAG)."""

    def __init__(self, dtype: np.dtype):
        self.dtype = np.dtype(dtype)
        self.values: list[Sym] = []
        self.batch_axis = -1
        self.owner = ""
        # a new parameter vector from its values (lowering allocates it), or None: no constant folding
        self.constant: Any = None

    def lit(self, v: Any) -> Sym:
        """A scalar constant, typed so float32 programs stay float32."""
        v = v.item() if isinstance(v, np.ndarray) else v
        k = _kind(v)
        if k == "b":
            return Sym(self, "lit", kind="b", code="True" if v else "False")
        if k == "i":
            return Sym(self, "lit", kind="i", code=f"np.int64({int(v)})")
        if not np.isfinite(v):
            raise Unsupported(f"non-finite constant {v}")
        return Sym(self, "lit", kind="f", code=f"DT({float(v)!r})", num=float(v))

    def wrap(self, x: Any) -> Sym:
        if isinstance(x, Sym):
            return x
        if isinstance(x, np.ndarray) and x.ndim > 0:
            raise Unsupported(f"a constant array of shape {x.shape} outside the prepared parameters")
        s = self.lit(x)
        if isinstance(x, (bool, int, float)):  # a Python scalar: weakly typed
            s.meta.update(weak=True, value=x)
        return s

    def leaf(self, code: str, n: int, kind: str, **meta: Any) -> Sym:
        return Sym(self, "leaf", n=n, kind=kind, code=code, **meta)

    def ew(self, op: str, *args: Any) -> Sym:
        syms = tuple(self.wrap(a) for a in args)
        strong = {s.kind for s in syms if not s.meta.get("weak")}
        if "f" in strong and op not in ("<<", ">>", "&", "|", "^"):
            # Python scalars take the array's float type, as NumPy 2 does (NEP 50): float32 stays float32
            syms = tuple(self.lit(float(s.meta["value"])) if s.meta.get("weak") and s.kind != "f" else s for s in syms)
        lens = {s.n for s in syms if s.n}
        if len(lens) > 1:
            raise Unsupported(f"elementwise '{op}' over vectors of different lengths {sorted(lens)}")
        folded = self._fold(op, syms)
        if folded is not None:
            return folded
        fmt, kind = EW_FORMATS[op]
        if kind is None:
            kinds = [s.kind for s in (syms[1:] if op == "where" else syms)]
            kind = _join(*kinds) if op not in ("max", "min", "neg", "abs", "sign") or "f" in kinds else kinds[0]
        return Sym(self, "ew", syms, n=lens.pop() if lens else 0, kind=kind, code=fmt)

    def _fold(self, op: str, syms: tuple) -> Sym | None:
        """A float vector op over parameters and constants alone (`1 - alpha`): a new parameter holding its
        values, computed once here instead of at every step and neuron. NumPy's float32/float64 arithmetic
        rounds as the kernel's does (IEEE, no fast-math), so the values are the same bits; transcendental ops
        are left to the kernel (its libm may differ from NumPy's)."""
        fn = FOLDABLE.get(op)
        if (self.constant is None or fn is None or not any(s.n for s in syms)
                or not all(s.kind == "f" and ("const" in s.meta or "num" in s.meta) for s in syms)):
            return None
        vals = [s.meta["const"] if "const" in s.meta else self.dtype.type(s.meta["num"]) for s in syms]
        with np.errstate(all="ignore"):
            out = fn(*vals)
        if out.dtype != self.dtype:
            return None
        return self.constant(np.ascontiguousarray(out))

    def cast(self, x: Any, dt: Any) -> Sym:
        x = self.wrap(x)
        k = "f" if dt in (float, "float") else "i" if dt in (int, "int") else _kind(np.dtype(dt)) if not isinstance(
            dt, str) or dt not in ("f", "i", "b") else dt
        if k == x.kind:
            return x
        if x.kind == "b":
            fmt = {"f": "(DT(1) if {0} else DT(0))", "i": "(np.int64(1) if {0} else np.int64(0))"}[k]
        else:
            fmt = {"f": "DT({0})", "i": "np.int64({0})", "b": "({0} != 0)"}[k]
        out = Sym(self, "ew", (x,), n=x.n, kind=k, code=fmt)
        if x.meta.get("events") and k != "b":  # 0/1 spikes stay 0/1: matmuls may still read the index list
            out.meta["events"] = x.meta["events"]
        return out

    def where(self, c: Any, a: Any, b: Any) -> Sym:
        return self.ew("where", c, a, b)

    def clip(self, x: Any, lo: Any, hi: Any) -> Sym:
        if lo is not None:
            x = self.ew("max", x, lo)
        if hi is not None:
            x = self.ew("min", x, hi)
        return x

    def matmul(self, x: Any, W: "Mat", transposed: bool = True) -> Sym:
        """x·Wᵀ for W [out, in] (ops.matmul), or x @ W for W [in, out] (transposed=False)."""
        x = self.wrap(x)
        if not isinstance(W, Mat):
            raise Unsupported("matmul with a weight that is not a prepared 2-D parameter")
        buf, off, n_in, n_out = W.rows(transposed)
        if x.n != n_in:
            raise Unsupported(f"matmul of a vector of {x.n} by '{W.name}' {W.shape}")
        return Sym(self, "matmul", (x,), n=n_out, kind=_join(x.kind, W.kind), W=(buf, off, n_in, n_out))

    def concat(self, xs: list) -> Sym:
        syms = tuple(self.wrap(x) for x in xs)
        if any(not s.n for s in syms):
            raise Unsupported("concat of a scalar")
        return Sym(self, "concat", syms, n=sum(s.n for s in syms), kind=_join(*(s.kind for s in syms)))

    def slice(self, x: Any, lo: int, hi: int) -> Sym:
        return Sym(self, "slice", (self.wrap(x),), n=hi - lo, kind=x.kind, lo=lo)

    def reduce(self, op: str, x: Any) -> Sym:
        return Sym(self, "reduce", (self.wrap(x),), n=0, kind=x.kind, red=op)


class Mat:
    """A prepared weight matrix; stored as rows of sources ([in, out], contiguous) when a matmul first reads it."""

    def __init__(self, name: str, W: np.ndarray, store):
        self.name, self.W, self._store = name, W, store
        self.kind = _kind(W.dtype)
        self.shape, self.ndim, self.dtype = W.shape, W.ndim, W.dtype
        self._rows: dict[bool, tuple] = {}

    def rows(self, transposed: bool) -> tuple[str, int, int, int]:
        """(buffer, offset, n_in, n_out) of the [in, out] layout: W.T for ops.matmul's [out, in], W for x @ W."""
        if transposed not in self._rows:
            a = np.ascontiguousarray(self.W.T if transposed else self.W)
            self._rows[transposed] = (*self._store(a), a.shape[0], a.shape[1])
        return self._rows[transposed]

    def __rmatmul__(self, x):
        return x.tr.matmul(x, self, transposed=False) if isinstance(x, Sym) else NotImplemented

    def __getattr__(self, name):
        raise Unsupported(f"weight matrix '{self.name}': .{name} inside a step")


class SymOps:
    """The step contract's array-op vocabulary (compiler/primitives/ops.py) on Syms; `fx` traces the fixed-point helpers."""

    def __init__(self, tr: Tracer, fx: Any = None):
        self.tr, self.fx = tr, fx
        self.dtype = tr.dtype

    def __getattr__(self, name: str):
        raise Unsupported(f"op '{name}' is not in the compiled backend's vocabulary")

    def add(self, a, b): return self.tr.ew("+", a, b)
    def sub(self, a, b): return self.tr.ew("-", a, b)
    def mul(self, a, b): return self.tr.ew("*", a, b)
    def div(self, a, b): return self.tr.ew("/", a, b)
    def neg(self, a): return self.tr.ew("neg", a)
    def exp(self, a): return self.tr.ew("exp", a)
    def tanh(self, a): return self.tr.ew("tanh", a)
    def sigmoid(self, a): return self.tr.ew("sigmoid", a)
    def round(self, a): return self.tr.ew("rint", a)
    def greater(self, a, b): return self.tr.ew(">", a, b)
    def less(self, a, b): return self.tr.ew("<", a, b)
    def maximum(self, a, b): return self.tr.ew("max", a, b)
    def minimum(self, a, b): return self.tr.ew("min", a, b)
    def where(self, c, a, b): return self.tr.where(c, a, b)
    def clip(self, x, lo, hi): return self.tr.clip(x, lo, hi)
    def matmul(self, x, W): return self.tr.matmul(x, W)
    def concat(self, *xs): return self.tr.concat(list(xs))
    def slice(self, x, start, stop): return self.tr.slice(x, start, stop)

    def int_matmul(self, q, W):
        """Integer-valued q times integer W [out, in], exact integer sums, returned as the program float."""
        return self.tr.cast(self.tr.matmul(self.tr.cast(q, "i"), W), "f")

    def softmax(self, a):
        e = self.tr.ew("exp", self.tr.ew("-", a, self.tr.reduce("max", a)))
        return self.tr.ew("/", e, self.tr.reduce("sum", e))

    def heaviside(self, a, b=0):
        """H(a − b) = 1 where a > b else 0, in the program dtype (a spike)."""
        return self.tr.cast(self.tr.ew(">", a, b), "f")

    def cast(self, mask):
        return self.tr.cast(mask, "f")


def params_namespace(tr: Tracer, node_params: dict[str, Any], bind) -> SimpleNamespace:
    """`p` for a step: vectors and scalars as Syms bound by `bind(name, array)`, matrices as Mat, the rest as is."""
    ns = {}
    for k, v in node_params.items():
        if isinstance(v, np.ndarray) and v.dtype.kind in "biuf":
            a = v.reshape(-1) if v.ndim == 2 and v.shape[0] == 1 else v  # [1, n] broadcast rows
            ns[k] = bind(k, a)
        else:
            ns[k] = v
    return SimpleNamespace(**ns)
