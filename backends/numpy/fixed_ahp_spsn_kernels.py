"""Exact integer NumPy kernels of LoihiAHP and LoihiSPSN (compiler/primitives/fixed_seed.py), registered into KERNELS.

The Lava fixed_pt models (backends/lava_procs/ahp_spsn.py) repeat these operations;
both use fixed_seed's noise_int and sigmoid_q16, so stochastic spikes agree bit for bit.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from snnc.backends.numpy.lower import PREPARE, kernel
from snnc.backends.numpy.fixed_kernels import ACT_SHIFT, DECAY_UNITY, V_LIM, _int, _prepare_int, _trunc12
from snnc.compiler.primitives.fixed_ahp_spsn import LoihiAHP, LoihiSPSN, noise_int, sigmoid_q16


def _clip24(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -V_LIM, V_LIM)


@kernel(LoihiAHP)
def _loihi_ahp(p, st, inp):
    s_prev = st["s"]
    aux = _clip24(_trunc12(st["aux"] * (DECAY_UNITY - p.da)) + p.w_eff * s_prev)
    a_in = _int(inp["in"]) << ACT_SHIFT
    v = _clip24(_trunc12(st["v"] * (DECAY_UNITY - p.dv)) + a_in + p.bias + aux)
    s = (v > p.vth_eff).astype(np.int64)
    st["aux"], st["v"], st["s"] = aux, np.where(s == 1, 0, v), s
    return s


@kernel(LoihiSPSN)
def _loihi_spsn(p, st, inp):
    a_in = _int(inp["in"]) << ACT_SHIFT
    i = _clip24(_trunc12(st["i"] * (DECAY_UNITY - p.di)) + a_in + p.bias)
    v = _clip24(_trunc12(st["v"] * (DECAY_UNITY - p.dv)) + _trunc12(i * p.dv))
    st["i"], st["v"] = i, v
    if p.stochastic:
        # the runtime hands the float noise input over unchanged; noise_int is the shared integer reading
        return (noise_int(inp["noise"]) < sigmoid_q16(v, p.v_frac)).astype(np.int64)
    return (v > 0).astype(np.int64)


def _prepare(node, dtype) -> SimpleNamespace:
    p = _prepare_int(node, dtype)
    for f in ("da", "di"):
        if hasattr(node, f):
            setattr(p, f, getattr(node, f).astype(np.int64)[None, :])
    if hasattr(node, "w_ahp"):
        p.w_eff = (node.w_ahp.astype(np.int64) << ACT_SHIFT)[None, :]
    if hasattr(node, "v_frac"):
        p.v_frac = int(node.v_frac)
    return p


PREPARE[LoihiAHP] = PREPARE[LoihiSPSN] = _prepare
