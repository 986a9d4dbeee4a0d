"""The NumPy integer runtime of the Loihi fixed-point primitives: each primitive's own `step`, on int64 arrays.

There is no NumPy copy of the integer arithmetic: the kernel registered here calls
`node.step(ops, p, s, x)` with `ops.fx = snnc.compiler.fixedpoint`, the very code
Lava's fixed_pt models run, and `p` = the node's fields plus its `prepare()`.
(A thin adapter into KERNELS until the generic step executor replaces the table.)
"""
from __future__ import annotations

from types import SimpleNamespace

from snnc.backends.numpy.lower import PREPARE, default_params, kernel
from snnc.compiler import fixedpoint
from snnc.compiler.primitives import (LoihiAHP, LoihiALIF, LoihiDense, LoihiLI, LoihiLIF, LoihiLTC, LoihiLTCReadout,
                                      LoihiSPSN)

FIXED = (LoihiDense, LoihiLIF, LoihiLI, LoihiALIF, LoihiLTC, LoihiLTCReadout, LoihiAHP, LoihiSPSN)
OPS = SimpleNamespace(fx=fixedpoint)


def prepare(node, dtype) -> SimpleNamespace:
    """The node's fields (integers untouched) plus its prepared integer parameters; `step` is the node's own."""
    p = default_params(node, dtype)
    vars(p).update(node.prepare())
    p.step = node.step
    return p


@kernel(*FIXED)
def _fixed_step(p, st, inp):
    out, new = p.step(OPS, p, st, inp)
    st.update(new)
    return out


for _t in FIXED:
    PREPARE[_t] = prepare
