"""snnc: a compiler for spiking and rank-coded recurrent neural networks.

`snnc.trace(module, example_input)` turns a PyTorch model into the neuron-graph
IR (`snnc.compiler`); backends lower it to NumPy, ONNX and Lava.
"""
__version__ = "0.1.0"


def trace(module, example_input, input_kind="graded"):
    """Trace a PyTorch model into an IR Graph (see snnc.frontends.tracing.trace); input_kind: "graded" or "spike"."""
    from snnc.frontends.tracing import trace as _trace

    return _trace(module, example_input, input_kind)


__all__ = ["trace", "__version__"]
