"""Lava lowering rules for the fixed-point LTC and LTCReadout, registered into backends/lava/lower.RULES.

(The float LTC and LTCReadout run their own step in the generic NodeStep process.) Each node
becomes one snnc Lava process (backends/lava/procs/ltc.py, kinds "ltc" and "ltc_readout"). The input current I arrives on a_in through Lava Dense (graded
24-bit messages when the source is graded); the gate's second operand is the
neuron's own state, so no extra connection is needed and the retiming of
lava_retime applies unchanged: the process idles until its t_start.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from snnc.compiler.primitives import LoihiLTC, LoihiLTCReadout

if TYPE_CHECKING:  # (lower.py imports this module to build its rule table)
    from snnc.backends.lava.lower import Lowerer


def _arrays(lw: Lowerer, name: str, node, fields: tuple[str, ...]) -> dict:
    return {f: lw.net.array(f"{name}/{f}", getattr(node, f)) for f in fields}


def _exps(node, *gates: str) -> dict:
    return {f"e{g}_{h}": int(getattr(node, f"e{g}_{h}")) for g in gates for h in ("in", "state")}


def _loihi_ltc(lw: Lowerer, name: str, node: LoihiLTC) -> None:
    fields = ("Wa", "ba", "Wr", "br", "vth", "beta", "bias_mant", "bias_exp")
    lw.proc(name, "ltc", node.size, name, **_arrays(lw, name, node, fields), **_exps(node, "a", "r"),
            v=lw.net.array(f"{name}/v", node.v0), b=lw.net.array(f"{name}/b", node.b_init))
    lw.net.procs[name]["states"] = {"v": ["v", None], "b": ["b", None], "s": ["s", None]}


def _loihi_ltc_readout(lw: Lowerer, name: str, node: LoihiLTCReadout) -> None:
    lw.proc(name, "ltc_readout", node.size, name, **_arrays(lw, name, node, ("Wa", "ba", "bias_mant", "bias_exp")),
            **_exps(node, "a"), v=lw.net.array(f"{name}/v", node.v0))
    lw.net.procs[name]["states"] = {"v": ["v", None]}


RULES = {LoihiLTC: _loihi_ltc, LoihiLTCReadout: _loihi_ltc_readout}  # primitive -> rule, merged into lower.RULES
