"""snnc.compiler: the neuron-graph IR, its verification and serialization, passes and the CLI."""
from snnc.compiler.errors import SnncError, GraphError, PrimitiveError, FileFormatError, InputError, TraceError, LoweringError
from snnc.compiler.ir import Graph, Edge, PRIMITIVES, primitive
from snnc.compiler import primitives  # noqa: F401  (registers the built-in primitives)
from snnc.compiler.primitives import Input, Dense, LIF, CubaLIF, ALIF, LI, CubaLI
from snnc.compiler.verify import verify
from snnc.compiler.serialize import save, load
from snnc.compiler.printer import format_graph, to_dot

__all__ = [
    "Graph", "Edge", "PRIMITIVES", "primitive", "verify", "save", "load", "format_graph", "to_dot",
    "Input", "Dense", "LIF", "CubaLIF", "ALIF", "LI", "CubaLI",
    "SnncError", "GraphError", "PrimitiveError", "FileFormatError", "InputError", "TraceError", "LoweringError",
]
