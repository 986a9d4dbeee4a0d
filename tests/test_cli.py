"""The `snnc` CLI end to end, and its one-line errors for bad input (no traceback, no partial output)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.serialize import load


@pytest.fixture
def srnn(run_snnc, tmp_path):
    """A small SRNN zoo model and a spike input for it."""
    run_snnc("zoo", "srnn", "-o", "m.pt", "--set", "sizes=[30,16,16,4]", check=True)
    np.save(tmp_path / "x.npy", (np.random.default_rng(0).random((60, 3, 30)) < 0.2).astype(np.float32))
    return tmp_path


def one_line_error(p, *fragments):
    assert p.returncode != 0, p.stdout + p.stderr
    err = p.stderr.strip()
    assert "Traceback" not in err, err
    assert err.startswith("snnc: error: ") and len(err.splitlines()) == 1, err
    for f in fragments:
        assert f in err, err


def test_console_script_help_for_every_command():
    import subprocess
    exe = Path(sys.executable).parent / "snnc"
    assert exe.exists(), "the console script 'snnc' is not installed"
    for cmd in ["compile", "run", "verify", "inspect", "zoo", "report"]:
        p = subprocess.run([str(exe), cmd, "--help"], capture_output=True, text=True)
        assert p.returncode == 0 and "usage: snnc " + cmd in p.stdout, (cmd, p.stderr)


def test_done_when_path(run_snnc, tmp_path):
    """The issue's path: zoo srnn, compile, inspect, run, verify (full SHD size, x [T, B, 700] float32)."""
    np.save(tmp_path / "x.npy", (np.random.default_rng(0).random((50, 2, 700)) < 0.05).astype(np.float32))
    run_snnc("zoo", "srnn", "-o", "m.pt", check=True)
    run_snnc("compile", "m.pt", "-t", "numpy", "-o", "m.snn", check=True)
    p = run_snnc("inspect", "m.snn", check=True)
    assert "layer1.alif" in p.stdout and "ALIF" in p.stdout and "(delay 1)" in p.stdout
    run_snnc("run", "m.snn", "--input", "x.npy", "-o", "y.npy", check=True)
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (50, 2, 20) and y.dtype == np.float32 and np.isfinite(y).all()
    p = run_snnc("verify", "m.pt", "--targets", "numpy", check=True)
    assert "target numpy: PASS" in p.stdout and "spikes layer2.alif" in p.stdout


def test_run_matches_library(srnn, run_snnc):
    from snnc.runtime.numpy.runtime import NumpyRuntime
    run_snnc("compile", "m.pt", "-t", "numpy", "-o", "m.snn", check=True)
    run_snnc("run", "m.snn", "--input", "x.npy", "-o", "y.npy", "--dtype", "float64", "--activity", "a.npz", check=True)
    x = np.load(srnn / "x.npy")
    ref, act = NumpyRuntime(load(srnn / "m.snn"), "float64").run(x)
    np.testing.assert_array_equal(np.load(srnn / "y.npy"), ref["readout.li"])
    from snnc.compiler.activity import Activity
    assert Activity.load(srnn / "a.npz").nonzero["layer1.alif"].sum() == act.nonzero["layer1.alif"].sum()


def test_verify_with_given_input_and_float32(srnn, run_snnc):
    p = run_snnc("verify", "m.pt", "--targets", "numpy", "--input", "x.npy", "--dtype", "float32", check=True)
    assert "input x.npy [60, 3, 30], dtype float32" in p.stdout and "PASS" in p.stdout


def test_verify_fails_beyond_tolerance(srnn, run_snnc):
    """A tolerance nobody can meet (more than 100 % agreement) must exit non-zero."""
    p = run_snnc("verify", "m.pt", "--targets", "numpy", "--min-agreement", "100.01")
    assert p.returncode == 1 and "FAIL" in p.stdout


def test_inspect_dot_and_model(srnn, run_snnc):
    run_snnc("compile", "m.pt", "-t", "numpy", "-o", "m.snn", check=True)
    p = run_snnc("inspect", "m.snn", "--dot", check=True)
    assert p.stdout.startswith('digraph "m"') and "z^-1" in p.stdout
    p = run_snnc("inspect", "m.pt", check=True)
    assert "layer1.alif" in p.stdout


def test_factory_with_weights(srnn, run_snnc, tmp_path):
    (tmp_path / "mymodels.py").write_text(
        "from torch import nn\nfrom snnc.frontends import ALIFLayer, LIReadout\n"
        "def make():\n    return nn.Sequential(ALIFLayer(30, 8, recurrent=True), LIReadout(8, 3))\n")
    import torch
    import importlib.util
    spec = importlib.util.spec_from_file_location("mymodels", tmp_path / "mymodels.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.save(mod.make().state_dict(), tmp_path / "sd.pt")
    import os
    os.environ["PYTHONPATH"] = str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", "")
    try:
        run_snnc("compile", "mymodels:make", "--weights", "sd.pt", "-t", "numpy", "-o", "f.snn", check=True)
        g = load(tmp_path / "f.snn")
        np.testing.assert_array_equal(g.nodes["0.fc"].W, torch.load(tmp_path / "sd.pt")["0.fc.weight"].double().numpy())
        p = run_snnc("compile", "mymodels:nothere", "-t", "numpy", "-o", "g.snn")
        one_line_error(p, "has no callable 'nothere'")
        p = run_snnc("compile", "mymodels:make", "--weights", "m.pt", "-t", "numpy", "-o", "g.snn")
        one_line_error(p, "weights do not fit the model")
        assert not (tmp_path / "g.snn").exists()
    finally:
        os.environ["PYTHONPATH"] = os.environ["PYTHONPATH"].split(os.pathsep, 1)[1]


def test_model_file_loads_with_weights_only(srnn):
    import torch
    doc = torch.load(srnn / "m.pt", weights_only=True)
    assert doc["format"] == "snnc-model" and doc["arch"] == "srnn" and doc["config"]["sizes"] == [30, 16, 16, 4]


@pytest.mark.parametrize("case", ["missing", "truncated", "corrupt", "text"])
def test_bad_model_and_snn_files(srnn, run_snnc, case):
    src = (srnn / "m.pt").read_bytes()
    run_snnc("compile", "m.pt", "-t", "numpy", "-o", "m.snn", check=True)
    snn = (srnn / "m.snn").read_bytes()
    content = {"missing": None, "truncated": (src[: len(src) // 2], snn[: len(snn) // 2]),
               "corrupt": (src[:100] + bytes(200) + src[300:], snn[:60] + bytes(100) + snn[160:]),
               "text": (b"not a model", b"not a graph")}[case]
    if content is not None:
        (srnn / "bad.pt").write_bytes(content[0])
        (srnn / "bad.snn").write_bytes(content[1])
    p = run_snnc("compile", "bad.pt", "-t", "numpy", "-o", "out.snn")
    one_line_error(p, "bad.pt")
    p = run_snnc("run", "bad.snn", "--input", "x.npy", "-o", "y.npy")
    one_line_error(p, "bad.snn")
    assert not (srnn / "out.snn").exists() and not (srnn / "y.npy").exists()


@pytest.mark.parametrize("shape, dtype, fragment", [
    ((60, 30), np.float32, "expected rank 3 [T, B, 30], got shape (60, 30)"),
    ((60, 3, 31), np.float32, "expected [T, B, 30] features, got shape (60, 3, 31)"),
    ((60, 3, 30), np.complex64, "dtype complex64 is not numeric"),
])
def test_bad_input_arrays(srnn, run_snnc, shape, dtype, fragment):
    run_snnc("compile", "m.pt", "-t", "numpy", "-o", "m.snn", check=True)
    np.save(srnn / "bad.npy", np.zeros(shape, dtype))
    p = run_snnc("run", "m.snn", "--input", "bad.npy", "-o", "y.npy")
    one_line_error(p, fragment)
    assert not (srnn / "y.npy").exists()


def test_nan_weights_unknown_target_unknown_module(srnn, run_snnc, tmp_path):
    import torch
    doc = torch.load(srnn / "m.pt", weights_only=True)
    doc["state_dict"]["layer1.fc.weight"][0, 0] = float("nan")
    from snnc.frontends.modelfile import checksum  # a NaN the file's checksum agrees with: trained, not corrupted
    doc["checksum"] = checksum(doc["arch"], doc["config"], doc["state_dict"])
    torch.save(doc, srnn / "nan.pt")
    p = run_snnc("compile", "nan.pt", "-t", "numpy", "-o", "nan.snn")
    one_line_error(p, "node 'layer1.fc' (Dense): parameter 'W' has NaN at index (0, 0)")
    assert not (srnn / "nan.snn").exists()
    p = run_snnc("compile", "m.pt", "-t", "tpu", "-o", "t.snn")
    one_line_error(p, "unknown target 'tpu'", "numpy")
    (tmp_path / "odd.py").write_text("from torch import nn\ndef make():\n    return nn.Sequential(nn.Linear(4, 4), nn.GRU(4, 4))\n")
    import os
    env_pp = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = str(tmp_path) + os.pathsep + env_pp
    try:
        p = run_snnc("compile", "odd:make", "-t", "numpy", "-o", "o.snn")
        one_line_error(p, "unsupported module '1' (torch.nn.modules.rnn.GRU)")
    finally:
        os.environ["PYTHONPATH"] = env_pp


def test_unknown_zoo_and_debug_traceback(run_snnc):
    p = run_snnc("zoo", "hopfield", "-o", "h.pt")
    one_line_error(p, "unknown zoo model 'hopfield'", "srnn")
    p = run_snnc("--debug", "zoo", "hopfield", "-o", "h.pt")
    assert "Traceback" in p.stderr


def test_named_inputs_in_npz_feed_noise(run_snnc, tmp_path):
    """A stochastic model: the noise comes in an .npz by input name; the same noise gives the same outputs."""
    run_snnc("zoo", "spsn", "-o", "s.pt", check=True)
    run_snnc("compile", "s.pt", "-t", "numpy", "-o", "s.snn", check=True)
    g = load(tmp_path / "s.snn")
    noise = [n for n in g.inputs if n.endswith(".noise")]
    assert noise, g.inputs
    r = np.random.default_rng(3)
    arrays = {n: (r.random((20, 2, g.nodes[n].size)) < 0.2).astype(np.float32) if n not in noise
              else r.random((20, 2, g.nodes[n].size)) for n in g.inputs}
    np.savez(tmp_path / "x.npz", **arrays)
    run_snnc("run", "s.snn", "--input", "x.npz", "-o", "y1.npy", check=True)
    arrays[noise[0]] = r.random(arrays[noise[0]].shape)
    np.savez(tmp_path / "x2.npz", **arrays)
    run_snnc("run", "s.snn", "--input", "x2.npz", "-o", "y2.npy", check=True)
    p = run_snnc("run", "s.snn", "--input", "x.npz", "-o", "y3.npy", check=True)
    assert "warning" not in p.stderr  # all noise given: nothing drawn
    y1, y2, y3 = (np.load(tmp_path / f) for f in ("y1.npy", "y2.npy", "y3.npy"))
    np.testing.assert_array_equal(y1, y3)
    assert not np.array_equal(y1, y2)
    p = run_snnc("verify", "s.pt", "--input", "x.npz", check=True)
    assert "PASS" in p.stdout and "drew uniform noise" not in p.stdout
    p = run_snnc("run", "s.snn", "--input", "s.pt", "-o", "y4.npy")
    one_line_error(p, "not an .npz of arrays")


def test_verify_onnx_compares_whole_spike_trains(srnn, run_snnc):
    p = run_snnc("verify", "m.pt", "--targets", "onnx", "--input", "x.npy", check=True)
    assert "target onnx: PASS" in p.stdout
    assert "  ok  spikes layer1.alif" in p.stdout and "spike counts" not in p.stdout, p.stdout


def test_verify_checks_the_lava_environment_first(srnn, run_snnc, monkeypatch):
    monkeypatch.setenv("SNNC_LAVA_PYTHON", str(srnn / "no-such-python"))
    p = run_snnc("verify", "m.pt", "--targets", "numpy,loihi")
    one_line_error(p, "SNNC_LAVA_PYTHON", "make setup")
    assert p.stdout == ""  # nothing ran before the check


def test_onnx_done_when_chain_and_errors(srnn, run_snnc):
    """Issue 5's path through the CLI, and its bad inputs: an opset too old, a file onnxruntime refuses."""
    run_snnc("compile", "m.pt", "-t", "onnx", "-o", "m.onnx", check=True)
    run_snnc("run", "m.onnx", "--input", "x.npy", "-o", "y.npy", check=True)
    run_snnc("compile", "m.pt", "-t", "numpy", "-o", "m.snn", check=True)
    run_snnc("run", "m.snn", "--input", "x.npy", "-o", "ys.npy", check=True)
    np.testing.assert_allclose(np.load(srnn / "y.npy"), np.load(srnn / "ys.npy"), atol=1e-5)
    p = run_snnc("verify", "m.pt", "--targets", "numpy,onnx", check=True)
    assert "target onnx: PASS" in p.stdout
    p = run_snnc("inspect", "m.onnx", check=True)
    assert "MACs" in p.stdout or "MAC" in p.stdout, p.stdout
    p = run_snnc("compile", "m.pt", "-t", "onnx", "--opset", "11", "-o", "old.onnx")
    one_line_error(p, "opset 11 is too old")
    assert not (srnn / "old.onnx").exists()
    (srnn / "junk.onnx").write_bytes((srnn / "m.onnx").read_bytes()[:500])
    p = run_snnc("run", "junk.onnx", "--input", "x.npy", "-o", "j.npy")
    one_line_error(p, "junk.onnx")
    assert not (srnn / "j.npy").exists()


def test_more_user_errors_are_one_line(srnn, run_snnc, tmp_path):
    (tmp_path / "adir").mkdir()
    one_line_error(run_snnc("compile", "m.pt", "-t", "numpy", "-o", "adir"), "cannot write adir: it is a directory")
    one_line_error(run_snnc("verify", "m.pt", "--steps", "-3"), "--steps > 0")
    one_line_error(run_snnc("zoo", "srnn", "--set", "sizes=[3]", "-o", "b.pt"), "sizes must be a list of at least 3")
    (tmp_path / "broken.py").write_text("def make():\n    raise ValueError('no such layer size')\n")
    import os
    env_pp = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = str(tmp_path) + os.pathsep + env_pp
    try:
        one_line_error(run_snnc("compile", "broken:make", "-t", "numpy", "-o", "b.snn"),
                       "model 'broken:make': the factory raised ValueError: no such layer size")
    finally:
        os.environ["PYTHONPATH"] = env_pp


def test_run_seed_draws_different_noise(run_snnc, tmp_path):
    run_snnc("zoo", "spsn", "-o", "s.pt", check=True)
    run_snnc("compile", "s.pt", "-t", "numpy", "-o", "s.snn", check=True)
    run_snnc("compile", "s.pt", "-t", "onnx", "-o", "s.onnx", check=True)
    np.save(tmp_path / "x.npy", (np.random.default_rng(0).random((20, 2, 40)) < 0.2).astype(np.float32))
    for art in ("s.snn", "s.onnx"):
        run_snnc("run", art, "--input", "x.npy", "-o", f"{art}.0.npy", check=True)
        p = run_snnc("run", art, "--input", "x.npy", "--seed", "7", "-o", f"{art}.7.npy", check=True)
        assert "default_rng(seed=7)" in p.stderr
        assert not np.array_equal(np.load(tmp_path / f"{art}.0.npy"), np.load(tmp_path / f"{art}.7.npy"))
    np.testing.assert_allclose(np.load(tmp_path / "s.snn.7.npy"), np.load(tmp_path / "s.onnx.7.npy"), atol=1e-5)


def test_report_on_a_stochastic_model_takes_a_plain_array(run_snnc, tmp_path):
    run_snnc("zoo", "spsn", "-o", "s.pt", check=True)
    run_snnc("compile", "s.pt", "-t", "numpy", "-o", "s.snn", check=True)
    np.save(tmp_path / "x.npy", (np.random.default_rng(0).random((20, 2, 40)) < 0.2).astype(np.float32))
    p = run_snnc("report", "s.snn", "--input", "x.npy", "--seed", "3", check=True)
    assert "default_rng(seed=3)" in p.stderr and "layer1.spsn" in p.stdout
