"""Compiler passes, each a pure Graph -> Graph recording what it did in graph.meta["passes"].

quantize.py (+ quantize_loihi.py), fuse.py, partition.py (+ partition_model.py); the
order they run in is the visible list snnc.compiler.pipeline.PIPELINE. (The functions
are not re-exported here: `snnc.compiler.passes.partition` stays the module.)
"""
