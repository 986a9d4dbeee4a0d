"""Shared machinery of the fuzz suite: the in-process CLI harness with its per-case assertions, and hypothesis
strategies that mutate bytes, JSON documents, zip archives and .npy headers."""
from __future__ import annotations

import copy
import io
import json
import os
import resource
import shutil
import tempfile
import time
import warnings
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

CASE_SECONDS = 60.0  # one case, on a loaded 2-core CI machine; a hang or a 5-minute build fails it
CASE_MEMORY_MB = 768  # growth of the peak RSS during one case (a 3 GB zip bomb or 6.5 GB build fails it)


def fuzz_settings(default: int) -> settings:
    """`default` cases per loader (CI budget), SNNC_FUZZ_EXAMPLES to run more; deterministic (SNNC_FUZZ_RANDOM=1:
    fresh random cases each run), no database."""
    n = int(os.environ.get("SNNC_FUZZ_EXAMPLES") or default)
    return settings(max_examples=n, deadline=None, derandomize=not os.environ.get("SNNC_FUZZ_RANDOM"), database=None, print_blob=False,
                    suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])  # no shrinking: a failure costs no extra CI time


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Workdir:
    """A fresh directory per case under `root`, removed afterwards."""

    def __init__(self, root: Path):
        self.path = Path(tempfile.mkdtemp(dir=root))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def snnc(argv: list[str], cwd: Path, outputs: tuple[str, ...] = ()) -> tuple[int, str]:
    """Run `snnc ARGV` in-process in `cwd` and assert the error boundary's contract; returns (exit code, stderr)."""
    from snnc.cli.main import main

    err, out = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    peak0, t0 = _peak_mb(), time.monotonic()
    try:
        with redirect_stderr(err), redirect_stdout(out), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                rc = main(list(argv))
            except SystemExit as e:  # argparse
                rc = e.code
    finally:
        os.chdir(old)
    dt, grown = time.monotonic() - t0, _peak_mb() - peak0
    text = err.getvalue().strip()
    assert rc in (0, 1), f"snnc {' '.join(argv)}: exit {rc}: {text[-2000:]}"
    if rc == 1:
        assert text.startswith("snnc: error: ") and len(text.splitlines()) == 1, f"snnc {' '.join(argv)}: {text[-2000:]}"
    assert "internal error" not in text and "Traceback" not in text, text[-2000:]
    if rc != 0:
        for o in outputs:
            assert not (cwd / o).exists(), f"{o} written although snnc failed: {text}"
    left = [p.name for p in cwd.iterdir() for o in outputs if p.name.startswith(f".{o}.")]
    assert not left, f"temporary files left: {left}"
    assert dt < CASE_SECONDS, f"snnc {' '.join(argv)} took {dt:.1f} s"
    assert grown < CASE_MEMORY_MB, f"snnc {' '.join(argv)} grew the peak RSS by {grown:.0f} MB"
    return rc, text


# -- mutations -------------------------------------------------------------------------

@st.composite
def byte_edit(draw, data: bytes) -> bytes:
    """Truncation, byte flips, an inserted run of random bytes, or a zeroed range."""
    op = draw(st.sampled_from(["truncate", "flip", "insert", "zero"]))
    b = bytearray(data)
    if op == "truncate":
        return bytes(b[: draw(st.integers(0, max(0, len(b) - 1)))])
    if op == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(b) - 1))
            b[i] ^= draw(st.integers(1, 255))
        return bytes(b)
    i = draw(st.integers(0, len(b)))
    if op == "insert":
        return bytes(b[:i]) + draw(st.binary(min_size=1, max_size=64)) + bytes(b[i:])
    n = draw(st.integers(1, 256))
    b[i:i + n] = bytes(len(b[i:i + n]))
    return bytes(b)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0, -1, 1.5, 10**9, 10**12, -10**9, 1e308, "", "os.system", "__class__", "a_in", "float"])
    | st.text(max_size=12),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=8)
DEEP = "\u0000DEEP\u0000"  # placeholder replaced by 100,000-deep nesting in the JSON text


def _slots(doc, out: list, depth: int = 0) -> list:
    """(container, key) of every value in `doc`."""
    if depth > 12:
        return out
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        out.append((doc, k))
        _slots(v, out, depth + 1)
    return out


@st.composite
def json_edit(draw, doc) -> str:
    """JSON text of `doc` with one structural edit: a value replaced, retyped or deleted, a key added, deep nesting."""
    doc = copy.deepcopy(doc)
    slots = _slots(doc, [])
    op = draw(st.sampled_from(["replace", "delete", "retype", "add", "deep", "top"]))
    if op == "top" or not slots:
        return json.dumps(draw(JSON_VALUES))
    parent, key = draw(st.sampled_from(slots))
    if op == "delete":
        del parent[key]
    elif op == "add" and isinstance(parent, dict):
        parent[draw(st.text(max_size=8))] = draw(JSON_VALUES)
    elif op == "retype":
        v = parent[key]
        parent[key] = [v] if not isinstance(v, list) else {"x": v}
    elif op == "deep":
        parent[key] = DEEP
    else:
        parent[key] = draw(JSON_VALUES)
    text = json.dumps(doc)
    return text.replace(json.dumps(DEEP), "[" * 100_000 + "]" * 100_000)


def rezip(data: bytes, edit) -> bytes:
    """The zip `data` with each member passed through edit(name, bytes) -> bytes | None (None drops it)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            new = edit(info.filename, zin.read(info))
            if new is not None:
                zout.writestr(info.filename, new)
    return buf.getvalue()


NPY_HEADERS = st.sampled_from([
    "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 8), }",  # 7 TiB+
    "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }",
    "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
    "{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }",
    "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }",
    "{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
    "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }",
    "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': __import__('os'), }",
    "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }",
])


def npy_with_header(header: str, body: bytes = b"\0" * 48) -> bytes:
    """A .npy (version 1.0) with a hand-written header dict."""
    h = header.encode("latin1")
    h += b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h + body


@st.composite
def zip_edit(draw, data: bytes, json_member: str | None = None) -> bytes:
    """A structural edit of a zip: its JSON member edited, an .npy member's header replaced, a member dropped,
    a member encrypted or recompressed with an unsupported method, or a member duplicated."""
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    op = draw(st.sampled_from(["json", "npy", "drop", "encrypt", "method", "dup"]))
    target = draw(st.sampled_from(names))
    if op == "json" and json_member:
        doc = json.loads(zipfile.ZipFile(io.BytesIO(data)).read(json_member))
        text = draw(json_edit(doc)).encode()
        return rezip(data, lambda n, b: text if n == json_member else b)
    if op == "npy":
        npys = [n for n in names if n.endswith(".npy")] or names
        target = draw(st.sampled_from(npys))
        new = npy_with_header(draw(NPY_HEADERS))
        return rezip(data, lambda n, b: new if n == target else b)
    if op == "drop":
        return rezip(data, lambda n, b: None if n == target else b)
    if op == "dup":
        buf = io.BytesIO(data)
        with zipfile.ZipFile(buf, "a") as z, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z.writestr(target, draw(st.binary(max_size=64)))
        return buf.getvalue()
    b = bytearray(data)  # patch the general-purpose flags (encrypt) or the method of every header
    sig_local, sig_central = b"PK\x03\x04", b"PK\x01\x02"
    for sig, flag_at, method_at in ((sig_local, 6, 8), (sig_central, 8, 10)):
        i = b.find(sig)
        while i >= 0:
            if op == "encrypt":
                b[i + flag_at] |= 1
            else:
                b[i + method_at:i + method_at + 2] = draw(st.sampled_from([12, 14, 99, 6])).to_bytes(2, "little")
            i = b.find(sig, i + 4)
    return bytes(b)
