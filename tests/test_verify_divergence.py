"""verify cannot be fooled: real divergences injected into a target (a perturbed weight, a flipped input sign,
a wrong decay, a spiking layer left unrecorded) make it fail, naming where the target diverged."""
from __future__ import annotations

import numpy as np
import pytest

from factories_verify import ecg_data, ecg_model
from snnc.backends.onnx import target as onnx_target
from snnc.cli.main import main


@pytest.fixture(scope="module")
def ecg(tmp_path_factory):
    d = tmp_path_factory.mktemp("ecg")
    ecg_model(d / "ecg.pt")
    x, y = ecg_data(6, 200)
    np.savez(d / "ecg_test.npz", x=x, y=y)
    np.save(d / "x.npy", x[:, :3])
    return d


def _perturb_weight(g, x):
    n = next(n for n in g.nodes if n.endswith(".rec"))
    W = g.nodes[n].W.copy()
    W[3, 5] += 0.3 * np.abs(W).max()
    g.nodes[n] = g.nodes[n].replace(W=W)
    return g, x


def _flip_input_sign(g, x):
    x = np.array(x)
    x[..., 0] = -x[..., 0]  # one channel's sign flipped (the input is declared graded, so −1 is a valid value)
    return g, x


def _wrong_decay(g, x):
    n = next(n for n in g.nodes if type(g.nodes[n]).__name__ == "LIF")
    alpha = g.nodes[n].alpha.copy()
    alpha[:4] *= 0.9
    g.nodes[n] = g.nodes[n].replace(alpha=alpha)
    return g, x


INJECT = {"weight": _perturb_weight, "input sign": _flip_input_sign, "decay": _wrong_decay}


def _broken_onnx(monkeypatch, how):
    real = onnx_target.run_graph

    def run_graph(graph, x, options):
        g = graph.copy()
        if how == "record":  # runs right, but returns no spikes of the hidden layer
            outs, act = real(g, x, options)
            act.traces = {n: t for n, t in act.traces.items() if not n.endswith(".lif")}
            act.nonzero = {n: v for n, v in act.nonzero.items() if not n.endswith(".lif")}
            return outs, act
        g, x = INJECT[how](g, x)
        return real(g, x, options)
    monkeypatch.setattr(onnx_target, "run_graph", run_graph)


@pytest.mark.parametrize("how", [*INJECT, "record"])
def test_dataset_verify_fails_on_an_injected_divergence(ecg, monkeypatch, capsys, how):
    args = ["verify", str(ecg / "ecg.pt"), "--targets", "numpy,onnx", "--dataset", str(ecg / "ecg_test.npz"),
            "--input-kind", "graded"]
    assert main(args) == 0
    capsys.readouterr()
    _broken_onnx(monkeypatch, how)
    assert main(args) == 1
    out = capsys.readouterr().out
    onnx_line = next(line for line in out.splitlines() if " onnx " in line)
    assert onnx_line.lstrip().startswith("FAIL"), out
    assert "PASS numpy" in out
    if how == "record":
        assert "NOT RECORDED: layer1.lif" in onnx_line, out
    else:
        assert "first divergence" in out and "step " in onnx_line, out


@pytest.mark.parametrize("how", [*INJECT, "record"])
def test_single_input_verify_fails_on_an_injected_divergence(ecg, monkeypatch, capsys, how):
    _broken_onnx(monkeypatch, how)
    assert main(["verify", str(ecg / "ecg.pt"), "--targets", "onnx", "--input", str(ecg / "x.npy"), "--input-kind", "graded"]) == 1
    out = capsys.readouterr().out
    assert "target onnx: FAIL" in out, out
    if how == "record":
        assert "BAD spikes layer1.lif" in out and "NOT RECORDED" in out, out
