"""NumPy step kernels of the seed-family primitives (LTC, LTCReadout, AHP, SPSN, LSTM, EarlyExit).

Same contract as the kernels in numpy_backend: parameters cast to the program
dtype, states [B, n] updated in place, summed inputs per port [B, in]. The order
of floating-point operations follows the PyTorch layers in snnc.frontends, so
float64 runs agree to rounding.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from snnc.backends.numpy.lower import PREPARE, default_params, kernel
from snnc.compiler.primitives import AHP, LSTM, LTC, SPSN, EarlyExit, LTCReadout


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # torch's formula, so Bernoulli draws u < σ(v) agree bit for bit; exp overflow gives the right limit 0
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _spike(x: np.ndarray) -> np.ndarray:
    return (x > 0).astype(x.dtype)


def _gate(W_t: np.ndarray, b: np.ndarray, I: np.ndarray, state: np.ndarray) -> np.ndarray:
    """σ(W·[I, state] + b) with W given transposed [2n, n]."""
    return _sigmoid(np.concatenate([I, state], axis=1) @ W_t + b)


@kernel(LTC)
def _ltc(p, st, inp):
    I, s_prev, b_old = inp["in"], st["s"], st["b"]
    a = _gate(p.Wa_t, p.ba, I, st["v"])
    r = _gate(p.Wr_t, p.br, I, b_old)
    b = r * b_old + (1 - r) * s_prev
    B = p.b0 + p.beta * b
    v = (1 - a) * st["v"] + a * I
    s = _spike(v - B)
    st["b"], st["v"], st["s"] = b, v * (1 - s), s
    return s


@kernel(LTCReadout)
def _ltc_readout(p, st, inp):
    I = inp["in"]
    a = _gate(p.Wa_t, p.ba, I, st["v"])
    st["v"] = (1 - a) * st["v"] + a * I
    return st["v"]


def _prepare_gates(node, dtype: np.dtype) -> SimpleNamespace:
    p = default_params(node, dtype)
    p.Wa_t = np.ascontiguousarray(p.Wa.T)
    if hasattr(p, "Wr"):
        p.Wr_t = np.ascontiguousarray(p.Wr.T)
    return p


PREPARE[LTC] = PREPARE[LTCReadout] = _prepare_gates


@kernel(AHP)
def _ahp(p, st, inp):
    aux = p.alpha_aux * st["aux"] + p.w_ahp * st["s"]
    v = p.alpha * st["v"] + p.gain * inp["in"] + aux
    s = _spike(v - p.theta)
    st["aux"], st["v"], st["s"] = aux, v * (1 - s), s
    return s


@kernel(SPSN)
def _spsn(p, st, inp):
    i = p.alpha * st["i"] + inp["in"]
    v = p.beta * st["v"] + (1 - p.beta) * i
    st["i"], st["v"] = i, v
    if p.stochastic:
        return (inp["noise"] < _sigmoid(v)).astype(v.dtype)
    return _spike(v)


@kernel(LSTM)
def _lstm(p, st, inp):
    z = inp["in"] @ p.W_ih_t + st["h"] @ p.W_hh_t + p.b
    n = st["h"].shape[1]
    i, f, g, o = _sigmoid(z[:, :n]), _sigmoid(z[:, n:2 * n]), np.tanh(z[:, 2 * n:3 * n]), _sigmoid(z[:, 3 * n:])
    c = f * st["c"] + i * g
    h = o * np.tanh(c)
    st["c"], st["h"] = c, h
    return h


def _prepare_lstm(node: LSTM, dtype: np.dtype) -> SimpleNamespace:
    p = default_params(node, dtype)
    p.W_ih_t, p.W_hh_t = np.ascontiguousarray(p.W_ih.T), np.ascontiguousarray(p.W_hh.T)
    return p


PREPARE[LSTM] = _prepare_lstm


def readout(x: np.ndarray, kind: str) -> np.ndarray:
    """Softmax over features (max-shifted) or elementwise sigmoid, as EarlyExit applies it."""
    if kind == "sigmoid":
        return _sigmoid(x)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@kernel(EarlyExit)
def _early_exit(p, st, inp):
    # which samples cross theta is decided by the runtime from this output (it owns the batch bookkeeping)
    return readout(inp["in"], p.readout)
