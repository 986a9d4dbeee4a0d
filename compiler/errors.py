"""Error types: every snnc error is one line that names the thing at fault."""
from __future__ import annotations


class SnncError(Exception):
    """Base of all errors the CLI reports as one clear line (no traceback)."""


class GraphError(SnncError):
    """A graph that breaks an IR rule (shape, kind, causality, parameters)."""


class PrimitiveError(SnncError):
    """A primitive constructed with invalid parameters."""


class FileFormatError(SnncError):
    """A missing, truncated, corrupt or too-new file."""


class InputError(SnncError):
    """An input array of the wrong shape, rank or dtype."""


class TraceError(SnncError):
    """A PyTorch module or function that snnc cannot trace."""


class LoweringError(SnncError):
    """A primitive that a backend cannot lower."""

    def __init__(self, node: str, primitive: str, backend: str, why: str = "no lowering rule"):
        super().__init__(f"node '{node}' ({primitive}): {why} for backend '{backend}'")
        self.node, self.primitive, self.backend = node, primitive, backend
