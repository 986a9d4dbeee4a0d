"""Train the `ahp-memory` fixture: a recurrent AHP spiking network (seed 002) on a delayed-cue memory task.

Task (frontends/datasets.py `delayed-cue`): one of 4 cue channels fires during
the first 10 steps, then 40 steps of distractor spikes on 5 other channels,
then a recall signal for 10 steps; the class is read from the LI readout at the
last step, 50 steps after the cue ended. The after-hyperpolarizing current
(a slow second state, driven negative by each spike) is where the network can
hold what it saw. BPTT through the layers' own forward.

    .venv/bin/python examples/train_ahp_memory.py
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.nn import functional as F
from tqdm import tqdm

from fixtures import Timer, setup, train_epoch, write_fixture
from snnc.frontends import zoo
from snnc.frontends.datasets import load_dataset


def accuracy(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        acc = float((model(x)[-1].argmax(-1) == y).float().mean())
    model.train()
    return acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", type=Path, default=None, help="default: frontends/pretrained")
    args = ap.parse_args()
    setup(args.seed)
    x_tr, y_tr = (torch.as_tensor(a) for a in load_dataset("ahp-memory", "train"))
    x_te, y_te = (torch.as_tensor(a) for a in load_dataset("ahp-memory", "test"))
    cfg = {"sizes": [x_tr.shape[-1], args.hidden, 4], "recurrent": True, "tau_m": [10.0, 2.0],
           "tau_ahp": [100.0, 20.0], "w_ahp": -0.1, "theta": 0.05}
    model, cfg = zoo.build("ahp", cfg, seed=args.seed)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    g = torch.Generator().manual_seed(args.seed)
    timer = Timer()
    N = x_tr.shape[1]
    bar = tqdm(range(args.epochs), desc="ahp-memory", unit="epoch")
    for epoch in bar:
        loss = train_epoch(lambda idx: F.cross_entropy(model(x_tr[:, idx])[-1], y_tr[idx]), opt, N, args.batch, g)
        sched.step()
        bar.set_postfix(loss=f"{loss:.4f}", test=f"{100 * accuracy(model, x_te, y_te):.1f}%")
    write_fixture("ahp-memory", model, cfg, timer, {"epochs": args.epochs, "batch": args.batch, "lr": args.lr},
                  out_dir=args.out_dir)


if __name__ == "__main__":
    main()
