"""NumPy integer kernels of snnc's fixed-point LTC and LTCReadout (compiler/primitives/fixed_ltc.py).

The step arithmetic lives in fixed_ltc (ltc_step, readout_step) so that Lava's
fixed_pt models (backends/lava_procs/ltc.py) run the very same integer code.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from snnc.backends.numpy.lower import PREPARE, default_params, kernel
from snnc.compiler.primitives.fixed_ltc import LoihiLTC, LoihiLTCReadout, ltc_step, readout_step

ACT_SHIFT = VTH_SHIFT = 6


def _shift(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    """x << e, or arithmetic x >> −e where e is negative (Lava's scale_bias)."""
    return np.where(e >= 0, np.left_shift(x, np.maximum(e, 0)), np.right_shift(x, np.maximum(-e, 0)))


def input_current(a_in: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """I = (a_in << 6) + bias in voltage units (int64); a_in arrives as floats or ints and truncates toward zero."""
    a = a_in if a_in.dtype == np.int64 else a_in.astype(np.int64)
    return (a << ACT_SHIFT) + bias


def prepare(node, dtype) -> SimpleNamespace:
    """Integer parameters as int64 rows [1, n] and transposed gate matrices [2n, n]."""
    p = default_params(node, dtype)
    p.bias = _shift(node.bias_mant.astype(np.int64), node.bias_exp.astype(np.int64))[None, :]
    p.Wa_t = np.ascontiguousarray(node.Wa.T.astype(np.int64))
    p.ba = node.ba.astype(np.int64)[None, :]
    if isinstance(node, LoihiLTC):
        p.Wr_t = np.ascontiguousarray(node.Wr.T.astype(np.int64))
        p.br = node.br.astype(np.int64)[None, :]
        p.vth_eff = (node.vth.astype(np.int64) << VTH_SHIFT)[None, :]
        p.beta = node.beta.astype(np.int64)[None, :]
    return p


@kernel(LoihiLTC)
def _loihi_ltc(p, st, inp):
    I = input_current(inp["in"], p.bias)
    st["v"], st["b"], st["s"] = ltc_step(I, st["v"], st["b"], st["s"], p)
    return st["s"]


@kernel(LoihiLTCReadout)
def _loihi_ltc_readout(p, st, inp):
    st["v"] = readout_step(input_current(inp["in"], p.bias), st["v"], p)
    return st["v"]


PREPARE[LoihiLTC] = PREPARE[LoihiLTCReadout] = prepare
