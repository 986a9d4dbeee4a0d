"""Hypothesis mutations of the HDF5 content of a .nir file (tests/test_fuzz_nir.py): datasets and groups deleted,
renamed, retyped or reshaped, node types swapped, edges left dangling, links added, bytes flipped in the data."""
from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

NIR_TYPES = ["Input", "Output", "Affine", "Linear", "Scale", "LI", "LIF", "I", "IF", "CubaLI", "CubaLIF", "Threshold",
             "Delay", "Flatten", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d", "NIRGraph", "Bogus", "", "os.system"]


def _values(draw):
    """A replacement value for a dataset: wrong dtype, wrong shape, non-finite, huge, empty, a string or bytes."""
    return draw(st.sampled_from([
        np.float64(np.nan), np.float64(np.inf), np.float64(-1.0), np.float64(0.0), np.int64(-3), np.int64(2**40),
        np.zeros(0), np.zeros((0, 2)), np.ones((2, 3, 4)), np.ones(7), np.full(3, -1e308), np.full(2, np.nan),
        np.array([1 + 2j, 3j]), np.array([True, False]), np.array([[b"a", b"b", b"c"]]), np.array(b"\xff\xfe\x00"),
        np.array("LIF".encode()), np.array([("x", 1.0)], dtype=[("a", "S1"), ("b", "f8")]), np.arange(6, dtype=np.int8),
        np.array(["x"], dtype=object), "HUGE",
    ]))


def _objects(f) -> list[tuple[str, bool]]:
    """(path, is_group) of everything below /node (and the root's datasets)."""
    import h5py

    out: list[tuple[str, bool]] = []
    f.visititems(lambda name, obj: out.append((name, isinstance(obj, h5py.Group))))
    return out


def _data_offsets(f) -> list[tuple[int, int]]:
    """(file offset, size) of every stored dataset's data, contiguous or chunked."""
    import h5py

    spans: list[tuple[int, int]] = []

    def visit(_name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        if obj.chunks is None:
            off = obj.id.get_offset()
            if off is not None:
                spans.append((off, obj.id.get_storage_size()))
            return
        for k in range(obj.id.get_num_chunks()):
            info = obj.id.get_chunk_info(k)
            spans.append((info.byte_offset, info.size))

    f.visititems(visit)
    return [s for s in spans if s[1] > 0]


@st.composite
def hdf5_edit(draw, raw: bytes) -> bytes:
    """`raw` (a .nir file) with one edit of its HDF5 content, rewritten through h5py (or bytes flipped in place)."""
    import h5py

    op = draw(st.sampled_from(["delete", "rename", "value", "type", "edge", "swap", "link", "flip", "flip", "attr"]))
    if op == "flip":  # bytes of the stored arrays: corrupt numbers, strings or compressed chunks
        with h5py.File(io.BytesIO(raw), "r") as f:
            spans = _data_offsets(f)
        b = bytearray(raw)
        for _ in range(draw(st.integers(1, 6))):
            off, size = draw(st.sampled_from(spans))
            i = off + draw(st.integers(0, size - 1))
            b[i] ^= draw(st.integers(1, 255))
        return bytes(b)
    tmp = Path(tempfile.mkdtemp())
    try:
        p = tmp / "m.nir"
        p.write_bytes(raw)
        with h5py.File(p, "r+") as f:
            objs = _objects(f)
            path, is_group = draw(st.sampled_from(objs))
            parent = path.rsplit("/", 1)[0] if "/" in path else ""
            if op == "delete":
                del f[path]
            elif op == "rename":
                siblings = [k for k in (f[parent] if parent else f).keys()]
                new = draw(st.sampled_from(sorted(set(siblings) | {"type", "nodes", "edges", "weight", "x", "0", "é"})))
                target = f"{parent}/{new}" if parent else new
                if target != path:
                    if target in f:
                        del f[target]
                    f.move(path, target)
            elif op in ("value", "swap"):
                v = _values(draw) if op == "value" else None
                del f[path]
                if op == "swap" and not is_group:
                    f.create_group(path)  # a dataset became a group
                elif op == "swap":
                    f[path] = np.ones(3)  # a group became a dataset
                elif isinstance(v, str):  # declared huge, stored sparse: reading it would allocate 8 TB
                    f.create_dataset(path, shape=(10**6, 10**6), dtype="f8", chunks=(1, 1024))
                else:
                    f[path] = v
            elif op == "type":
                groups = [o for o, g in objs if g and f"{o}/type" in f] or [""]
                g = draw(st.sampled_from(groups))
                key = f"{g}/type" if g else "type"
                if key in f:
                    del f[key]
                f[key] = draw(st.sampled_from(NIR_TYPES)).encode()
            elif op == "edge":
                graphs = [o for o, g in objs if g and f"{o}/edges" in f]
                e = f"{draw(st.sampled_from(graphs))}/edges"
                pairs = [list(map(bytes, r)) for r in f[e][()].reshape(-1, 2)] if f[e].dtype.kind in "OS" else []
                names = sorted({x for r in pairs for x in r}) or [b"x"]
                kind = draw(st.sampled_from(["dangling", "self", "flat", "numbers", "empty", "dup"]))
                if kind == "dangling":
                    pairs.append([draw(st.sampled_from(names)), b"nowhere"])
                elif kind == "self":
                    n = draw(st.sampled_from(names))
                    pairs.append([n, n])
                elif kind == "dup" and pairs:
                    pairs.append(pairs[0])
                del f[e]
                if kind == "flat":
                    f[e] = np.array([x for r in pairs for x in r] + [b"x"], dtype=object)
                elif kind == "numbers":
                    f[e] = np.arange(6).reshape(3, 2)
                elif kind == "empty":
                    f[e] = np.zeros((0, 2), dtype="S1")
                else:
                    f[e] = np.array(pairs, dtype=object) if pairs else np.zeros((0, 2), dtype="S1")
            elif op == "link":
                where = parent or "node"
                name = f"{where}/{draw(st.sampled_from(['lnk', 'weight', 'type']))}"
                if name in f:
                    del f[name]
                if draw(st.booleans()):
                    f[name] = h5py.SoftLink("/" + path)
                else:
                    f[name] = h5py.ExternalLink("/etc/passwd", "/")
            else:
                f[path].attrs["x"] = draw(st.sampled_from([1, "y", np.ones(3)]))
        return p.read_bytes()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
