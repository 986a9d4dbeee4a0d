"""Lava lowering rules for the fixed-point AHP and SPSN, registered into backends/lava/lower.RULES.

(The float AHP and SPSN run their own step in the generic NodeStep process.)

Both become snnc processes (backends/lava_procs/ahp_spsn.py, kinds "ahp" and "spsn").
SPSN's noise edge is wired to the process's `u_in` port instead of `a_in`; its noise
Input is named in the process parameters (`noise_input`) so that the worker feeds it,
in fixed point, as floor(u·2^16) (fixed_seed.noise_int), as the NumPy integer kernel reads it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from snnc.compiler.errors import LoweringError
from snnc.compiler.primitives import Input, LoihiAHP, LoihiSPSN

if TYPE_CHECKING:  # (lower.py imports this module to build its rule table)
    from snnc.backends.lava.lower import Lowerer

NOISE_PORT = "u_in"  # the Lava SPSN's port for the IR port `noise`


def _fields(lw: Lowerer, name: str, node, *fields: str) -> dict:
    return {f: lw.arr(name, f, getattr(node, f)) for f in fields}


def _loihi_ahp(lw: Lowerer, name: str, node: LoihiAHP) -> None:
    lw.proc(name, "ahp", node.size, name, **_fields(lw, name, node, "dv", "da", "vth", "w_ahp", "bias_mant", "bias_exp"),
            v=lw.arr(name, "v", node.v0), aux=lw.arr(name, "aux", node.aux0))
    lw.net.procs[name]["states"] = {"v": ["v", None], "aux": ["aux", None], "s": ["s", None]}


def _noise_source(lw: Lowerer, name: str, node) -> str | None:
    """The graph Input feeding `name`'s noise port (None when deterministic); routes that edge to u_in."""
    if not node.stochastic:
        return None
    edges = [e for e in lw.g.in_edges(name) if e.port == "noise"]
    if len(edges) != 1 or not isinstance(lw.g.nodes[edges[0].src], Input):
        raise LoweringError(name, type(node).__name__, lw.backend,
                            "its noise port must be fed by exactly one graph Input (uniform noise in [0, 1))")
    lw.in_ports[(name, "noise")] = NOISE_PORT
    return edges[0].src


def _loihi_spsn(lw: Lowerer, name: str, node: LoihiSPSN) -> None:
    noise = _noise_source(lw, name, node)
    lw.proc(name, "spsn", node.size, name, **_fields(lw, name, node, "di", "dv", "bias_mant", "bias_exp"),
            v_frac=int(node.v_frac), stochastic=bool(node.stochastic), noise_input=noise)
    lw.net.procs[name]["states"] = {"i": ["i", None], "v": ["v", None]}


RULES = {LoihiAHP: _loihi_ahp, LoihiSPSN: _loihi_spsn}  # primitive -> rule, merged into lower.RULES
