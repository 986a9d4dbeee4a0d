"""snnc's own Lava processes (ALIF, LI, Delay) and their floating_pt / fixed_pt ProcessModels.

Imports lava: only usable inside the Lava environment (.venv-lava). Importing the
package registers the ProcessModels with Lava's compiler through `models`.
"""
from snnc.backends.lava.procs.processes import ALIF, LI, Delay
from snnc.backends.lava.procs import models  # noqa: F401  (registers the ProcessModels)

__all__ = ["ALIF", "LI", "Delay"]
