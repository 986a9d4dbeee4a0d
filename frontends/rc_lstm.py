"""Rank-coded LSTM of seed 001 (Jeffares et al. 2022): LSTM -> Linear -> softmax/sigmoid -> EarlyExit.

A rank-coded network answers as soon as it is confident: per sample, the first
step at which the readout's confidence max_k p_k exceeds theta fixes the
decision and the decision time (samples that never cross decide at the last
step). In training mode `EarlyExit` passes all probabilities through, for the
rank-coding loss (frontends/rank_coding.py); in eval mode it holds each sample's
output at its decision step, exactly what the NumPy runtime returns after it
stops computing that sample.
"""
from __future__ import annotations


import torch
from torch import nn

from snnc.compiler.errors import TraceError
from snnc.compiler.primitives import LSTM as LSTMNode, EarlyExit as EarlyExitNode
from snnc.compiler.primitives.rc import READOUTS
from snnc.frontends import zoo
from snnc.frontends.tracing import Builder, _np, register_converter


def first_crossing(probs: torch.Tensor, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(decision [B], decision time [B]) of probabilities [T, B, k]: the first t with max_k p > theta, else T−1."""
    T, B = probs.shape[:2]
    crossed = probs.amax(dim=-1) > theta  # [T, B]
    # argmax over a 0/1 tensor returns the first maximum (documented for torch.argmax)
    time = torch.where(crossed.any(0), crossed.to(torch.int64).argmax(0), torch.full((B,), T - 1, dtype=torch.int64))
    decision = probs[time, torch.arange(B)].argmax(-1)
    return decision, time


class LSTMLayer(nn.Module):
    """nn.LSTM on sequences [T, B, F] returning only the hidden states [T, B, n] (so it composes in nn.Sequential).

    Pass your own `lstm=` to convert it; snnc lowers unidirectional, time-first LSTMs without projections.
    """

    def __init__(self, in_features: int, hidden: int, num_layers: int = 1, *, lstm: nn.LSTM | None = None):
        super().__init__()
        self.lstm = lstm if lstm is not None else nn.LSTM(in_features, hidden, num_layers)
        self.in_features, self.out_features = self.lstm.input_size, self.lstm.hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x)[0]


class EarlyExit(nn.Module):
    """p = softmax(x) or sigmoid(x) per step; in eval mode each sample's p is held after its first crossing of theta."""

    def __init__(self, theta: float = 0.9, readout: str = "softmax"):
        super().__init__()
        if not (0.0 < float(theta) <= 1.0):
            raise ValueError(f"EarlyExit: theta must lie in (0, 1], got {theta}")
        if readout not in READOUTS:
            raise ValueError(f"EarlyExit: readout must be one of {', '.join(READOUTS)}, got {readout!r}")
        self.theta, self.readout = float(theta), readout
        self.record = False
        self.trace: dict[str, torch.Tensor] = {}

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, dim=-1) if self.readout == "softmax" else torch.sigmoid(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.probabilities(x)
        if self.training and not self.record:
            return p
        decision, time = first_crossing(p, self.theta)
        T = p.shape[0]
        hold = torch.minimum(torch.arange(T).view(T, 1), time.view(1, -1))  # [T, B]: the step whose value is shown
        held = p.gather(0, hold.unsqueeze(-1).expand_as(p))
        if self.record:
            self.trace = {"out": held.detach(), "decision": decision, "time": time}
        return p if self.training else held

    def extra_repr(self) -> str:
        return f"theta={self.theta}, readout={self.readout}"


class RankCodedLSTM(nn.Module):
    """LSTM -> Linear -> EarlyExit: the rank-coded recurrent classifier of seed 001."""

    def __init__(self, in_features: int, hidden: int, classes: int, *, theta: float = 0.9, readout: str = "softmax",
                 num_layers: int = 1, lstm: nn.LSTM | None = None):
        super().__init__()
        self.lstm = LSTMLayer(in_features, hidden, num_layers, lstm=lstm)
        self.fc = nn.Linear(self.lstm.out_features, classes)
        self.exit = EarlyExit(theta, readout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.exit(self.fc(self.lstm(x)))


@register_converter(LSTMLayer)
def _lstm(m: LSTMLayer, b: Builder, path: str, src: str) -> str:
    lstm = m.lstm
    bad = [f"{k}={v}" for k, v, ok in (("bidirectional", lstm.bidirectional, not lstm.bidirectional),
                                          ("proj_size", lstm.proj_size, lstm.proj_size == 0),
                                          ("batch_first", lstm.batch_first, not lstm.batch_first)) if not ok]
    if bad:
        raise TraceError(f"LSTM option(s) {', '.join(bad)} not supported: snnc lowers unidirectional LSTMs "
                         "without projection on time-first [T, B, F] sequences (batch_first=False)")
    out = src
    for k in range(lstm.num_layers):
        W_ih, W_hh = _np(getattr(lstm, f"weight_ih_l{k}")), _np(getattr(lstm, f"weight_hh_l{k}"))
        bias = (_np(getattr(lstm, f"bias_ih_l{k}")) + _np(getattr(lstm, f"bias_hh_l{k}"))) if lstm.bias else None
        name = f"{path}.lstm" if lstm.num_layers == 1 else f"{path}.lstm{k}"
        node = b.add(name, lambda: LSTMNode(W_ih, W_hh, bias if bias is not None else [0.0] * W_ih.shape[0]), path)
        b.connect(out, node)
        out = node
    return out


@register_converter(nn.LSTM)
def _plain_lstm(m: nn.LSTM, b: Builder, path: str, src: str) -> str:
    raise TraceError("nn.LSTM returns (output, (h, c)), which is not a sequence snnc can trace; wrap it as "
                     "snnc.frontends.rc_lstm.LSTMLayer(lstm=...) (time-first input, unidirectional, no proj_size)")


@register_converter(EarlyExit)
def _early_exit(m: EarlyExit, b: Builder, path: str, src: str) -> str:
    n = b.graph.nodes[src].size
    node = b.add(path, lambda: EarlyExitNode(n, m.theta, m.readout), path)
    b.connect(src, node)
    return node


def build_rc_lstm(cfg: dict) -> nn.Module:
    F, h, k = cfg["sizes"]
    m = RankCodedLSTM(F, h, k, theta=cfg["theta"], readout=cfg["readout"], num_layers=cfg["num_layers"])
    with torch.no_grad():  # an untrained readout is nearly uniform; a larger gain lets the reference model exit early
        m.fc.weight.mul_(float(cfg["readout_gain"]))
    return m


zoo.register_arch("rc-lstm", build_rc_lstm, {"sizes": [40, 64, 3], "theta": 0.5, "readout": "softmax", "num_layers": 1,
                                             "readout_gain": 12.0},
                  "rank-coded LSTM of seed 001, 40-64-3 with softmax readout and early exit at confidence > theta")
