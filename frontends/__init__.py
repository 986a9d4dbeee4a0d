"""snnc.frontends: PyTorch layers of the seed families, tracing into the IR, the model zoo and model files."""
from snnc.frontends.layers import ALIFLayer, LIFLayer, LIReadout
from snnc.frontends.tracing import trace, register_converter, CONVERTERS

__all__ = ["ALIFLayer", "LIFLayer", "LIReadout", "trace", "register_converter", "CONVERTERS"]
# the seed families register their layers' converters and zoo architectures on import
from snnc.frontends import ltc, rc_lstm, ahp, spsn, cuba  # noqa: E402,F401
