"""Train the `digits-srnn` and `digits-psrnn` fixtures: adaptive SRNNs (seed 000) on sequential 8x8 digits.

`digits-srnn` reads scikit-learn's 8x8 digits one row per step (T=8, 8 inputs),
`digits-psrnn` one pixel per step in a fixed permutation (T=64, 1 input). The
network is a recurrent ALIF layer and an LI readout whose membrane at the last
step is the class score. BPTT with the fused backward of examples/fused_bptt.py.

    .venv/bin/python examples/train_digits_srnn.py --fixture digits-srnn
    .venv/bin/python examples/train_digits_srnn.py --fixture digits-psrnn
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.nn import functional as F
from tqdm import tqdm

from fixtures import Timer, setup, train_epoch, write_fixture
from fused_bptt import fused_forward
from snnc.frontends import zoo
from snnc.frontends.datasets import load_dataset

DEFAULTS = {  # fixture -> hidden size, epochs, initial time constants (mean, std), gradient-norm clipping (0: none)
    "digits-srnn": dict(hidden=64, epochs=60, tau_m=[5.0, 1.0], tau_adp=[20.0, 5.0], tau_m_out=[5.0, 1.0], clip=0.0),
    "digits-psrnn": dict(hidden=64, epochs=150, tau_m=[5.0, 1.0], tau_adp=[200.0, 25.0], tau_m_out=[60.0, 10.0], clip=1.0),
}


def forward(model, x):
    return model.readout(fused_forward(model.layer1, x))


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((forward(model, x)[-1].argmax(-1) == y).float().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixture", choices=sorted(DEFAULTS), default="digits-srnn")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--hidden", type=int, default=None)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--clip", type=float, default=None, help="clip the gradient norm (default per fixture)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", type=Path, default=None, help="default: frontends/pretrained")
    args = ap.parse_args()
    d = DEFAULTS[args.fixture]
    epochs, hidden = args.epochs or d["epochs"], args.hidden or d["hidden"]
    clip = d["clip"] if args.clip is None else args.clip
    setup(args.seed)
    x_tr, y_tr = (torch.as_tensor(a) for a in load_dataset(args.fixture, "train"))
    x_te, y_te = (torch.as_tensor(a) for a in load_dataset(args.fixture, "test"))
    F_in = x_tr.shape[-1]
    cfg = {"sizes": [F_in, hidden, 10], "recurrent": True, "neuron": "alif", "b0": 0.01, "beta": 1.8,
           "tau_m": d["tau_m"], "tau_adp": d["tau_adp"], "tau_m_out": d["tau_m_out"]}
    model, cfg = zoo.build("srnn", cfg, seed=args.seed)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    g = torch.Generator().manual_seed(args.seed)
    timer = Timer()
    N = x_tr.shape[1]
    bar = tqdm(range(epochs), desc=args.fixture, unit="epoch")
    for epoch in bar:
        # clip: 64 steps of spiking recurrence; keep rare large gradients from derailing Adam
        loss = train_epoch(lambda idx: F.cross_entropy(forward(model, x_tr[:, idx])[-1], y_tr[idx]), opt, N, args.batch, g,
                           clip, model.parameters())
        sched.step()
        bar.set_postfix(loss=f"{loss:.4f}", test=f"{100 * accuracy(model, x_te, y_te):.1f}%")
    write_fixture(args.fixture, model, cfg, timer, {"epochs": epochs, "batch": args.batch, "lr": args.lr, "clip": clip},
                  out_dir=args.out_dir)


if __name__ == "__main__":
    main()
