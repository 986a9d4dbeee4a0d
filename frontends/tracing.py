"""`trace(module, example_input) -> Graph`: torch.fx with snnc layers as leaves, mapped by a converter table.

A converter takes (module, builder, path, src) where `src` is the IR node feeding
the module and returns the IR node that carries the module's output. Users add
their own with `register_converter(MyModule)(fn)`. Containers (nn.Sequential
and user modules without a converter) are traced through; any other module or
any free function is an error naming its module path and type.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import fx, nn

from snnc.compiler.errors import PrimitiveError, SnncError, TraceError
from snnc.compiler.ir import Graph, Primitive
from snnc.compiler.primitives import ALIF, LI, LIF, Dense, Input
from snnc.compiler.verify import check_time_constants, verify
from snnc.frontends.layers import ALIFLayer, LIFLayer, LIReadout

Converter = Callable[[nn.Module, "Builder", str, str], str]
CONVERTERS: dict[type, Converter] = {}
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def register_converter(module_type: type, fn: Converter | None = None):
    """Register `fn(module, builder, path, src) -> output node` for `module_type` (usable as a decorator)."""
    if not (isinstance(module_type, type) and issubclass(module_type, nn.Module)):
        raise TypeError(f"register_converter: {module_type!r} is not an nn.Module subclass")

    def deco(f: Converter) -> Converter:
        CONVERTERS[module_type] = f
        return f
    return deco(fn) if fn is not None else deco


def converter_for(module: nn.Module) -> Converter | None:
    for t in type(module).__mro__:  # subclasses of a registered type inherit its converter
        if t in CONVERTERS:
            return CONVERTERS[t]
    return None


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().to(torch.float64).numpy() if t.dtype.is_floating_point else t.detach().cpu().numpy()


class Builder:
    """Adds nodes and edges to the Graph being traced; names nodes after module paths."""

    def __init__(self) -> None:
        self.graph = Graph()
        self.graph.meta["node_meta"] = {}

    def add(self, name: str, node: Primitive | Callable[[], Primitive], module: str | None = None) -> str:
        base, i = name, 1
        while name in self.graph.nodes:
            i += 1
            name = f"{base}_{i}"
        if callable(node) and not isinstance(node, Primitive):
            try:
                node = node()
            except PrimitiveError as e:
                raise TraceError(f"module '{module or name}': {e}") from None
        self.graph.add(name, node)
        if module is not None:
            self.graph.meta["node_meta"][name] = {"module": module}
        return name

    def connect(self, src: str, dst: str, port: str = "in", delay: int = 0) -> None:
        self.graph.connect(src, dst, port, delay)

    def dense(self, path: str, linear: nn.Linear, src: str, name: str | None = None, delay: int = 0, dst: str | None = None) -> str:
        """A Dense node from an nn.Linear fed by `src` (optionally through a delayed edge)."""
        W = _np(linear.weight)
        b = _np(linear.bias) if linear.bias is not None else np.zeros(W.shape[0])
        n = self.add(name or path, lambda: Dense(W, b), path)
        self.connect(src, n, delay=delay)
        if dst is not None:
            self.connect(n, dst)
        return n


# -- converters of the built-in modules ----------------------------------------

@register_converter(nn.Linear)
def _linear(m: nn.Linear, b: Builder, path: str, src: str) -> str:
    return b.dense(path, m, src)


@register_converter(nn.Identity)
@register_converter(nn.Dropout)
def _identity(m: nn.Module, b: Builder, path: str, src: str) -> str:
    return src  # identity in eval mode; trace() puts the model in eval


def _neuron_layer(m, b: Builder, path: str, src: str, kind: str, make: Callable[[], Primitive]) -> str:
    fc = b.dense(f"{path}.fc", m.fc, src)
    neuron = b.add(f"{path}.{kind}", make, path)
    b.connect(fc, neuron)
    if getattr(m, "rec", None) is not None:  # recurrence: spikes of step t-1 through the recurrent weights
        b.dense(f"{path}.rec", m.rec, neuron, delay=1, dst=neuron)
    if getattr(m, "readout", "spikes") == "v":  # the layer's output is its membrane: a state output `node.v`
        return f"{neuron}.v"
    return neuron


def _check_taus(m: nn.Module) -> None:
    """The module's own time constants (parameters and buffers named tau*) and its dt must be positive."""
    taus = {k: t for k, t in (*m.named_parameters(recurse=False), *m.named_buffers(recurse=False)) if k.startswith("tau")}
    dt = getattr(m, "dt", None)
    check_time_constants(None, **taus, dt=dt if isinstance(dt, (int, float)) else None)


@register_converter(ALIFLayer)
def _alif(m: ALIFLayer, b: Builder, path: str, src: str) -> str:
    alpha, rho = (_np(a) for a in m.decays())
    return _neuron_layer(m, b, path, src, "alif",
                         lambda: ALIF(alpha=alpha, rho=rho, b0=m.b0, beta=m.beta, R=m.R, v0=m.v_init, b_init=m.b_init))


@register_converter(LIFLayer)
def _lif(m: LIFLayer, b: Builder, path: str, src: str) -> str:
    alpha, gain = (_np(a) for a in m.decays())
    return _neuron_layer(m, b, path, src, "lif",
                         lambda: LIF(alpha=alpha, gain=gain, theta=m.theta, reset=m.reset, v0=m.v_init))


@register_converter(LIReadout)
def _li(m: LIReadout, b: Builder, path: str, src: str) -> str:
    alpha, gain = (_np(a) for a in m.decays())
    return _neuron_layer(m, b, path, src, "li", lambda: LI(alpha=alpha, gain=gain, v0=m.v_init))


# -- tracing ---------------------------------------------------------------------

class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if converter_for(m) is not None:
            return True
        if isinstance(m, _CONTAINERS):
            return False
        # other torch.nn modules are leaves so that the converter lookup names them; user modules are traced into
        return type(m).__module__.startswith("torch.nn")

    def call_module(self, m, forward, args, kwargs):
        try:
            return super().call_module(m, forward, args, kwargs)
        except TraceError:
            raise
        except Exception as e:  # fx cannot trace data-dependent Python control flow, for one
            path = self.path_of_module(m) or "<root>"
            raise TraceError(f"cannot trace module '{path}' ({type(m).__module__}.{type(m).__qualname__}): "
                             f"{str(e).splitlines()[0]}; register a converter with snnc.frontends.register_converter") from None


def _fn_name(target) -> str:
    """'torch.sigmoid', 'operator.add', ... for an fx call_function target."""
    name = getattr(target, "__name__", None) or str(target)
    mod = getattr(target, "__module__", None) or "torch"
    mod = {"_operator": "operator"}.get(mod, "torch" if mod.startswith("torch._C") else mod)
    return f"{mod}.{name}"


def trace(module: nn.Module, example_input: torch.Tensor, input_kind: str = "graded") -> Graph:
    """Trace `module` (applied to sequences [T, B, F]) into a verified IR Graph.

    The example input only gives the shape: its input's kind is `input_kind` ("graded", any real value,
    or "spike", values 0/1), never guessed from the example's values (often all zeros).
    """
    if input_kind not in ("spike", "graded"):
        raise TraceError(f"trace: input_kind must be 'spike' or 'graded', got {input_kind!r}")
    if not isinstance(module, nn.Module):
        raise TraceError(f"trace: expected an nn.Module, got {type(module).__name__}")
    x = torch.as_tensor(example_input)
    if x.dim() != 3:
        raise TraceError(f"trace: example input must be [T, B, F], got shape {tuple(x.shape)}")
    was_training = module.training
    module.eval()  # Dropout is the identity, batch statistics frozen
    try:
        tracer = _Tracer()
        try:
            fxg = tracer.trace(module)
        except TraceError:
            raise
        except Exception as e:
            raise TraceError(f"cannot trace {type(module).__qualname__}: {str(e).splitlines()[0]}") from None
        b = Builder()
        env: dict[fx.Node, str] = {}
        outputs: list[str] = []
        placeholders = [n for n in fxg.nodes if n.op == "placeholder"]
        if len(placeholders) != 1:
            raise TraceError(f"trace: forward() must take exactly one input [T, B, F], it takes {len(placeholders)}")
        for n in fxg.nodes:
            if n.op == "placeholder":
                env[n] = b.add(str(n.target), Input(int(x.shape[-1]), input_kind))
            elif n.op == "call_module":
                m = module.get_submodule(n.target)
                conv = converter_for(m)
                if conv is None:
                    raise TraceError(f"unsupported module '{n.target}' ({type(m).__module__}.{type(m).__qualname__}); "
                                     "register a converter with snnc.frontends.register_converter")
                args = [a for a in n.args if isinstance(a, fx.Node)]
                if len(args) != 1 or n.kwargs:
                    raise TraceError(f"module '{n.target}' ({type(m).__qualname__}) must be called with one sequence input")
                if env[args[0]] not in b.graph.nodes:  # a state (readout="v") reaches no edge: only outputs carry states
                    raise TraceError(f"module '{n.target}' ({type(m).__qualname__}) takes the membrane '{env[args[0]]}' "
                                     "of a layer with readout='v'; a state can only be a graph output")
                try:
                    _check_taus(m)  # before the decays exp(-dt/tau) hide which time constant was at fault
                    env[n] = conv(m, b, n.target, env[args[0]])
                except SnncError as e:
                    raise TraceError(f"module '{n.target}' ({type(m).__qualname__}): {e}") from None
            elif n.op == "output":
                res = n.args[0]
                res = list(res) if isinstance(res, (tuple, list)) else [res]
                for r in res:
                    if not isinstance(r, fx.Node):
                        raise TraceError(f"trace: forward() returns a non-tensor value {r!r}")
                    outputs.append(env[r])
            else:
                where = n.meta.get("nn_module_stack")
                path = f"module '{list(where)[-1]}'" if where else f"the forward() of {type(module).__qualname__}"
                what = {"call_function": f"function {_fn_name(n.target)}", "call_method": f"tensor method .{n.target}()",
                        "get_attr": f"attribute access {n.target}"}.get(n.op, f"{n.op} {n.target}")
                raise TraceError(f"unsupported {what} (fx node '{n.name}') in {path}; "
                                 "only modules with a converter can be traced")
        g = b.graph
        g.outputs = list(dict.fromkeys(outputs))
        dts = {float(m.dt) for m in module.modules() if hasattr(m, "dt") and isinstance(getattr(m, "dt"), (int, float))}
        g.meta.update({"dt": dts.pop() if len(dts) == 1 else None, "source": f"torch:{type(module).__qualname__}"})
        from snnc import __version__
        g.meta["snnc_version"] = __version__
        return verify(g)
    finally:
        module.train(was_training)
