"""Running the PyTorch model itself as the reference that `snnc verify` compares backends against."""
from __future__ import annotations

import copy
from typing import Mapping

import numpy as np
import torch
from torch import nn

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives.rc import DECISION, TIME


def prepare(module: nn.Module, dtype: str) -> nn.Module:
    """A copy of `module` in eval mode and `dtype`, leaving the user's module untouched."""
    m = copy.deepcopy(module).eval()
    return m.double() if dtype == "float64" else m.float()


def torch_reference(module: nn.Module, graph: Graph, x) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run `module` (already prepared) on x [T, B, F]; returns ({graph output: [T,B,n]}, {spiking node: [T,B,n]}).

    `x` may be a dict by graph input: the extra inputs (the uniform noise of
    stochastic layers) are handed to the layer `graph.meta['node_meta']` maps
    them to, as `layer.noise`. Outputs are matched to `graph.outputs` in order;
    spikes are recorded from every snnc layer mapped to a spiking node; an
    EarlyExit layer adds its decisions and decision times as `<node>:decision`, `<node>:time`.
    """
    dtype = next((p.dtype for p in module.parameters()), torch.float32)
    meta = graph.meta.get("node_meta", {})
    xs = dict(x) if isinstance(x, Mapping) else {graph.inputs[0]: x}
    fed = []
    for name, arr in xs.items():
        if name == graph.inputs[0]:
            continue
        sub = _submodule(module, meta.get(name, {}).get("module"))
        if sub is None or not hasattr(sub, "noise"):
            raise SnncError(f"reference: graph input '{name}' maps to no PyTorch layer that takes noise")
        sub.noise = torch.as_tensor(np.asarray(arr), dtype=dtype)
        fed.append(sub)
    recorders = [m for m in module.modules() if hasattr(m, "record") and hasattr(m, "trace")]
    for m in recorders:
        m.record = True
    try:
        with torch.no_grad():
            y = module(torch.as_tensor(xs[graph.inputs[0]], dtype=dtype))
    finally:
        for m in recorders:
            m.record = False
        for m in fed:
            m.noise = None
    ys = list(y) if isinstance(y, (tuple, list)) else [y]
    outputs = {name: t.detach().cpu().numpy() for name, t in zip(graph.outputs, ys)}
    spikes = {}
    for node, info in meta.items():
        if node not in graph.nodes or "module" not in info:
            continue
        sub = _submodule(module, info["module"])
        tr = getattr(sub, "trace", {}) or {}
        if graph.nodes[node].out_kind == "spike" and "out" in tr:
            spikes[node] = tr["out"].cpu().numpy()
        if type(graph.nodes[node]).__name__ == "EarlyExit" and "decision" in tr:
            outputs[node + DECISION] = tr["decision"].cpu().numpy()
            outputs[node + TIME] = tr["time"].cpu().numpy()
    return outputs, spikes


def _submodule(module: nn.Module, path: str | None) -> nn.Module | None:
    if path is None:
        return None
    try:
        return module.get_submodule(path)
    except AttributeError:
        return None
