"""Train the `digits-rc` fixture: a rank-coded LSTM (seed 001) on latency-coded 8x8 digits, with early exit.

Each pixel is one spike, brighter pixels earlier (frontends/datasets.py
`digits-latency`, T=16, 64 channels). RankCodedLSTM = LSTM -> Linear -> softmax ->
EarlyExit; the rank-coding loss (frontends/rank_coding.py) is taken at each
sample's first step whose confidence exceeds theta, so the network learns to
answer right and early. For comparison the recipe also trains the same LSTM
architecture with cross-entropy at the last step (the conventional readout) and
reports both: accuracy and mean decision step (steps read before deciding).

    .venv/bin/python examples/train_digits_rc.py
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
from snnc.frontends.rank_coding import rank_coding_loss
from snnc.frontends.rc_lstm import first_crossing


def rc_eval(model, x, y) -> tuple[float, float]:
    """(accuracy at the decision, mean steps read before deciding)."""
    model.train()  # all steps' probabilities
    with torch.no_grad():
        dec, time = first_crossing(model(x), model.exit.theta)
    return float((dec == y).float().mean()), float((time + 1).float().mean())


def last_step_accuracy(model, x, y) -> float:
    model.train()
    with torch.no_grad():
        return float((model(x)[-1].argmax(-1) == y).float().mean())


def train(model, x_tr, y_tr, x_te, y_te, epochs, batch, lr, seed, loss_kind, desc):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    g = torch.Generator().manual_seed(seed)
    N = x_tr.shape[1]
    bar = tqdm(range(epochs), desc=desc, unit="epoch")
    def loss_of(idx):
        p = model(x_tr[:, idx])  # [T, B, 10] probabilities (EarlyExit in training mode)
        if loss_kind == "rank":
            return rank_coding_loss(p, y_tr[idx], model.exit.theta)
        return F.nll_loss(torch.log(p[-1].clamp_min(1e-12)), y_tr[idx])

    for epoch in bar:
        model.train()
        loss = train_epoch(loss_of, opt, N, batch, g)
        sched.step()
        acc, steps = rc_eval(model, x_te, y_te)
        bar.set_postfix(loss=f"{loss:.4f}", test=f"{100 * acc:.1f}%", steps=f"{steps:.1f}",
                        last=f"{100 * last_step_accuracy(model, x_te, y_te):.1f}%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--theta", type=float, default=0.9)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", type=Path, default=None, help="default: frontends/pretrained")
    args = ap.parse_args()
    setup(args.seed)
    x_tr, y_tr = (torch.as_tensor(a) for a in load_dataset("digits-rc", "train"))
    x_te, y_te = (torch.as_tensor(a) for a in load_dataset("digits-rc", "test"))
    T = x_tr.shape[0]
    cfg = {"sizes": [x_tr.shape[-1], args.hidden, 10], "theta": args.theta, "readout": "softmax", "num_layers": 1}
    timer = Timer()
    model, cfg = zoo.build("rc-lstm", cfg, seed=args.seed)
    train(model, x_tr, y_tr, x_te, y_te, args.epochs, args.batch, args.lr, args.seed, "rank", "digits-rc")
    rc_seconds = timer.seconds()
    # the same architecture trained conventionally and read out at the last step
    base, _ = zoo.build("rc-lstm", cfg, seed=args.seed)
    train(base, x_tr, y_tr, x_te, y_te, args.epochs, args.batch, args.lr, args.seed, "last", "last-step LSTM")
    acc, steps = rc_eval(model, x_te, y_te)
    baseline = {"last_step_lstm_accuracy": round(last_step_accuracy(base, x_te, y_te), 6),
                "last_step_lstm_decision_steps": T}
    print(f"rank-coded LSTM: accuracy {100 * acc:.2f} % deciding after {steps:.2f} of {T} steps on average; "
          f"the same LSTM trained for and read out at the last step: {100 * baseline['last_step_lstm_accuracy']:.2f} % "
          f"after {T} steps")
    write_fixture("digits-rc", model, cfg, timer,  # train_seconds: both models; rank-coded alone: rc_train_seconds
                  {"epochs": args.epochs, "batch": args.batch, "lr": args.lr, "rc_train_seconds": rc_seconds, **baseline},
                  out_dir=args.out_dir)


if __name__ == "__main__":
    main()
