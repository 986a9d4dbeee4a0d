"""Reference models of each seed family, to try snnc end to end in a minute (`snnc zoo NAME`).

An architecture is a builder `config -> nn.Module` plus a default config; the
model file stores the architecture name and config next to the state_dict, so
it rebuilds without unpickling code. Other families register here too.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from snnc.compiler.errors import SnncError
from snnc.frontends.layers import ALIFLayer, LIFLayer, LIReadout


@dataclass(frozen=True)
class Arch:
    """A zoo architecture: how to build it, its defaults and input size."""

    build: Callable[[dict[str, Any]], nn.Module]
    defaults: dict[str, Any]
    description: str

    def input_size(self, config: dict[str, Any]) -> int:
        return int(config["sizes"][0])


ARCHS: dict[str, Arch] = {}


def register_arch(name: str, build: Callable[[dict[str, Any]], nn.Module], defaults: dict[str, Any], description: str) -> None:
    ARCHS[name] = Arch(build, dict(defaults), description)


def _srnn(cfg: dict[str, Any]) -> nn.Module:
    """sizes [F, h1, ..., O]: recurrent ALIF (or LIF) hidden layers and an LI readout."""
    sizes = cfg["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 3 or not all(isinstance(n, int) and n > 0 for n in sizes):
        raise ValueError(f"sizes must be a list of at least 3 positive integers [inputs, hidden..., outputs], got {sizes!r}")
    layers: "OrderedDict[str, nn.Module]" = OrderedDict()
    for i, (a, b) in enumerate(zip(sizes[:-2], sizes[1:-1]), 1):
        if cfg.get("neuron", "alif") == "alif":
            layers[f"layer{i}"] = ALIFLayer(a, b, recurrent=cfg["recurrent"], b0=cfg["b0"], beta=cfg["beta"], dt=cfg["dt"],
                                            tau_m=cfg["tau_m"], tau_adp=cfg["tau_adp"])
        else:
            layers[f"layer{i}"] = LIFLayer(a, b, recurrent=cfg["recurrent"], dt=cfg["dt"], tau_m=cfg["tau_m"],
                                           theta=cfg.get("theta", 1.0), reset=cfg.get("reset", "subtract"))
    layers["readout"] = LIReadout(sizes[-2], sizes[-1], dt=cfg["dt"], tau_m=cfg["tau_m_out"])
    return nn.Sequential(layers)


SRNN_DEFAULTS = {"sizes": [700, 128, 128, 20], "recurrent": True, "neuron": "alif", "b0": 0.01, "beta": 1.8, "dt": 1.0,
                 "tau_m": [20.0, 5.0], "tau_adp": [200.0, 25.0], "tau_m_out": [20.0, 5.0]}
register_arch("srnn", _srnn, SRNN_DEFAULTS, "adaptive spiking RNN of seed 000, SHD-shaped 700-128r-128r-20 (ALIF + LI readout)")
register_arch("lif-srnn", _srnn, {**SRNN_DEFAULTS, "neuron": "lif", "sizes": [700, 128, 20]},
              "LIF spiking RNN 700-128r-20 with subtractive reset and LI readout")


def build(name: str, config: dict[str, Any] | None = None, seed: int = 0) -> tuple[nn.Module, dict[str, Any]]:
    """Build zoo model `name` with `config` overriding its defaults; returns (module, full config)."""
    if name not in ARCHS:
        raise SnncError(f"unknown zoo model '{name}'; known: {', '.join(sorted(ARCHS))}")
    arch = ARCHS[name]
    cfg = {**arch.defaults, **(config or {})}
    unknown = set(config or {}) - set(arch.defaults)
    if unknown:
        raise SnncError(f"zoo model '{name}': unknown option(s) {', '.join(sorted(unknown))}; options: {', '.join(arch.defaults)}")
    torch.manual_seed(seed)
    try:
        return arch.build(cfg), cfg
    except (ValueError, TypeError, IndexError, KeyError, RuntimeError) as e:  # a bad option value, e.g. theta=1.5
        raise SnncError(f"zoo model '{name}': invalid configuration ({' '.join(str(e).split()) or type(e).__name__})") from None
