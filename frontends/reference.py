"""Running the PyTorch model itself as the reference that `snnc verify` compares backends against."""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from snnc.compiler.ir import Graph


def prepare(module: nn.Module, dtype: str) -> nn.Module:
    """A copy of `module` in eval mode and `dtype`, leaving the user's module untouched."""
    m = copy.deepcopy(module).eval()
    return m.double() if dtype == "float64" else m.float()


def torch_reference(module: nn.Module, graph: Graph, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run `module` (already prepared) on x [T, B, F]; returns ({graph output: [T,B,n]}, {spiking node: [T,B,n]}).

    Outputs are matched to `graph.outputs` in order; spikes are recorded from every
    snnc layer that `graph.meta['node_meta']` maps to a spiking node.
    """
    dtype = next((p.dtype for p in module.parameters()), torch.float32)
    recorders = [m for m in module.modules() if hasattr(m, "record") and hasattr(m, "trace")]
    for m in recorders:
        m.record = True
    try:
        with torch.no_grad():
            y = module(torch.as_tensor(x, dtype=dtype))
    finally:
        for m in recorders:
            m.record = False
    ys = list(y) if isinstance(y, (tuple, list)) else [y]
    outputs = {name: t.detach().cpu().numpy() for name, t in zip(graph.outputs, ys)}
    spikes = {}
    meta = graph.meta.get("node_meta", {})
    for node, info in meta.items():
        if node in graph.nodes and graph.nodes[node].out_kind == "spike" and "module" in info:
            try:
                sub = module.get_submodule(info["module"])
            except AttributeError:
                continue
            tr = getattr(sub, "trace", {}) or {}
            if "out" in tr:
                spikes[node] = tr["out"].cpu().numpy()
    return outputs, spikes
