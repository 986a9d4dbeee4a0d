"""The trained fixtures (frontends/pretrained/): they load without unpickling code, keep their recorded accuracy on
their regenerated test split in PyTorch, spike at sane rates on real data and trace into the IR."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import snnc
from snnc.compiler.errors import SnncError
from snnc.frontends import zoo
from snnc.frontends.datasets import DATASETS, load_dataset, pixel_permutation

REPO = Path(__file__).resolve().parents[1]
NAMES = list(zoo.PRETRAINED)
MARGIN = 0.005  # accuracy may differ from the record by float rounding across machines, not more
# floors independent of the records, well above chance; ECG: the 85 % of issue 12 (seed 000 reports 85.9 %)
FLOOR = {"ecg": 0.85, "digits-srnn": 0.85, "digits-psrnn": 0.4, "digits-ltc": 0.85, "digits-spsn": 0.6,
         "digits-rc": 0.85, "ahp-memory": 0.9}
# evaluation subsets where a full test split would be slow (None: the whole split)
LIMIT = {"ecg": None}


def test_every_family_has_a_fixture():
    archs = {zoo.PRETRAINED[n].arch for n in zoo.PRETRAINED}
    assert {"srnn", "ltc", "spsn", "rc-lstm", "ahp"} <= archs
    assert {"ecg", "digits-srnn", "digits-psrnn", "digits-ltc", "digits-spsn", "digits-rc", "ahp-memory"} <= set(zoo.PRETRAINED)


@pytest.mark.parametrize("name", NAMES)
def test_fixture_files_are_small_self_describing_and_regenerable(name):
    path = zoo.pretrained_path(name)
    assert path.exists() and path.stat().st_size < 200_000, path
    doc = torch.load(path, map_location="cpu", weights_only=True)  # no code is unpickled
    assert doc["format"] == "snnc-model" and doc["arch"] == zoo.PRETRAINED[name].arch
    # the current format: checksummed (load_model checks it), the input kind and a graded input's range recorded
    # as the data has them (quantize(loihi) encodes the input from it without --calib)
    from snnc.frontends.modelfile import VERSION, checksum, load_model
    assert doc["version"] == VERSION == 2 and doc["checksum"] == checksum(doc["arch"], doc["config"], doc["state_dict"])
    lm = load_model(str(path))
    x = np.concatenate([load_dataset(name, s)[0].reshape(-1) for s in ("train", "test")])
    if np.all((x == 0) | (x == 1)):
        assert (lm.input_kind, lm.input_range) == ("spike", None)
    else:
        assert (lm.input_kind, lm.input_range) == ("graded", (float(x.min()), float(x.max())))
    info = zoo.pretrained_info(name)
    assert info["name"] == name and info["file_bytes"] == path.stat().st_size
    assert info["command"].startswith(".venv/bin/python " + zoo.PRETRAINED[name].recipe)
    assert (REPO / zoo.PRETRAINED[name].recipe).exists()
    assert info.get("train_cpu_seconds", info["train_seconds"]) < 30 * 60  # CPU time: the machine is shared


@pytest.mark.parametrize("name", NAMES)
def test_fixture_keeps_its_accuracy_and_spikes(name):
    model, cfg = zoo.load_pretrained(name)
    assert not model.training
    info = zoo.pretrained_info(name)
    ev = zoo.evaluate(model, name, "test", limit=LIMIT.get(name))
    assert ev["accuracy"] >= info["test_accuracy"] - MARGIN, (ev["accuracy"], info["test_accuracy"])
    assert ev["accuracy"] >= FLOOR[name], ev
    if zoo.PRETRAINED[name].arch == "rc-lstm":
        assert ev["spike_rate"] == {}  # an LSTM does not spike
        assert ev["mean_decision_steps"] < ev["steps"]  # it answers before the end of the sequence
        assert abs(ev["mean_decision_steps"] - info["mean_decision_steps"]) < 0.1
        return
    for layer, rate in ev["spike_rate"].items():  # real spikes on real data: neither silent nor saturated
        assert 0.001 < rate < 0.6, (layer, rate)
        assert abs(rate - info["spike_rate"][layer]) < 0.01, (layer, rate, info["spike_rate"][layer])


@pytest.mark.parametrize("name", NAMES)
def test_fixture_traces(name):
    model, cfg = zoo.load_pretrained(name)
    x, _ = load_dataset(name, "test")
    g = snnc.trace(model, torch.as_tensor(x[:, :1]))
    kinds = {type(n).__name__ for n in g.nodes.values()}
    want = {"srnn": {"ALIF"} if cfg.get("neuron") == "alif" else {"LIF"}, "ltc": {"LTC", "LTCReadout"},
            "spsn": {"SPSN", "LI"}, "rc-lstm": {"LSTM", "EarlyExit"}, "ahp": {"AHP", "LI"}}[zoo.PRETRAINED[name].arch]
    assert want <= kinds, kinds


def test_ecg_is_classified_on_the_membrane_of_a_spiking_alif_output():
    model, cfg = zoo.load_pretrained("ecg")
    assert cfg["sizes"] == [4, 36, 6] and cfg["output"] == "alif"
    out = model.readout
    assert type(out).__name__ == "ALIFLayer" and out.readout == "v" and not out.recurrent
    assert model.layer1.recurrent and getattr(model.layer1, "reset", "subtract") == "subtract"
    x, _ = load_dataset("ecg", "test")
    xb = torch.as_tensor(x[:300, :2])
    out.record = True
    with torch.no_grad():
        v = model(xb)
    np.testing.assert_array_equal(v.numpy(), out.trace["v"].numpy())
    assert out.trace["out"].sum() > 0  # the output layer spikes too: its reset and adaptation shape v


def test_readout_option_defaults_and_validation():
    from snnc.frontends.layers import ALIFLayer, LIFLayer
    torch.manual_seed(0)
    x = torch.rand(20, 2, 3)
    for cls in (ALIFLayer, LIFLayer):
        a = cls(3, 4, recurrent=True)
        assert a.readout == "spikes"
        b = cls(3, 4, recurrent=True, readout="v")
        b.load_state_dict(a.state_dict())
        a.record = True
        s = a(x)
        assert set(s.unique().tolist()) <= {0.0, 1.0}
        torch.testing.assert_close(b(x), a.trace["v"])
        with pytest.raises(ValueError, match="readout must be one of"):
            cls(3, 4, readout="spike")


def test_datasets_shapes_and_fixed_splits():
    shapes = {"ecg": (1301, 4), "digits-rows": (8, 8), "digits-pixels-permuted": (64, 1), "digits-latency": (16, 64),
              "delayed-cue": (60, 10)}
    assert set(shapes) == set(DATASETS)
    for name, (T, F) in shapes.items():
        x, y = load_dataset(name, "test")
        assert x.dtype == np.float32 and y.dtype == np.int64 and x.shape[0] == T and x.shape[2] == F
        assert y.shape == ((T, x.shape[1]) if name == "ecg" else (x.shape[1],))
        x2, y2 = load_dataset(name, "test")
        np.testing.assert_array_equal(x, x2)
    xe, ye = load_dataset("ecg", "test")
    assert set(np.unique(xe)) == {-1.0, 0.0, 1.0} and xe.shape[1] == 141 and ye.max() == 5
    tr, te = load_dataset("digits-rows", "train"), load_dataset("digits-rows", "test")
    assert tr[0].shape[1] + te[0].shape[1] == 1797 and te[0].shape[1] == 540
    p = pixel_permutation()
    assert sorted(p.tolist()) == list(range(64)) and p.tolist() != list(range(64))
    xp, _ = load_dataset("digits-pixels-permuted", "test")
    np.testing.assert_array_equal(xp[:, :, 0].T, te[0].transpose(1, 0, 2).reshape(-1, 64)[:, p])
    xl, _ = load_dataset("digits-latency", "test")
    assert xl.sum(0).max() == 1  # one spike per pixel at most


def test_dataset_errors_and_qtdb_location(monkeypatch, tmp_path):
    with pytest.raises(SnncError, match="unknown data set 'mnist'"):
        load_dataset("mnist")
    with pytest.raises(SnncError, match="split must be one of"):
        load_dataset("ecg", "valid")
    monkeypatch.setenv("SNNC_QTDB_DIR", str(tmp_path))
    with pytest.raises(SnncError, match="SNNC_QTDB_DIR"):
        load_dataset("ecg", "test")
    with pytest.raises(SnncError, match="unknown pretrained model 'nope'"):
        zoo.load_pretrained("nope")


def test_fused_bptt_equals_autograd():
    """The recipes train with examples/fused_bptt.py: same outputs and gradients as the layers' own forward."""
    sys.path.insert(0, str(REPO / "examples"))
    try:
        from fused_bptt import fused_forward
    finally:
        sys.path.pop(0)
    from snnc.frontends.layers import ALIFLayer, LIFLayer
    makers = [lambda: ALIFLayer(4, 7, recurrent=True, readout="v"), lambda: ALIFLayer(4, 7, recurrent=False, beta=0.0),
              lambda: LIFLayer(4, 7, recurrent=True, reset="subtract", theta=0.1),
              lambda: LIFLayer(4, 7, recurrent=True, reset="zero", theta=0.1, readout="v"),
              lambda: LIFLayer(4, 7, recurrent=False, reset="none", theta=0.1)]
    for make in makers:
        torch.manual_seed(1)
        layer = make().double()
        x = torch.randn(30, 3, 4, dtype=torch.float64) * 2
        w = torch.randn(30, 3, 7, dtype=torch.float64)
        ref = layer(x)
        (ref * w).sum().backward()
        grads = {k: p.grad.clone() for k, p in layer.named_parameters() if p.grad is not None}
        layer.zero_grad()
        out = fused_forward(layer, x)
        torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
        (out * w).sum().backward()
        for k, g in grads.items():
            torch.testing.assert_close(dict(layer.named_parameters())[k].grad, g, rtol=1e-9, atol=1e-12)
