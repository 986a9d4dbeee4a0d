"""Fuzz suite (issue 15): mutated artifacts of every kind through the CLI entry point, in-process.

Each case must exit 0 or 1 (never 3, never a signal), print one `snnc: error:` line when it fails, leave no
file under the output name unless it succeeds, and stay within a time and memory bound (tests/fuzzing.py).
The budget is a few dozen to a few hundred cases per loader (deterministic); SNNC_FUZZ_EXAMPLES=N runs N each.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import Workdir, byte_edit, fuzz_settings, json_edit, npy_with_header, NPY_HEADERS, snnc, zip_edit


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """One small model as every artifact kind, an input for it, and the JSON files a user may pass."""
    d = tmp_path_factory.mktemp("fuzzbase")
    for argv in (["zoo", "srnn", "-o", "m.pt", "--set", "sizes=[8,6,6,3]"],
                 ["compile", "m.pt", "-t", "numpy", "-o", "m.snn"],
                 ["compile", "m.pt", "-t", "onnx", "-o", "m.onnx"],
                 ["compile", "m.pt", "-t", "loihi", "-o", "m.lava"]):
        assert snnc(argv, d)[0] == 0
    np.save(d / "x.npy", (np.random.default_rng(0).random((6, 2, 8)) < 0.3).astype(np.float32))
    from importlib import resources
    (d / "energy.json").write_text(resources.files("snnc.compiler").joinpath("energy_models", "cpu45nm.json").read_text())
    (d / "hw.json").write_text(json.dumps({"base": "loihi2", "name": "tiny", "neurons_per_core": 4, "max_chips": 2}))
    return d


def _case(base: Path, name: str, data: bytes, argv: list[str], outputs=("out.npy",)) -> int:
    with Workdir(base) as w:
        (w / name).write_bytes(data)
        for f in ("x.npy", "m.snn"):
            (w / f).write_bytes((base / f).read_bytes())
        return snnc(argv, w, outputs)[0]


# -- .snn graphs ------------------------------------------------------------------------------

@fuzz_settings(150)
@given(st.data())
def test_fuzz_snn(base, data):
    raw = (base / "m.snn").read_bytes()
    bad = data.draw(st.one_of(byte_edit(raw), zip_edit(raw, "graph.json")))
    cmd = data.draw(st.sampled_from([["run", "bad.snn", "--input", "x.npy", "-o", "out.npy"], ["inspect", "bad.snn"]]))
    _case(base, "bad.snn", bad, cmd)


# -- .pt model files --------------------------------------------------------------------------

@st.composite
def pt_edit(draw, raw: bytes) -> bytes:
    """A model-file dict edited (config, tensors, keys; with the checksum recomputed or not), or its bytes."""
    import torch

    from snnc.frontends.modelfile import checksum
    if draw(st.booleans()):
        return draw(st.one_of(byte_edit(raw), zip_edit(raw)))
    doc = torch.load(io.BytesIO(raw), weights_only=True)
    op = draw(st.sampled_from(["config", "tensor", "drop", "key", "sizes"]))
    if op == "config":
        key = draw(st.sampled_from(sorted(doc["config"]) + ["bogus"]))
        doc["config"][key] = draw(st.sampled_from([20000, -1, 0, 1.5, "x", None, [8, 20000, 20000, 3], [8], {}]))
    elif op == "sizes":
        doc["config"]["sizes"] = [8, 20000, 20000, 3]
    elif op == "tensor":
        k = draw(st.sampled_from(sorted(doc["state_dict"])))
        doc["state_dict"][k] = draw(st.sampled_from([torch.zeros(3), torch.full((6,), float("nan")), torch.zeros(6, 6, 6),
                                                      torch.ones(6, dtype=torch.int64), torch.tensor(-5.0)]))
    elif op == "drop":
        doc.pop(draw(st.sampled_from(sorted(doc))))
    else:
        doc[draw(st.sampled_from(["version", "format", "arch", "config", "state_dict"]))] = \
            draw(st.sampled_from([None, 3, "srnn", "snnc-model", {}, [], 99]))
    if draw(st.booleans()) and isinstance(doc.get("state_dict"), dict) and isinstance(doc.get("config"), dict):
        try:
            doc["checksum"] = checksum(str(doc.get("arch")), doc["config"], doc["state_dict"])
        except Exception:
            pass
    buf = io.BytesIO()
    torch.save(doc, buf)
    return buf.getvalue()


@fuzz_settings(100)
@given(st.data())
def test_fuzz_pt(base, data):
    bad = data.draw(pt_edit((base / "m.pt").read_bytes()))
    _case(base, "bad.pt", bad, ["compile", "bad.pt", "-t", "numpy", "-o", "out.snn"], outputs=("out.snn",))


# -- .onnx models ------------------------------------------------------------------------------

@st.composite
def onnx_edit(draw, raw: bytes) -> bytes:
    """An ONNX model with its snnc metadata, an initializer, a node's domain or the opsets edited, or its bytes."""
    import onnx
    from onnx import numpy_helper

    if draw(st.booleans()):
        if draw(st.booleans()):  # invalid UTF-8 inside a string: metadata, a node or value name, a domain
            word = draw(st.sampled_from([b"loop", b"float32", b"snnc.states", b"input", b"readout.li", b"Loop", b"snnc"]))
            b = bytearray(raw)
            j = b.find(word)
            b[j] = 0xFF
            return bytes(b)
        return draw(byte_edit(raw))
    m = onnx.load_from_string(raw)
    op = draw(st.sampled_from(["meta", "drop_meta", "init", "domain", "opset", "dims"]))
    props = list(m.metadata_props)
    if op == "meta":
        p = draw(st.sampled_from(props))
        p.value = draw(st.one_of(st.text(max_size=30), st.sampled_from(["2", "99", "", "{}", "[1]", '{"a": "b"}',
                                                                        "[[[[[[[]]]]]]]", "float16", "step"])))
    elif op == "drop_meta":
        key = draw(st.sampled_from([p.key for p in props]))
        keep = [p for p in props if p.key != key]
        del m.metadata_props[:]
        m.metadata_props.extend(keep)
    elif op in ("init", "dims"):
        init = draw(st.sampled_from(list(m.graph.initializer)))
        if op == "dims":
            init.dims[:] = [draw(st.sampled_from([0, 3, 1 << 40]))] * max(1, len(init.dims))
        else:
            a = numpy_helper.to_array(init).copy()
            if a.dtype.kind == "f" and a.size:
                a.flat[0] = np.nan
            init.CopyFrom(numpy_helper.from_array(a, init.name))
    elif op == "domain":
        nodes = list(m.graph.node)
        draw(st.sampled_from(nodes)).domain = draw(st.sampled_from(["com.evil", "ai.onnx.ml", "com.microsoft"]))
    else:
        m.opset_import.add(domain=draw(st.sampled_from(["com.evil", "com.microsoft"])), version=1)
    return m.SerializeToString()


@fuzz_settings(60)
@given(st.data())
def test_fuzz_onnx(base, data):
    bad = data.draw(onnx_edit((base / "m.onnx").read_bytes()))
    cmd = data.draw(st.sampled_from([["run", "bad.onnx", "--input", "x.npy", "-o", "out.npy"], ["inspect", "bad.onnx"]]))
    _case(base, "bad.onnx", bad, cmd)


# -- Lava network directories ---------------------------------------------------------------------

@fuzz_settings(120)
@given(st.data())
def test_fuzz_lava(base, data):
    """network.json, weights.npz and graph.snn mutated; inspect runs the validation `run` runs before Lava."""
    src = base / "m.lava"
    member = data.draw(st.sampled_from(["network.json", "weights.npz", "graph.snn"]))
    raw = (src / member).read_bytes()
    if member == "network.json":
        bad = data.draw(st.one_of(json_edit(json.loads(raw)), byte_edit(raw)))
        bad = bad.encode() if isinstance(bad, str) else bad
    else:
        bad = data.draw(st.one_of(byte_edit(raw), zip_edit(raw, "graph.json" if member == "graph.snn" else None)))
    with Workdir(base) as w:
        d = w / "bad.lava"
        d.mkdir()
        for f in ("network.json", "weights.npz", "graph.snn"):
            (d / f).write_bytes(bad if f == member else (src / f).read_bytes())
        snnc(["inspect", "bad.lava"], w)


# -- .npy / .npz inputs -------------------------------------------------------------------------

@st.composite
def input_file(draw, x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    kind = draw(st.sampled_from(["npy_bytes", "npy_header", "npz", "npz_edit", "values"]))
    if kind == "values":
        a = draw(st.sampled_from([x * np.nan, x.astype(np.complex64), x[:, :, :3], x[0], x.astype(bool),
                                  np.zeros((0, 2, 8)), x.astype(np.int8) * 3, np.array("text")]))
        np.save(buf, a)
        return buf.getvalue()
    if kind == "npy_header":
        return npy_with_header(draw(NPY_HEADERS))
    np.save(buf, x) if kind == "npy_bytes" else np.savez_compressed(buf, input=x, other=x[:1])
    raw = buf.getvalue()
    return draw(byte_edit(raw)) if kind != "npz_edit" else draw(zip_edit(raw))


@fuzz_settings(150)
@given(st.data())
def test_fuzz_inputs(base, data):
    bad = data.draw(input_file(np.load(base / "x.npy")))
    name = data.draw(st.sampled_from(["bad.npy", "bad.npz"]))
    _case(base, name, bad, ["run", "m.snn", "--input", name, "-o", "out.npy"])


# -- energy-model and hardware JSON ------------------------------------------------------------------

@fuzz_settings(100)
@given(st.data())
def test_fuzz_energy_model(base, data):
    raw = (base / "energy.json").read_bytes()
    bad = data.draw(st.one_of(json_edit(json.loads(raw)).map(str.encode), byte_edit(raw)))
    _case(base, "e.json", bad, ["report", "m.snn", "--input", "x.npy", "--energy-model", "e.json"])


@fuzz_settings(60)
@given(st.data())
def test_fuzz_hardware(base, data):
    raw = (base / "hw.json").read_bytes()
    bad = data.draw(st.one_of(json_edit(json.loads(raw)).map(str.encode), byte_edit(raw)))
    _case(base, "hw.json", bad, ["compile", "m.snn", "-t", "numpy", "-o", "out.snn", "--hardware", "hw.json"],
          outputs=("out.snn",))


# -- .nir files: the error boundary only (the NIR reader itself is the nir helper's) ------------------

@fuzz_settings(30)
@given(st.data())
def test_fuzz_nir_boundary(base, data):
    pytest.importorskip("nir", reason="the nir extra, installed by `make setup`")
    nir_file = base / "m.nir"
    if not nir_file.exists():  # NIR has no ALIF: a LIF network
        assert snnc(["zoo", "lif-srnn", "-o", "l.pt", "--set", "sizes=[8,6,3]"], base)[0] == 0
        assert snnc(["compile", "l.pt", "-t", "nir", "-o", "m.nir"], base)[0] == 0
    raw = nir_file.read_bytes()
    # truncation, and junk or zeros over the HDF5 superblock: the file-level faults the boundary must word;
    # edits inside the HDF5 content (datasets, groups, types, edges, data bytes) are tests/test_fuzz_nir.py
    cut = data.draw(st.integers(0, len(raw) - 1))
    bad = data.draw(st.sampled_from([raw[:cut], bytes(64) + raw[64:], b"\x89HDF\r\n\x1a\n" + bytes(cut % 200), b""]))
    _case(base, "bad.nir", bad, ["compile", "bad.nir", "-t", "numpy", "-o", "out.snn"], outputs=("out.snn",))


def test_zip_members_are_read_as_written(base):
    """The fixtures themselves are what the mutators assume (a guard against a fuzz suite that tests nothing)."""
    assert "graph.json" in zipfile.ZipFile(base / "m.snn").namelist()
    assert (base / "m.lava" / "network.json").is_file()
