"""The issue's named hostile files, each a clear one-line error before any large allocation, and the limits'
overrides (--limit NAME=N, SNNC_MAX_NAME)."""
from __future__ import annotations

import io
import json
import resource
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fuzzing import npy_with_header, rezip, snnc


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("limits")
    for argv in (["zoo", "srnn", "-o", "m.pt", "--set", "sizes=[8,6,6,3]"],
                 ["compile", "m.pt", "-t", "numpy", "-o", "m.snn"],
                 ["compile", "m.pt", "-t", "onnx", "-o", "m.onnx"]):
        assert snnc(argv, d)[0] == 0
    np.save(d / "x.npy", np.zeros((4, 1, 8), np.float32))
    return d


def fails(base: Path, argv: list[str], *fragments: str, outputs=("out.npy",)) -> str:
    for o in outputs:  # left by an earlier test's successful run in this shared directory
        (base / o).unlink(missing_ok=True)
    rc, err = snnc(argv, base, outputs)
    assert rc == 1, err
    for f in fragments:
        assert f in err, err
    return err


def edit_graph(base: Path, name: str, fn) -> None:
    def edit(member, b):
        if member != "graph.json":
            return b
        doc = json.loads(b)
        fn(doc)
        return json.dumps(doc).encode()
    (base / name).write_bytes(rezip((base / "m.snn").read_bytes(), edit))


def run_snn(name: str) -> list[str]:
    return ["run", name, "--input", "x.npy", "-o", "out.npy"]


def test_zip_bomb_is_refused_before_inflating(base):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("graph.json", zipfile.ZipFile(base / "m.snn").read("graph.json"))
        z.writestr("arrays/bomb.npy", bytes(100 << 20))
    (base / "bomb.snn").write_bytes(bomb.getvalue())
    assert len(bomb.getvalue()) < 1 << 20
    fails(base, run_snn("bomb.snn"), "bomb.snn", "compression ratio", "--limit zip_ratio")


def test_huge_declared_array_is_refused(base):
    z = zipfile.ZipFile(base / "m.snn")
    member = next(n for n in z.namelist() if n.endswith(".npy"))
    huge = npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 8), }")
    (base / "huge.snn").write_bytes(rezip((base / "m.snn").read_bytes(), lambda n, b: huge if n == member else b))
    fails(base, run_snn("huge.snn"), "huge.snn", "declared array size", "(1099511627776, 8)")


@pytest.mark.parametrize("delay, fragment", [(10**9, "above the limit of 1,000,000"), (1.5, "expected an integer"),
                                             (-2, "negative delay")])
def test_bad_delays(base, delay, fragment):
    def fn(doc):
        doc["edges"][0][3] = delay
    edit_graph(base, "delay.snn", fn)
    fails(base, run_snn("delay.snn"), "delay.snn", fragment)
    fails(base, ["inspect", "delay.snn"], fragment)  # inspect validates like run


def test_delay_limit_is_overridable(base, monkeypatch):
    def fn(doc):
        e = next(e for e in doc["edges"] if e[3] == 1)
        e[3] = 50
    edit_graph(base, "d50.snn", fn)
    assert snnc(run_snn("d50.snn"), base, ("out.npy",))[0] == 0
    fails(base, ["--limit", "delay=10"] + run_snn("d50.snn"), "delay of edge layer1.alif -> layer1.rec.in is 50, above the limit of 10")
    monkeypatch.setenv("SNNC_MAX_DELAY", "10")
    fails(base, run_snn("d50.snn"), "SNNC_MAX_DELAY")


def test_missing_version_is_named_as_missing(base):
    edit_graph(base, "nover.snn", lambda doc: doc.pop("version"))
    err = fails(base, run_snn("nover.snn"), "without a 'version' key")
    assert "newer" not in err


def test_wrong_json_types_name_the_field(base):
    edit_graph(base, "types.snn", lambda doc: doc["nodes"][1].__setitem__("fields", [1, 2]))
    fails(base, run_snn("types.snn"), "nodes[1].fields: expected an object, got a list")


def test_decays_outside_unit_interval(base):
    def fn(doc):
        nd = next(n for n in doc["nodes"] if n["type"] == "LI")
        nd["fields"]["alpha"] = {"value": 1.5}
    edit_graph(base, "decay.snn", fn)
    fails(base, run_snn("decay.snn"), "node 'readout.li' (LI): decay 'alpha' must lie in (0, 1], got 1.5 at index 0")
    assert snnc(["--limit", "check_decays=0"] + run_snn("decay.snn"), base, ("out.npy",))[0] == 0


def _pt(base: Path, name: str, edit, rechecksum: bool = True) -> None:
    import torch

    from snnc.frontends.modelfile import checksum
    doc = torch.load(base / "m.pt", weights_only=True)
    edit(doc)
    if rechecksum:
        doc["checksum"] = checksum(doc["arch"], doc["config"], doc["state_dict"])
    torch.save(doc, base / name)


def test_small_pt_asking_for_20000_neurons_fails_fast(base):
    _pt(base, "big.pt", lambda d: d["config"].__setitem__("sizes", [8, 20000, 20000, 3]))
    assert (base / "big.pt").stat().st_size < 20_000
    t0 = time.monotonic()
    fails(base, ["compile", "big.pt", "-t", "numpy", "-o", "out.snn"], "big.pt", "config does not fit the stored weights",
          "config (20000,), weights (6,)", outputs=("out.snn",))
    assert time.monotonic() - t0 < 20


def test_pt_with_flipped_tensor_bytes_is_caught_by_the_checksum(base):
    raw = bytearray((base / "m.pt").read_bytes())
    z = zipfile.ZipFile(base / "m.pt")
    info = next(i for i in z.infolist() if "/data/" in i.filename and i.file_size >= 16)
    h = info.header_offset  # the local header's name and extra lengths (torch pads the extra field to align data)
    start = h + 30 + int.from_bytes(raw[h + 26:h + 28], "little") + int.from_bytes(raw[h + 28:h + 30], "little")
    raw[start + 5] ^= 0x40  # stored uncompressed: this is a weight's byte, and torch ignores the CRC
    (base / "flip.pt").write_bytes(bytes(raw))
    fails(base, ["compile", "flip.pt", "-t", "numpy", "-o", "out.snn"], "flip.pt", "checksum mismatch", outputs=("out.snn",))


@pytest.mark.parametrize("tau", [-20.0, 0.0])
def test_non_positive_time_constants_name_tau(base, tau):
    def edit(d):
        k = next(k for k in d["state_dict"] if k.endswith("tau_m"))
        d["state_dict"][k] = d["state_dict"][k].clone().fill_(tau)
    _pt(base, "tau.pt", edit)
    err = fails(base, ["compile", "tau.pt", "-t", "numpy", "-o", "out.snn"],
                f"module 'layer1' (ALIFLayer): time constant 'tau_m' must be positive and finite, got {tau} at index 0",
                outputs=("out.snn",))
    assert "v_leak" not in err


def test_output_and_activity_must_differ(base):
    fails(base, ["run", "m.snn", "--input", "x.npy", "-o", "out.npy", "--activity", "out.npy"], "same file")
    fails(base, ["run", "m.snn", "--input", "x.npy", "-o", "x.npy"], "same file as --input", outputs=())


def _onnx(base: Path, name: str, edit) -> None:
    import onnx
    m = onnx.load(str(base / "m.onnx"))
    edit(m)
    onnx.save(m, str(base / name))


def test_onnx_nan_initializer_custom_domain_missing_metadata(base):
    from onnx import numpy_helper

    def nan(m):
        init = next(i for i in m.graph.initializer if numpy_helper.to_array(i).dtype.kind == "f" and i.dims)
        a = numpy_helper.to_array(init).copy()
        a.flat[0] = np.nan
        init.CopyFrom(numpy_helper.from_array(a, init.name))
    _onnx(base, "nan.onnx", nan)
    fails(base, ["run", "nan.onnx", "--input", "x.npy", "-o", "out.npy"], "nan.onnx", "NaN")
    fails(base, ["inspect", "nan.onnx"], "NaN")
    _onnx(base, "dom.onnx", lambda m: setattr(m.graph.node[0], "domain", "com.evil"))
    fails(base, ["inspect", "dom.onnx"], "custom operator domain 'com.evil'")

    def drop(m):
        keep = [p for p in m.metadata_props if p.key != "snnc.states"]
        del m.metadata_props[:]
        m.metadata_props.extend(keep)
    _onnx(base, "meta.onnx", drop)
    fails(base, ["run", "meta.onnx", "--input", "x.npy", "-o", "out.npy"], "metadata lacks 'snnc.states'")


def test_onnx_metadata_not_utf8(base):
    raw = (base / "m.onnx").read_bytes()
    j = raw.find(b"loop", raw.find(b"snnc.mode"))
    (base / "u.onnx").write_bytes(raw[:j] + b"\xff\xfeop" + raw[j + 4:])
    fails(base, ["inspect", "u.onnx"], "u.onnx", "metadata 'snnc.mode' is not valid UTF-8", outputs=())
    fails(base, ["run", "u.onnx", "--input", "x.npy", "-o", "out.npy"], "not valid UTF-8")


def test_energy_model_not_utf8_and_too_deep(base):
    (base / "e.json").write_bytes(b'{"name": "\xff\xfe"}')
    fails(base, ["report", "m.snn", "--input", "x.npy", "--energy-model", "e.json"], "e.json", "not UTF-8", outputs=())
    (base / "e.json").write_text('{"name": ' + "[" * 100_000 + "]" * 100_000 + "}")
    fails(base, ["report", "m.snn", "--input", "x.npy", "--energy-model", "e.json"], "nesting depth", outputs=())


def test_full_disk_is_one_line_and_leaves_nothing(base):
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, hard))  # as a full disk: writes past 2 KB fail (EFBIG)
    try:
        err = fails(base, ["compile", "m.pt", "-t", "numpy", "-o", "out.snn"], "cannot write out.snn", outputs=("out.snn",))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert "File too large" in err
