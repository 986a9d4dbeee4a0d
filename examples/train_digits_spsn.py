"""Train the `digits-spsn` fixture: stochastic parallelizable spiking neurons (seed 004) on row-by-row 8x8 digits.

Two SPSN layers (no reset, no recurrence: training integrates all steps at once
by FFT) with Bernoulli spikes s = 1[u < σ(v)] and a straight-through gradient,
then an LI readout whose membrane at the last step is the class score (arch
`spsn`). Evaluation runs the step-by-step recurrence with seeded noise.

    .venv/bin/python examples/train_digits_spsn.py
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
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        acc = float((model(x)[-1].argmax(-1) == y).float().mean())
    model.train()
    return acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--init-gain", type=float, default=4.0,
                    help="scale of the SPSN layers' initial input weights (Xavier x gain): larger currents, less noisy spikes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", type=Path, default=None, help="default: frontends/pretrained")
    args = ap.parse_args()
    setup(args.seed)
    x_tr, y_tr = (torch.as_tensor(a) for a in load_dataset("digits-spsn", "train"))
    x_te, y_te = (torch.as_tensor(a) for a in load_dataset("digits-spsn", "test"))
    cfg = {"sizes": [x_tr.shape[-1], args.hidden, args.hidden, 10], "stochastic": True,
           "tau_syn": [2.0, 0.5], "tau_mem": [4.0, 1.0]}
    model, cfg = zoo.build("spsn", cfg, seed=args.seed)
    with torch.no_grad():  # initialisation only: training starts from here
        for name, layer in model.named_children():
            if name != "readout":
                layer.fc.weight.mul_(args.init_gain)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    g = torch.Generator().manual_seed(args.seed)
    timer = Timer()
    N = x_tr.shape[1]
    model.train()
    bar = tqdm(range(args.epochs), desc="digits-spsn", unit="epoch")
    for epoch in bar:
        loss = train_epoch(lambda idx: F.cross_entropy(model(x_tr[:, idx])[-1], y_tr[idx]), opt, N, args.batch, g)
        sched.step()
        bar.set_postfix(loss=f"{loss:.4f}", test=f"{100 * accuracy(model, x_te, y_te):.1f}%")
    write_fixture("digits-spsn", model, cfg, timer, {"epochs": args.epochs, "batch": args.batch, "lr": args.lr},
                  out_dir=args.out_dir)


if __name__ == "__main__":
    main()
