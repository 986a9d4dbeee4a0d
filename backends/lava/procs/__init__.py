"""snnc's own Lava processes: NodeStep (any primitive's own step, floating_pt and fixed_pt) and Delay.

Imports lava: only usable inside the Lava environment (.venv-lava). Importing the
package registers the ProcessModels with Lava's compiler through `models` and `step`.
"""
from snnc.backends.lava.procs.processes import Delay
from snnc.backends.lava.procs import models  # noqa: F401  (registers the ProcessModels)
from snnc.backends.lava.procs.step import NodeStep

__all__ = ["Delay", "NodeStep"]
