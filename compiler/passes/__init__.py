"""Compiler passes, each a pure Graph -> Graph recording what it did in graph.meta["passes"].

The order they run in is the visible list snnc.compiler.pipeline.PIPELINE.
"""
from snnc.compiler.passes.fuse import fuse
from snnc.compiler.passes.partition import partition
from snnc.compiler.passes.quantize import quantize

__all__ = ["fuse", "quantize", "partition"]
