"""Shared by the fixture recipes (examples/train_*.py): seeding, batching, progress bars and writing a fixture.

A fixture is `frontends/pretrained/NAME.pt` (an snnc model file, `save_model`) and
`NAME.json` beside it: test accuracy in PyTorch, spike rates, training time and
the exact command that regenerates both.
"""
from __future__ import annotations

import json
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn

from snnc.frontends import zoo
from snnc.frontends.modelfile import save_model

REPO = Path(__file__).resolve().parents[1]


def setup(seed: int) -> None:
    """One thread (the machine is shared; tiny tensors gain nothing from more), seeded torch and numpy."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)


def batches(n: int, batch: int, g: torch.Generator) -> Iterator[torch.Tensor]:
    """Shuffled index batches over n samples."""
    perm = torch.randperm(n, generator=g)
    for i in range(0, n, batch):
        yield perm[i:i + batch]


def train_epoch(loss_of: Callable[[torch.Tensor], torch.Tensor], opt: torch.optim.Optimizer, n: int, batch: int,
                g: torch.Generator | None, clip: float = 0.0, params=None) -> float:
    """One epoch of `opt` steps on `loss_of(batch indices)` over shuffled batches of n samples; the mean loss per sample.

    With clip > 0 the gradient norm of `params` is clipped to it before each step.
    """
    total = 0.0
    for idx in batches(n, batch, g):
        loss = loss_of(idx)
        opt.zero_grad()
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        total += loss.item() * len(idx)
    return total / n


def command() -> str:
    """The command line that ran this recipe, from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(REPO)
    except ValueError:
        pass
    return " ".join([".venv/bin/python", shlex.quote(str(script))] + [shlex.quote(a) for a in sys.argv[1:]])


class Timer:
    """Wall-clock and CPU seconds since creation (the machine is shared: CPU time is the steadier figure)."""

    def __init__(self) -> None:
        self.t0, self.c0 = time.time(), time.process_time()

    def seconds(self) -> float:
        return round(time.time() - self.t0, 1)

    def cpu_seconds(self) -> float:
        return round(time.process_time() - self.c0, 1)


def input_record(dataset: str) -> tuple[str, tuple[float, float] | None]:
    """The input kind of a fixture's data set (spike when every value is 0 or 1) and a graded one's value range, over
    its train and test splits: recorded in the model file, so `snnc compile --quantize loihi` encodes the input
    without --calib."""
    from snnc.compiler.inputkinds import infer_kind
    from snnc.frontends.datasets import load_dataset
    xs = [load_dataset(dataset, split)[0] for split in ("train", "test")]
    kind = "spike" if all(infer_kind(x) == "spike" for x in xs) else "graded"
    return kind, (None if kind == "spike" else (float(min(x.min() for x in xs)), float(max(x.max() for x in xs))))


def write_fixture(name: str, model: nn.Module, config: dict[str, Any], timer: Timer,
                  extra: dict[str, Any] | None = None, out_dir: Path | None = None) -> Path:
    """Save the model file and its JSON record (accuracy and spike rates measured on the test split)."""
    info = zoo.PRETRAINED[name]
    out_dir = Path(out_dir) if out_dir else zoo.PRETRAINED_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.pt"
    kind, rng = input_record(info.dataset)
    save_model(path, info.arch, config, model, input_kind=kind, input_range=rng)
    train_seconds, cpu_seconds = timer.seconds(), timer.cpu_seconds()
    ev = zoo.evaluate(model, name, "test")
    record = {"name": name, "arch": info.arch, "dataset": info.dataset, "scoring": info.scoring,
              "description": info.description,
              "test_accuracy": round(ev["accuracy"], 6), "test_samples": ev["samples"],
              "spike_rate": {k: round(v, 6) for k, v in ev["spike_rate"].items()},
              **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in ev.items()
                 if k not in ("accuracy", "samples", "spike_rate")},
              "parameters": int(sum(p.numel() for p in model.parameters())),
              "file_bytes": path.stat().st_size, "train_seconds": train_seconds, "train_cpu_seconds": cpu_seconds,
              "command": command(), "torch": torch.__version__, "python": platform.python_version(),
              **(extra or {})}
    (out_dir / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    rates = ", ".join(f"{k} {v:.4f}" for k, v in record["spike_rate"].items())
    print(f"wrote {path} ({record['file_bytes']} bytes) and {name}.json: test accuracy "
          f"{100 * record['test_accuracy']:.2f} %, spike rates {rates or 'none (no spiking layer)'}, "
          f"trained in {train_seconds:.0f} s ({cpu_seconds:.0f} s CPU)")
    return path
