"""Resource limits checked before anything is allocated, and the bounded readers of JSON, zip and .npy data.

Every limit has a generous default for real models and can be changed with an
environment variable (SNNC_MAX_<NAME>, e.g. SNNC_MAX_DELAY=5000000) or the CLI's
`--limit NAME=VALUE`. A file that exceeds one fails with a FileFormatError
naming the file, the field and the limit, so a 1 MB zip bomb or a 7 TiB array
header never reaches the allocator.
"""
from __future__ import annotations

import io
import json
import os
import re
import zipfile
import zlib
from typing import Any

import numpy as np

from snnc.compiler.errors import FileFormatError, SnncError

DEFAULTS: dict[str, int] = {
    "array_bytes": 4 << 30,  # one array (a weight matrix, an input)
    "decompressed_bytes": 4 << 30,  # all members of one zip (.snn, .npz, .pt) together
    "zip_ratio": 200,  # decompressed / compressed size, checked once a zip inflates past 64 MiB (zip bombs)
    "json_bytes": 256 << 20,  # one JSON document
    "json_depth": 64,  # nesting of one JSON document (snnc's own files use < 10)
    "neurons": 10_000_000,  # one population
    "delay": 1_000_000,  # steps of one edge delay (the buffer holds delay x batch x neurons values)
    "check_decays": 1,  # 0: accept float decays outside (0, 1] and non-positive time constants
}
_overrides: dict[str, int] = {}


def get(name: str) -> int:
    """The limit `name`: a --limit override, else $SNNC_MAX_<NAME>, else the default."""
    if name in _overrides:
        return _overrides[name]
    env = f"SNNC_MAX_{name.upper()}"
    raw = os.environ.get(env)
    if raw is None:
        return DEFAULTS[name]
    try:
        return _parse(raw)
    except ValueError:
        raise SnncError(f"environment variable {env}={raw!r} is not a non-negative integer") from None


def _parse(raw: str) -> int:
    v = int(float(raw)) if re.fullmatch(r"\s*\d+(\.\d*)?([eE]\d+)?\s*", raw) else -1
    if v < 0:
        raise ValueError(raw)
    return v


def set_limit(spec: str) -> None:
    """Apply one `NAME=VALUE` (the CLI's --limit) for this process."""
    name, sep, raw = spec.partition("=")
    name = name.strip().lower().replace("-", "_")
    if not sep or name not in DEFAULTS:
        raise SnncError(f"--limit expects NAME=VALUE with NAME one of {', '.join(DEFAULTS)}, got {spec!r}")
    try:
        _overrides[name] = _parse(raw)
    except ValueError:
        raise SnncError(f"--limit {name}: {raw!r} is not a non-negative integer") from None


def reset() -> None:
    """Drop the --limit overrides (each CLI invocation starts from the environment and the defaults)."""
    _overrides.clear()


def check(name: str, value: int, where: str, what: str) -> None:
    """Raise when `value` exceeds limit `name`; `what` says which field of `where` it is."""
    lim = get(name)
    if value > lim:
        raise FileFormatError(f"{where}: {what} is {value:,}, above the limit of {lim:,} "
                              f"(raise it with --limit {name}=N or SNNC_MAX_{name.upper()})")


# -- JSON --------------------------------------------------------------------------

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def json_depth(data: bytes) -> int:
    """Deepest [ / { nesting of JSON text, strings ignored (linear time, no recursion)."""
    s = np.frombuffer(_STRINGS.sub(b'""', data), dtype=np.uint8)
    step = np.isin(s, (ord("["), ord("{"))).astype(np.int64) - np.isin(s, (ord("]"), ord("}")))
    return int(np.cumsum(step).max(initial=0))


def _reject_constant(c: str) -> None:
    raise ValueError(f"{c} is not valid JSON")


def loads_json(data: bytes | str, where: str) -> Any:
    """Parse JSON text after checking its size and depth; NaN/Infinity literals and bad UTF-8 are errors."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    check("json_bytes", len(data), where, "the JSON size in bytes")
    check("json_depth", json_depth(data), where, "the JSON nesting depth")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileFormatError(f"{where}: not UTF-8 text (byte {e.start}: {e.reason})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise FileFormatError(f"{where}: invalid JSON ({' '.join(str(e).split())})") from None


def read_bytes(path, where: str, what: str, error: type[SnncError] = FileFormatError, limit: str | None = None) -> bytes:
    """The bytes of file `path` (`what` it should be, e.g. "a JSON file"); a missing, unreadable or directory path,
    and with `limit` a file larger than that limit, is one `error` line naming `where`."""
    try:
        if limit:
            check(limit, os.path.getsize(path), where, "the file size in bytes")
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise error(f"{where}: no such file") from None
    except IsADirectoryError:
        raise error(f"{where}: is a directory, not {what}") from None
    except OSError as e:
        raise error(f"{where}: cannot read ({e.strerror or e})") from None


def read_json(path, where: str | None = None) -> Any:
    """loads_json of a file, with missing/unreadable files as one-line errors."""
    where = where or str(path)
    return loads_json(read_bytes(path, where, "a JSON file", limit="json_bytes"), where)


# -- zip archives and .npy arrays ----------------------------------------------------

def open_zip(data: bytes, where: str, what: str = "zip archive") -> zipfile.ZipFile:
    """A ZipFile over `data` whose members are plain (stored/deflated, unencrypted) and within the size limits."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, zlib.error,
            NotImplementedError, UnicodeDecodeError) as e:
        raise FileFormatError(f"{where}: not a valid {what} (truncated or corrupt: {' '.join(str(e).split())})") from None
    total = packed = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise FileFormatError(f"{where}: member {info.filename[:80]} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise FileFormatError(f"{where}: member {info.filename[:80]} uses unsupported compression {info.compress_type}")
        total += info.file_size
        packed += info.compress_size
    check("decompressed_bytes", total, where, "the total decompressed size of the members in bytes")
    if packed > len(data):
        raise FileFormatError(f"{where}: members overlap (they claim {packed:,} compressed bytes in a "
                              f"{len(data):,}-byte file)")
    if total > 64 << 20:
        check("zip_ratio", total // max(packed, 1), where, "the compression ratio")
    return z


def read_member(z: zipfile.ZipFile, name: str, where: str) -> bytes:
    """The bytes of one member, CRC-checked; a missing member is a KeyError for the caller to word."""
    info = z.getinfo(name)
    try:
        with z.open(info) as f:
            data = f.read(info.file_size + 1)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error, NotImplementedError, RuntimeError) as e:
        raise FileFormatError(f"{where}: member {name} is corrupt ({' '.join(str(e).split())})") from None
    if len(data) != info.file_size:
        raise FileFormatError(f"{where}: member {name} is corrupt (size differs from the zip directory)")
    return data


def parse_npy(data: bytes, where: str) -> np.ndarray:
    """An array from .npy bytes: no pickles, numeric dtypes, declared size within limits and equal to the data."""
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except Exception as e:  # numpy's header parser on untrusted bytes: ValueError, SyntaxError, TokenError, ...
        raise FileFormatError(f"{where}: not a valid .npy array ({' '.join(str(e).split())[:200]})") from None
    if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise FileFormatError(f"{where}: dtype {dtype} is not numeric (expected a plain int, float or bool array)")
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise FileFormatError(f"{where}: invalid array shape {shape}")
    count = 1
    for d in shape:
        count *= d
    nbytes = count * dtype.itemsize
    check("array_bytes", nbytes, where, f"the declared array size in bytes (shape {shape}, {dtype})")
    body = len(data) - f.tell()
    if body != nbytes:
        raise FileFormatError(f"{where}: truncated or padded array (shape {shape} {dtype} needs {nbytes} bytes, "
                              f"the file holds {body})")
    a = np.frombuffer(data, dtype=dtype, count=count, offset=f.tell())
    a = a.reshape(shape[::-1]).T if fortran and len(shape) > 1 else a.reshape(shape)
    return a.copy()
