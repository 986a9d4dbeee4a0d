"""`snnc verify --dataset`: exact shard counts that merge by addition, per-target accuracy, quantized models,
.snn models, and targets that cannot run a graph saying so."""
from __future__ import annotations

import numpy as np
import pytest

from factories_verify import ecg_data, ecg_model
from snnc.compiler.evaluate import Counts, Job, evaluate_shard, shards
from snnc.compiler.targets import get_target


@pytest.fixture(scope="module")
def ecg(tmp_path_factory):
    d = tmp_path_factory.mktemp("ecg")
    ecg_model(d / "ecg.pt")
    x, y = ecg_data(8, 300)
    np.savez(d / "ecg_test.npz", x=x, y=y)
    return d, x, y


def _graph(path, x):
    import argparse
    from snnc.cli.commands import model_graph
    return model_graph(argparse.Namespace(model=str(path), input_kind=None), "float64", x)[0]


def test_shard_counts_merge_exactly(ecg):
    d, x, y = ecg
    g = _graph(d / "ecg.pt", x)
    g2 = g.copy()  # a target that diverges: one recurrent weight perturbed
    rec = next(n for n in g.nodes if n.endswith(".rec"))
    W = g.nodes[rec].W.copy()
    W[0, 0] += 0.5
    g2.nodes[rec] = g.nodes[rec].replace(W=W)
    job = Job(reference=g, graph=g2, run=get_target("numpy").run_graph, x=x, y=y, label_output=g.outputs[0])
    whole = evaluate_shard(job, np.arange(8))
    parts = sum((evaluate_shard(job, i) for i in shards(8, 3)), Counts())
    assert parts == whole and whole.samples == 8 and whole.scored == 300 * 8
    assert whole.first is not None and whole.flips > 0  # the perturbation shows


def test_verify_dataset_prints_accuracy_per_target(ecg, run_snnc):
    d, x, y = ecg
    p = run_snnc("verify", str(d / "ecg.pt"), "--targets", "numpy,onnx,loihi", "--dataset", str(d / "ecg_test.npz"),
                 "--slow-samples", "2", "--skip-steps", "10")
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    for t in ("pytorch", "numpy", "onnx", "loihi"):
        assert f"PASS {t}" in out, out
    assert "first 2 samples" in out and "reference: the float graph on the NumPy runtime" in out
    # the first 300 steps hold no −1 (binary data would say spike), but the fixture's model file records graded
    assert "input kinds: input graded (model file)" in out, out


def test_verify_quantized_dataset(ecg, run_snnc):
    d, x, y = ecg
    p = run_snnc("verify", str(d / "ecg.pt"), "--targets", "numpy,loihi", "--quantize", "loihi", "--dataset",
                 str(d / "ecg_test.npz"), "--slow-samples", "2", "--max-drop", "100")
    assert "numpy (loihi)" in p.stdout and "loihi (loihi)" in p.stdout, p.stdout + p.stderr
    assert "vs the NumPy integer runtime: bit-exact" in p.stdout, p.stdout
    assert p.returncode == 0, p.stdout + p.stderr
    p = run_snnc("verify", str(d / "ecg.pt"), "--targets", "onnx", "--quantize", "loihi", "--dataset",
                 str(d / "ecg_test.npz"), "--max-drop", "100")
    assert p.returncode == 1 and "CANNOT RUN the loihi-quantized graph" in p.stdout, p.stdout + p.stderr


def test_verify_takes_snn_and_nir_models(ecg, run_snnc):
    d, x, y = ecg
    run_snnc("compile", str(d / "ecg.pt"), "-t", "numpy", "--input-kind", "graded", "-o", "ecg.snn", check=True)
    p = run_snnc("verify", "ecg.snn", "--targets", "numpy,onnx", "--dataset", str(d / "ecg_test.npz"))
    assert p.returncode == 0 and "PASS onnx" in p.stdout and "pytorch" not in p.stdout, p.stdout + p.stderr
    np.save(d / "x.npy", x[:, :2])
    p = run_snnc("verify", "ecg.snn", "--targets", "onnx", "--input", str(d / "x.npy"))
    assert p.returncode == 0 and "target onnx: PASS" in p.stdout, p.stdout + p.stderr


def test_dataset_file_errors(run_snnc, tmp_path, ecg):
    d, x, y = ecg
    np.savez(tmp_path / "bad.npz", x=x, y=y[:, :3])
    p = run_snnc("verify", str(d / "ecg.pt"), "--dataset", "bad.npz")
    assert p.returncode == 1 and "y must be [N] = [8] or [T, N] = [300, 8]" in p.stderr, p.stderr
