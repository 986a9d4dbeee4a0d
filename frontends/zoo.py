"""Reference models of each seed family, to try snnc end to end in a minute (`snnc zoo NAME`), and trained fixtures.

An architecture is a builder `config -> nn.Module` plus a default config; the
model file stores the architecture name and config next to the state_dict, so
it rebuilds without unpickling code. Other families register here too.

`PRETRAINED` lists the trained fixtures shipped in `frontends/pretrained/` (one
snnc model file `NAME.pt` and a record `NAME.json` each: accuracy, spike rate,
training time and the command that regenerates it); `load_pretrained(name)`
returns the trained module and its config, `pretrained_path(name)` the model file,
and `frontends/datasets.py` `load_dataset(name, split)` rebuilds its data.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

import json
from pathlib import Path

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
    output = cfg.get("output", "li")
    if output == "li":
        layers["readout"] = LIReadout(sizes[-2], sizes[-1], dt=cfg["dt"], tau_m=cfg["tau_m_out"])
    elif output == "alif":  # a spiking ALIF output layer classified on its membrane v at every step (seed 000's ECG model)
        layers["readout"] = ALIFLayer(sizes[-2], sizes[-1], recurrent=False, dt=cfg["dt"], tau_m=cfg["tau_m_out"],
                                      tau_adp=cfg.get("tau_adp_out", [200.0, 25.0]), b0=cfg.get("b0_out", 0.01),
                                      beta=cfg.get("beta_out", 1.8), readout="v")
    else:
        raise ValueError(f"output must be 'li' (leaky-integrator readout) or 'alif' (ALIF layer read out on v), got {output!r}")
    return nn.Sequential(layers)


SRNN_DEFAULTS = {"sizes": [700, 128, 128, 20], "recurrent": True, "neuron": "alif", "b0": 0.01, "beta": 1.8, "dt": 1.0,
                 "tau_m": [20.0, 5.0], "tau_adp": [200.0, 25.0], "tau_m_out": [20.0, 5.0],
                 # LIF hidden layers (neuron "lif"): threshold and reset
                 "theta": 1.0, "reset": "subtract",
                 # the output layer: "li" readout, or "alif" read out on its membrane with these adaptation settings
                 "output": "li", "tau_adp_out": [200.0, 25.0], "b0_out": 0.01, "beta_out": 1.8}
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


# -- trained fixtures -------------------------------------------------------------------------------------------

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


@dataclass(frozen=True)
class Pretrained:
    """A trained fixture: its zoo architecture, the data set it was trained on (frontends/datasets.py),
    the recipe in examples/ that trains it, and how its accuracy is scored."""

    arch: str
    dataset: str
    recipe: str
    description: str
    scoring: str  # "per-step": argmax at every step vs y [T, N]; "last": argmax at the last step; "decision": EarlyExit


PRETRAINED: dict[str, Pretrained] = {
    "ecg": Pretrained("srnn", "ecg", "examples/train_ecg.py", "QTDB ECG wave segmentation, 4-36r-6: recurrent LIF "
                      "(soft reset) and an ALIF output layer classified on its membrane at every step", "per-step"),
    "digits-srnn": Pretrained("srnn", "digits-rows", "examples/train_digits_srnn.py",
                              "8x8 digits row by row (T=8), adaptive SRNN 8-64r-10 with LI readout", "last"),
    "digits-psrnn": Pretrained("srnn", "digits-pixels-permuted", "examples/train_digits_srnn.py",
                               "8x8 digits pixel by pixel in a fixed permutation (T=64), adaptive SRNN 1-64r-10", "last"),
    "digits-ltc": Pretrained("ltc", "digits-rows", "examples/train_digits_ltc.py",
                             "8x8 digits row by row, LTC spiking RNN 8-64r-10 trained with FPTT", "last"),
    "digits-spsn": Pretrained("spsn", "digits-rows", "examples/train_digits_spsn.py",
                              "8x8 digits row by row, stochastic SPSN 8-128-128-10 with LI readout", "last"),
    "digits-rc": Pretrained("rc-lstm", "digits-latency", "examples/train_digits_rc.py",
                            "latency-coded 8x8 digits (T=16), rank-coded LSTM 64-64-10 with early exit", "decision"),
    "ahp-memory": Pretrained("ahp", "delayed-cue", "examples/train_ahp_memory.py",
                             "delayed cue recall (cue, 40-step distractor delay, recall), AHP RNN 10-64r-4", "last"),
}


def _pretrained(name: str) -> Pretrained:
    if name not in PRETRAINED:
        raise SnncError(f"unknown pretrained model '{name}'; known: {', '.join(PRETRAINED)}")
    return PRETRAINED[name]


def pretrained_path(name: str) -> Path:
    """The snnc model file of fixture `name` (frontends/pretrained/NAME.pt)."""
    _pretrained(name)
    return PRETRAINED_DIR / f"{name}.pt"


def pretrained_info(name: str) -> dict[str, Any]:
    """The record beside the fixture (NAME.json): accuracy, spike rate, training time, the regenerating command."""
    _pretrained(name)
    path = PRETRAINED_DIR / f"{name}.json"
    if not path.exists():
        raise SnncError(f"pretrained model '{name}': {path} is missing; regenerate it with {PRETRAINED[name].recipe}")
    return json.loads(path.read_text())


def load_pretrained(name: str) -> tuple[nn.Module, dict[str, Any]]:
    """The trained module of fixture `name` (in eval mode) and its architecture config (zoo arch PRETRAINED[name].arch)."""
    from snnc.frontends.modelfile import load_model
    info = _pretrained(name)
    path = pretrained_path(name)
    if not path.exists():
        raise SnncError(f"pretrained model '{name}': {path} is missing; regenerate it with {info.recipe}")
    doc = torch.load(path, map_location="cpu", weights_only=True)
    loaded = load_model(str(path))
    return loaded.module, {**ARCHS[doc["arch"]].defaults, **doc["config"]}


def _spiking_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Module path -> layer, for the layers whose `out` trace is spikes (graded readouts excluded)."""
    from snnc.frontends.layers import SpikingLayer
    graded = tuple(t for t in (LIReadout, _optional("snnc.frontends.ltc", "LTCReadout")) if t is not None)
    return {n: m for n, m in model.named_modules() if isinstance(m, SpikingLayer) and not isinstance(m, graded)}


def _optional(module: str, name: str):
    import importlib
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


@torch.no_grad()
def evaluate(model: nn.Module, name: str, split: str = "test", limit: int | None = None, batch: int = 256,
             seed: int = 0) -> dict[str, Any]:
    """Accuracy of `model` on fixture `name`'s data set in PyTorch, scored as PRETRAINED[name].scoring, with spike rates
    (spikes per neuron per step, per spiking layer and 'mean' over all). `limit` takes the first samples only.
    Stochastic layers draw their noise from torch's generator seeded with `seed` (the global state is restored)."""
    from snnc.frontends.datasets import load_dataset
    info = _pretrained(name)
    x, y = load_dataset(info.dataset, split)
    if limit is not None:
        x, y = x[:, :limit], y[..., :limit]
    layers = _spiking_layers(model)
    was_training = model.training
    model.eval()
    spikes = {k: 0.0 for k in layers}
    cells = {k: 0 for k in layers}
    correct = correct_last = 0.0
    times: list[torch.Tensor] = []
    N = x.shape[1]
    try:
        for m in layers.values():
            m.record = True
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for i in range(0, N, batch):
                xb = torch.as_tensor(x[:, i:i + batch])
                yb = torch.as_tensor(y[..., i:i + batch])
                out = model(xb)
                for k, m in layers.items():
                    s = m.trace["out"]
                    spikes[k] += float(s.sum())
                    cells[k] += s.numel()
                if info.scoring == "per-step":
                    correct += float((out.argmax(-1) == yb).sum())
                elif info.scoring == "last":
                    correct += float((out[-1].argmax(-1) == yb).sum())
                elif info.scoring == "decision":  # eval-mode EarlyExit holds each sample's output from its decision on
                    from snnc.frontends.rc_lstm import first_crossing
                    decision, time = first_crossing(out, model.exit.theta)
                    correct += float((decision == yb).sum())
                    times.append(time)
                    model.train()  # all steps' probabilities: the same network read out at its last step
                    correct_last += float((model(xb)[-1].argmax(-1) == yb).sum())
                    model.eval()
    finally:
        for m in layers.values():
            m.record, m.trace = False, {}
        model.train(was_training)
    total = y.size
    rate = {k: spikes[k] / max(1, cells[k]) for k in layers}
    if layers:
        rate["mean"] = sum(spikes.values()) / max(1, sum(cells.values()))
    res: dict[str, Any] = {"accuracy": correct / total, "samples": int(N), "spike_rate": rate}
    if info.scoring == "decision":
        t = torch.cat(times).to(torch.float64) + 1  # steps read before deciding
        res.update({"mean_decision_steps": float(t.mean()), "steps": int(x.shape[0]),
                    "last_step_accuracy": correct_last / total})
    return res
