"""Train the `digits-ltc` fixture: a liquid-time-constant spiking RNN (seed 003) on row-by-row 8x8 digits, with FPTT.

The network is a recurrent LTCLayer and an LTCReadout (frontends/ltc.py, arch
`ltc`); FPTT (frontends/fptt.py, Kag & Saligrama 2021) updates the weights after
every step from the (t+1)/T-weighted loss of that step's readout plus its
dynamic regularizer, so memory stays constant in T. The class is read at the
last step.

    .venv/bin/python examples/train_digits_ltc.py
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.nn import functional as F
from tqdm import tqdm

from fixtures import Timer, batches, setup, write_fixture
from snnc.frontends import zoo
from snnc.frontends.datasets import load_dataset
from snnc.frontends.fptt import FPTT


def accuracy(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x)[-1].argmax(-1) == y).float().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--alpha", type=float, default=0.1, help="FPTT regularizer strength")
    ap.add_argument("--K", type=int, default=1, help="FPTT: steps per update")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", type=Path, default=None, help="default: frontends/pretrained")
    args = ap.parse_args()
    setup(args.seed)
    x_tr, y_tr = (torch.as_tensor(a) for a in load_dataset("digits-ltc", "train"))
    x_te, y_te = (torch.as_tensor(a) for a in load_dataset("digits-ltc", "test"))
    cfg = {"sizes": [x_tr.shape[-1], args.hidden, 10], "recurrent": True, "b0": 0.01, "beta": 1.8, "readout": "ltc"}
    model, cfg = zoo.build("ltc", cfg, seed=args.seed)
    fptt = FPTT(model, torch.optim.Adam(model.parameters(), lr=args.lr), alpha=args.alpha, rho=0.5, K=args.K)
    g = torch.Generator().manual_seed(args.seed)
    timer = Timer()
    N = x_tr.shape[1]
    bar = tqdm(range(args.epochs), desc="digits-ltc", unit="epoch")
    for epoch in bar:
        loss = fptt.epoch(((x_tr[:, idx], y_tr[idx]) for idx in batches(N, args.batch, g)), F.cross_entropy)
        bar.set_postfix(loss=f"{loss:.4f}", test=f"{100 * accuracy(model, x_te, y_te):.1f}%")
    write_fixture("digits-ltc", model, cfg, timer,
                  {"epochs": args.epochs, "batch": args.batch, "lr": args.lr, "fptt_alpha": args.alpha, "fptt_K": args.K},
                  out_dir=args.out_dir)


if __name__ == "__main__":
    main()
