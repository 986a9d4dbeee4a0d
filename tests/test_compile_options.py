"""`snnc compile --dtype`, factories in the current directory, the quantize report's --label-output / --skip-steps,
and `snnc zoo --pretrained / --dataset`."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from snnc.compiler.serialize import load


@pytest.fixture
def srnn(run_snnc, tmp_path):
    run_snnc("zoo", "srnn", "-o", "m.pt", "--set", "sizes=[12,16,4]", "--set", "b0=0.1", check=True)
    x = (np.random.default_rng(0).random((40, 3, 12)) < 0.3).astype(np.float64)
    np.save(tmp_path / "x.npy", x)
    return tmp_path, x


def _torch_out(path, x):
    from snnc.frontends.modelfile import load_model
    m = load_model(str(path)).module.double().eval()
    with torch.no_grad():
        return m(torch.as_tensor(x)).numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compile_dtype_is_recorded_and_used(srnn, run_snnc, dtype):
    d, x = srnn
    run_snnc("compile", "m.pt", "-t", "numpy", "--dtype", dtype, "-o", "m.snn", check=True)
    assert load(d / "m.snn").meta["dtype"] == dtype
    run_snnc("run", "m.snn", "--input", "x.npy", "-o", "y.npy", check=True)  # no --dtype: the artifact's
    y = np.load(d / "y.npy")
    assert y.dtype == np.dtype(dtype)
    ref = _torch_out(d / "m.pt", x)
    if dtype == "float64":  # a float64 artifact is float64 PyTorch (only summation order may differ)
        np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)
    run_snnc("compile", "m.pt", "-t", "onnx", "--dtype", dtype, "-o", "m.onnx", check=True)
    run_snnc("run", "m.onnx", "--input", "x.npy", "-o", "yo.npy", check=True)
    yo = np.load(d / "yo.npy")
    assert yo.dtype == np.dtype(dtype)
    if dtype == "float64":
        np.testing.assert_allclose(yo, ref, rtol=1e-12, atol=1e-12)


def test_factory_in_current_directory_imports(run_snnc, tmp_path):
    (tmp_path / "mymodel.py").write_text(
        "from torch import nn\nfrom snnc.frontends import LIFLayer, LIReadout\n"
        "def build():\n    return nn.Sequential(LIFLayer(5, 7), LIReadout(7, 2))\n")
    p = run_snnc("compile", "mymodel:build", "-t", "numpy", "-o", "m.snn")
    assert p.returncode == 0, p.stderr
    assert load(tmp_path / "m.snn").nodes["0.fc"].W.shape == (7, 5)


@pytest.mark.usefixtures("memoryless")  # LI with alpha 0: output = input
def test_quantize_accuracy_scores_the_named_output_after_warmup(tmp_path):
    from snnc.compiler import Dense, Graph, Input, LI
    from snnc.compiler.passes.quantize import quantize
    from snnc.compiler.errors import SnncError
    # out2 copies the input classes exactly (identity Dense, no leak): accuracy 1 from step 0 on;
    # out1 is the same signal reversed, so it scores 0; the labels of step 0 are wrong on purpose
    g = Graph()
    g.add("x", Input(3, "graded"))
    g.add("d1", Dense.of(np.eye(3)[::-1]))
    g.add("o1", LI(alpha=np.zeros(3), gain=np.ones(3)))
    g.add("d2", Dense.of(np.eye(3)))
    g.add("o2", LI(alpha=np.zeros(3), gain=np.ones(3)))
    for a, b in [("x", "d1"), ("d1", "o1"), ("x", "d2"), ("d2", "o2")]:
        g.connect(a, b)
    g.outputs = ["o1", "o2"]
    rng = np.random.default_rng(0)
    cls = rng.integers(0, 3, (10, 4))
    cls[:, :] = np.where(cls == 1, 0, cls)  # classes 0 and 2 only: the reversed output never agrees
    x = np.eye(3)[cls]
    labels = cls.copy()
    labels[0] = 1  # step 0 is wrong for every output: --skip-steps 1 must leave it out
    q = quantize(g, "float16", x, labels, "o2", skip_steps=1)
    acc = q.meta["passes"][-1]["accuracy"]
    assert acc["output"] == "o2" and acc["before"] == 1.0 and acc["after"] == 1.0
    q = quantize(g, "float16", x, labels, "o2")
    assert q.meta["passes"][-1]["accuracy"]["before"] == pytest.approx(0.9)
    q = quantize(g, "float16", x, labels, skip_steps=1)
    assert q.meta["passes"][-1]["accuracy"]["output"] == "o1" and q.meta["passes"][-1]["accuracy"]["before"] == 0.0
    with pytest.raises(SnncError, match="'nope' is not a graph output"):
        quantize(g, "float16", x, labels, "nope")


def test_compile_label_options_via_cli(srnn, run_snnc):
    d, x = srnn
    np.save(d / "lab.npy", np.zeros((40, 3), np.int64))
    p = run_snnc("compile", "m.pt", "-t", "numpy", "--quantize", "int8", "--calib", "x.npy", "--labels", "lab.npy",
                 "--label-output", "readout.li", "--skip-steps", "5", "-o", "q.snn", check=True)
    assert "accuracy of 'readout.li', first 5 steps not scored" in p.stderr
    p = run_snnc("compile", "m.pt", "-t", "numpy", "--skip-steps", "5", "-o", "q.snn")
    assert p.returncode == 1 and "give --labels too" in p.stderr


def test_zoo_pretrained_copies_the_fixture(tmp_path, monkeypatch):
    from snnc.cli.main import main
    from snnc.frontends import zoo
    src = tmp_path / "fixtures"
    src.mkdir()
    (src / "ecg.pt").write_bytes(b"fixture bytes")
    monkeypatch.setattr(zoo, "PRETRAINED_DIR", src)
    assert main(["zoo", "ecg", "--pretrained", "-o", str(tmp_path / "e.pt")]) == 0
    assert (tmp_path / "e.pt").read_bytes() == b"fixture bytes"
    assert main(["zoo", "nosuch", "--pretrained", "-o", str(tmp_path / "n.pt")]) == 1
    assert main(["zoo", "digits-srnn", "--pretrained", "-o", str(tmp_path / "n.pt")]) == 1  # missing file: an error
    assert not (tmp_path / "n.pt").exists()


def test_zoo_dataset_writes_the_split(run_snnc, tmp_path):
    from snnc.frontends.datasets import load_dataset
    run_snnc("zoo", "digits-srnn", "--dataset", "test", "-o", "d.npz", check=True)
    x, y = load_dataset("digits-rows", "test")
    with np.load(tmp_path / "d.npz") as z:
        np.testing.assert_array_equal(z["x"], x)
        np.testing.assert_array_equal(z["y"], y)
        assert z["x"].shape[:2] == (8, 540)
