"""Fuzz suite, .nir part (issue 15): the HDF5 content of NIR files mutated (tests/nir_fuzzing.py), through the CLI.

Two base files: snnc's own export of a recurrent LIF network (subgraphs, metadata, an implicit delay) and a
hand-built graph with every NIR node type snnc imports. Each mutated file goes through `snnc inspect`, `run` or
`compile`: exit 0 or 1, one `snnc: error:` line naming the file when it fails, no output file unless it succeeds,
bounded time and memory (tests/fuzzing.py). SNNC_FUZZ_EXAMPLES=N runs N cases per test.
"""
from __future__ import annotations

from pathlib import Path

import nir  # the nir extra is part of the main environment; a missing package fails here, never skips
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import Workdir, byte_edit, fuzz_settings, snnc
from nir_fuzzing import hdf5_edit

DT = "0.001"


def _rich() -> nir.NIRGraph:
    """Input (1, 2, 6, 6) -> Conv2d -> CubaLIF -> SumPool2d -> Flatten -> Affine -> LIF (recurrent via Linear) ->
    Delay -> Scale -> CubaLI, and LIF -> Linear -> LI -> Threshold; tau in ms at dt 1 ms."""
    rng = np.random.default_rng(0)
    r = lambda *s: rng.normal(0, 1, s)  # noqa: E731
    one = lambda n, v=1.0: np.full(n, v)  # noqa: E731
    nodes = {
        "x": nir.Input(np.array([1, 2, 6, 6])),
        "conv": nir.Conv2d(np.array([6, 6]), r(3, 2, 3, 3), 1, 1, 1, 1, r(3)),
        "cuba": nir.CubaLIF(one((3, 6, 6), 5e-3), one((3, 6, 6), 1e-2), one((3, 6, 6)), one((3, 6, 6), 0.0),
                            one((3, 6, 6), 0.5), one((3, 6, 6), 0.0), one((3, 6, 6), 2.0)),
        "pool": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
        "flat": nir.Flatten({"input": np.array([3, 3, 3])}, 0, -1),
        "fc": nir.Affine(r(5, 27), r(5)),
        "lif": nir.LIF(one(5, 4e-3), one(5), one(5, 0.0), one(5, 0.4), one(5, 0.0)),
        "rec": nir.Linear(r(5, 5)),
        "delay": nir.Delay(one(5, 2e-3)),
        "scale": nir.Scale(r(5)),
        "li": nir.CubaLI(one(5, 3e-3), one(5, 6e-3), one(5), one(5, 0.1), one(5)),
        "ro": nir.Linear(r(2, 5)),
        "mem": nir.LI(one(2, 5e-3), one(2), one(2, 0.0)),
        "thr": nir.Threshold(one(2, 0.2)),
        "y": nir.Output(np.array([5])), "z": nir.Output(np.array([2])),
    }
    edges = [("x", "conv"), ("conv", "cuba"), ("cuba", "pool"), ("pool", "flat"), ("flat", "fc"), ("fc", "lif"),
             ("lif", "rec"), ("rec", "lif"), ("lif", "delay"), ("delay", "scale"), ("scale", "li"), ("li", "y"),
             ("lif", "ro"), ("ro", "mem"), ("mem", "thr"), ("thr", "z")]
    return nir.NIRGraph(nodes, edges, type_check=False)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fuzznir")
    assert snnc(["zoo", "lif-srnn", "-o", "l.pt", "--set", "sizes=[8,6,3]"], d)[0] == 0
    assert snnc(["compile", "l.pt", "-t", "nir", "-o", "snnc.nir"], d)[0] == 0
    nir.write(d / "rich.nir", _rich())
    rng = np.random.default_rng(1)
    np.save(d / "snnc.npy", (rng.random((5, 2, 8)) < 0.3).astype(np.float32))
    np.save(d / "rich.npy", (rng.random((5, 2, 72)) < 0.3).astype(np.float32))
    for f in ("snnc", "rich"):  # the base files themselves compile and run (the mutations start from valid files)
        for argv in _commands(f):
            assert snnc(argv(f"{f}.nir"), d, ("out.npy", "out.snn"))[0] == 0, argv(f"{f}.nir")
    return d


def _commands(f: str) -> list:
    return [lambda p: ["inspect", p, "--dt", DT],
            lambda p: ["run", p, "--input", f"{f}.npy", "--dt", DT, "-o", "out.npy"],
            lambda p: ["compile", p, "-t", "numpy", "-o", "out.snn", "--dt", DT]]


def _case(base: Path, which: str, bad: bytes, k: int) -> None:
    with Workdir(base) as w:
        (w / "bad.nir").write_bytes(bad)
        (w / f"{which}.npy").write_bytes((base / f"{which}.npy").read_bytes())
        argv = _commands(which)[k]("bad.nir")
        rc, err = snnc(argv, w, ("out.npy", "out.snn"))
        if rc == 1:
            assert "bad.nir" in err or f"{which}.npy" in err, f"snnc {' '.join(argv)}: the message names no file: {err}"


@fuzz_settings(120)
@given(st.data())
def test_fuzz_nir_hdf5_content(base, data):
    which = data.draw(st.sampled_from(["snnc", "rich"]))
    raw = (base / f"{which}.nir").read_bytes()
    bad = data.draw(hdf5_edit(raw))
    _case(base, which, bad, data.draw(st.integers(0, 2)))


@fuzz_settings(40)
@given(st.data())
def test_fuzz_nir_bytes(base, data):
    """Byte-level faults anywhere in the file (superblock and object headers included)."""
    which = data.draw(st.sampled_from(["snnc", "rich"]))
    bad = data.draw(byte_edit((base / f"{which}.nir").read_bytes()))
    _case(base, which, bad, data.draw(st.integers(0, 2)))
