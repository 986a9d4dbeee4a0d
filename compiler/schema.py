"""A small structural schema for the JSON documents snnc reads: one error naming the file and the field at fault.

A schema is a Python type (int excludes bool, float accepts int), a tuple of
schemas (any of them), a one-element list [S] (a list of S), a dict
{key: S, "?key": S (optional), "*": S (any other key)}, Map(S) (an object of
S values), Row((S1, S2, ..)) (a fixed-length list) or Const(v) (exactly v). Callers validate a document before they use
it, so a wrong type is never an AttributeError deep inside a loader.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from snnc.compiler.errors import FileFormatError


@dataclass(frozen=True)
class Map:
    """A JSON object with any string keys whose values match `values`."""

    values: Any


@dataclass(frozen=True)
class Row:
    """A JSON list of fixed length whose items match `items` in order."""

    items: tuple


@dataclass(frozen=True)
class Const:
    """Exactly this value."""

    value: Any


NUMBER = float  # a finite int or float
ANY = object


def _tname(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def _want(s: Any) -> str:
    if isinstance(s, type):
        return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
                float: "a number", type(None): "null", object: "anything"}.get(s, s.__name__)
    if isinstance(s, tuple):
        return " or ".join(_want(x) for x in s)
    if isinstance(s, list):
        return "a list"
    if isinstance(s, (dict, Map)):
        return "an object"
    if isinstance(s, Row):
        return f"a list of {len(s.items)} items"
    if isinstance(s, Const):
        return repr(s.value)
    return str(s)


def _match_type(v: Any, t: type) -> bool:
    if t is object:
        return True
    if t is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if t is int:
        return isinstance(v, int) and not isinstance(v, bool)
    return isinstance(v, t)


def _key(path: str, k: Any) -> str:
    """`path.k`, or `path[<repr>]` for a key that is empty or has spaces, dots or control characters."""
    k = str(k)
    if k and k.isprintable() and not any(c in k for c in " .[]'\""):
        return f"{path}.{k}" if path else k
    return f"{path}[{k[:60]!r}]"


def matches(v: Any, s: Any) -> bool:
    """Does `v` match schema `s` (no error)?"""
    try:
        validate(v, s, "", "")
    except FileFormatError:
        return False
    return True


def validate(v: Any, s: Any, where: str, path: str = "") -> Any:
    """Return `v` if it matches `s`, else raise FileFormatError '<where>: <path>: expected X, got Y'."""
    def fail(msg: str) -> None:
        raise FileFormatError(f"{where}: {path or 'top level'}: {msg}")

    if isinstance(s, type):
        if not _match_type(v, s):
            fail(f"expected {_want(s)}, got {_tname(v)}" + (" (not finite)" if isinstance(v, float) else ""))
    elif isinstance(s, tuple):
        if not any(matches(v, x) for x in s):
            for x in s:  # the alternative of the same JSON container type names the inner fault
                if (isinstance(x, list) and isinstance(v, list)) or (isinstance(x, (dict, Map)) and isinstance(v, dict)):
                    validate(v, x, where, path)
            fail(f"expected {_want(s)}, got {_tname(v)}")
    elif isinstance(s, Row):
        if not isinstance(v, list) or len(v) != len(s.items):
            fail(f"expected a list of {len(s.items)} items, got {_tname(v)}" + (f" of {len(v)}" if isinstance(v, list) else ""))
        for i, (x, sub) in enumerate(zip(v, s.items)):
            validate(x, sub, where, f"{path}[{i}]")
    elif isinstance(s, Const):
        if v != s.value or type(v) is not type(s.value):
            fail(f"expected {s.value!r}, got {v!r}"[:200])
    elif isinstance(s, list):
        if not isinstance(v, list):
            fail(f"expected a list, got {_tname(v)}")
        for i, x in enumerate(v):
            validate(x, s[0], where, f"{path}[{i}]")
    elif isinstance(s, Map):
        if not isinstance(v, dict):
            fail(f"expected an object, got {_tname(v)}")
        for k, x in v.items():
            validate(x, s.values, where, _key(path, k))
    elif isinstance(s, dict):
        if not isinstance(v, dict):
            fail(f"expected an object, got {_tname(v)}")
        for key, sub in s.items():
            if key == "*":
                continue
            name = key[1:] if key.startswith("?") else key
            if name not in v:
                if not key.startswith("?"):
                    fail(f"missing key '{name}'")
                continue
            validate(v[name], sub, where, _key(path, name))
        if "*" in s:
            known = {k.lstrip("?") for k in s}
            for k, x in v.items():
                if k not in known:
                    validate(x, s["*"], where, _key(path, k))
    else:
        raise TypeError(f"bad schema {s!r}")
    return v


def check_version(doc: dict, fmt: str, reads_up_to: int, where: str, what: str) -> int:
    """The format tag and version of a snnc document; a missing, invalid or newer version is named as such."""
    if doc.get("format") != fmt:
        raise FileFormatError(f"{where}: not {what} (format {str(doc.get('format'))[:80]!r}, expected {fmt!r})")
    if "version" not in doc:
        raise FileFormatError(f"{where}: {what} without a 'version' key (corrupt or not written by snnc)")
    ver = doc["version"]
    if not _match_type(ver, int) or ver < 1:
        raise FileFormatError(f"{where}: invalid format version {str(ver)[:80]!r} (expected a positive integer)")
    if ver > reads_up_to:
        raise FileFormatError(f"{where}: written by a newer snnc (format version {ver}, this snnc reads up to "
                              f"{reads_up_to}); upgrade snnc")
    return ver
