"""The CLI options that say how a `.nir` file's continuous-time neurons become discrete steps (docs/nir.md)."""
from __future__ import annotations

import argparse

# literal copies of snnc.frontends.nir_neurons' tuples: building the parser must not import numpy-heavy modules
DISCRETIZATIONS = ("euler", "exact")
CONVENTIONS = ("nir", "snntorch", "norse")
RESETS = ("zero", "subtract", "snntorch")


def add_nir_options(p: argparse.ArgumentParser) -> None:
    """--dt, --discretization, --nir-convention and --nir-reset on a subcommand that reads or writes .nir files."""
    g = p.add_argument_group("NIR files (.nir models and -t nir)")
    g.add_argument("--dt", type=float, help="time step of a .nir file, in the units of its time constants (required "
                                            "unless the file stores one; for -t nir default: the graph's dt)")
    g.add_argument("--discretization", choices=DISCRETIZATIONS, default="euler",
                   help="NIR ODEs to steps: euler alpha = 1 - dt/tau (default), exact alpha = exp(-dt/tau)")
    g.add_argument("--nir-convention", choices=CONVENTIONS, default="nir",
                   help="whose equations a .nir file follows: nir (default), snntorch (dt 1e-4 as its exporter), "
                        "norse (its cells' current jumps); see docs/nir.md")
    g.add_argument("--nir-reset", choices=RESETS, default=None,
                   help="reset of a NIR LIF/CubaLIF: zero (NIR's v_reset; default for nir and norse), subtract "
                        "(snnc: v - theta*s), snntorch (v = beta*v + I - theta*s[t-1]; default for snntorch)")


def nir_options(args: argparse.Namespace) -> dict:
    """The target options these flags give (absent flags: the defaults)."""
    return {"dt": getattr(args, "dt", None), "nir_discretization": getattr(args, "discretization", "euler"),
            "nir_convention": getattr(args, "nir_convention", "nir"), "nir_reset": getattr(args, "nir_reset", None)}
