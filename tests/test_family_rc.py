"""Rank-coded networks: EarlyExit decisions and times equal in PyTorch and NumPy, less work after early exits."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from snnc.compiler.errors import PrimitiveError, TraceError
from snnc.compiler.primitives import EarlyExit as EarlyExitNode
from snnc.frontends import trace
from snnc.frontends.layers import ALIFLayer, LIReadout
from snnc.frontends.rank_coding import rank_coding_loss
from snnc.frontends.rc_lstm import EarlyExit, LSTMLayer, RankCodedLSTM, first_crossing
from snnc.frontends.reference import prepare, torch_reference
from snnc.runtime.numpy.runtime import NumpyRuntime

T, B, F = 40, 8, 6


def _x(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (T, B, F))


def _theta_for_mixed_exits(module: nn.Module, x: np.ndarray) -> float:
    """A threshold that about half of the samples cross, at various steps, and the rest never do."""
    module.train()
    with torch.no_grad():
        conf = module(torch.as_tensor(x)).amax(-1).max(0).values.numpy()
    module.eval()
    return float(np.median(conf))


def _models() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {"lstm-softmax": RankCodedLSTM(F, 12, 3, readout="softmax", num_layers=2),
            "lstm-sigmoid": RankCodedLSTM(F, 12, 3, readout="sigmoid"),
            # a rank-coded spiking RNN: the recurrent delay buffers must follow the shrinking batch
            "srnn-exit": nn.Sequential(OrderedDict(l1=ALIFLayer(F, 16, recurrent=True), out=LIReadout(16, 3),
                                                   exit=EarlyExit(0.5)))}


@pytest.mark.parametrize("name", list(_models()))
def test_decisions_and_times_identical(name):
    module = prepare(_models()[name], "float64")
    x = _x()
    theta = _theta_for_mixed_exits(module, x)
    exit_mod = module.exit
    exit_mod.theta = theta
    graph = trace(module, torch.zeros(2, 1, F, dtype=torch.float64))
    ex = next(n for n, v in graph.nodes.items() if isinstance(v, EarlyExitNode))
    ref, _ = torch_reference(module, graph, x)
    outs, act = NumpyRuntime(graph, "float64").run(x)
    np.testing.assert_array_equal(outs[ex + ":decision"], ref[ex + ":decision"])
    np.testing.assert_array_equal(outs[ex + ":time"], ref[ex + ":time"])
    np.testing.assert_allclose(outs[ex], ref[ex], atol=1e-9, rtol=0)  # outputs held after each sample's exit
    times = ref[ex + ":time"]
    assert len(set(times.tolist())) >= 3 and (times == T - 1).any() and (times < T - 1).any(), times
    np.testing.assert_array_equal(act.steps, times + 1)


def test_early_exit_records_less_work_and_stops_the_sequence():
    module = prepare(_models()["lstm-softmax"], "float64")
    x = _x(1)
    module.exit.theta = 1.0  # never exits: the full sequence
    g_full = trace(module, torch.zeros(2, 1, F, dtype=torch.float64))
    _, full = NumpyRuntime(g_full, "float64").run(x)
    module.exit.theta = _theta_for_mixed_exits(module, x)
    g_exit = trace(module, torch.zeros(2, 1, F, dtype=torch.float64))
    _, early = NumpyRuntime(g_exit, "float64").run(x)
    assert full.steps.tolist() == [T] * B
    assert early.steps.sum() < full.steps.sum()
    lstm = "lstm.lstm0"
    assert early.nonzero[lstm].sum() < full.nonzero[lstm].sum()
    # per sample, no work is recorded after its exit step
    for b in range(B):
        assert early.nonzero[lstm][early.steps[b]:, b].sum() == 0
    module.exit.theta = 1e-3  # everyone decides at step 0: the runtime stops after one step
    rt = NumpyRuntime(trace(module, torch.zeros(2, 1, F, dtype=torch.float64)), "float64")
    outs, act = rt.run(x)
    assert rt.t == 1 and act.steps.tolist() == [1] * B and act.nonzero[lstm][1:].sum() == 0
    assert np.all(outs["exit"] == outs["exit"][0:1])


def test_first_crossing_and_rank_coding_loss_gradient_only_at_decision_step():
    probs = torch.tensor([[[0.5, 0.5], [0.6, 0.4]], [[0.9, 0.1], [0.55, 0.45]], [[0.2, 0.8], [0.3, 0.7]]],
                         dtype=torch.float64, requires_grad=True)  # [T=3, B=2, k=2]
    dec, time = first_crossing(probs.detach(), 0.8)
    assert time.tolist() == [1, 2] and dec.tolist() == [0, 1]  # sample 1 never crosses 0.8 strictly: last step
    loss = rank_coding_loss(probs, torch.tensor([0, 1]), 0.8)
    loss.backward()
    nz = probs.grad.abs().sum(-1) != 0
    assert nz.tolist() == [[False, False], [True, False], [False, True]]
    assert abs(float(loss.detach()) - float(-(np.log(0.9) + np.log(0.7)) / 2)) < 1e-12


def test_rank_coding_training_moves_decisions_earlier_and_right():
    torch.manual_seed(0)
    k, n = 3, 96
    y = torch.randint(0, k, (n,))
    x = torch.randn(20, n, k) * 0.5
    x[:, torch.arange(n), y] += 1.0  # the class is visible from the first step
    m = RankCodedLSTM(k, 16, k, theta=0.8)
    opt = torch.optim.Adam(m.parameters(), lr=0.03)
    for _ in range(40):
        opt.zero_grad()
        loss = rank_coding_loss(m(x), y, 0.8)
        loss.backward()
        opt.step()
    m.eval()
    with torch.no_grad():
        dec, time = first_crossing(m.exit.probabilities(m.fc(m.lstm(x))), 0.8)
    assert (dec == y).float().mean() > 0.9 and time.float().mean() < 5, (dec == y).float().mean()


def test_bad_theta_and_lstm_options_are_named():
    for th in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="theta must lie in"):
            EarlyExit(th)
        with pytest.raises(PrimitiveError, match="theta must lie in"):
            EarlyExitNode(3, th)
    EarlyExitNode(3, 1.0)  # 1 is allowed: never exits early
    for kw, word in [({"bidirectional": True}, "bidirectional=True"), ({"proj_size": 4}, "proj_size=4"),
                     ({"batch_first": True}, "batch_first=True")]:
        lstm = nn.LSTM(F, 8, **kw)
        m = nn.Sequential(LSTMLayer(F, 8, lstm=lstm), nn.Linear(16 if kw.get("bidirectional") else (4 if "proj_size" in kw else 8), 3),
                          EarlyExit(0.9))
        with pytest.raises(TraceError, match=word):
            trace(m, torch.zeros(2, 1, F))
