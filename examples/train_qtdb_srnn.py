"""Train the seed-000 adaptive SRNN (4-36r-6) on QTDB ECG wave segmentation, then compile and verify it.

The data (../shared/data/qtdb) is level-crossing encoded ECG: x [N, 1301, 4] in
{-1, 0, 1} and a one-hot label per step [N, 1301, 6]. Seed 000 reports 85.9 %
per-step test accuracy after full training; this recipe trains for a few
minutes on a CPU by default.

    .venv/bin/python examples/train_qtdb_srnn.py --epochs 30 -o qtdb.pt
    snnc compile qtdb.pt -t numpy -o qtdb.snn
    snnc verify qtdb.pt --targets numpy --input qtdb_x.npy
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fixtures import train_epoch

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "qtdb"


def load(split: str, data: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """x [T, N, 4] float32 and per-step class labels [T, N]."""
    import scipy.io as sio

    path = data / f"QTDB_{split}.mat"
    if not path.exists():
        raise SystemExit(f"train_qtdb_srnn: {path} not found; pass --data DIR")
    d = sio.loadmat(path)
    x = torch.as_tensor(d["x"].astype(np.float32)).transpose(0, 1)
    y = torch.as_tensor(d["y"].argmax(-1).astype(np.int64)).transpose(0, 1)
    return x, y


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 64) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[1], batch):
            out = model(x[:, i:i + batch])
            correct += (out.argmax(-1) == y[:, i:i + batch]).sum().item()
    model.train()
    return correct / y.numel()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--hidden", type=int, default=36)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--steps", type=int, default=1301, help="truncate sequences to this many steps")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", default="qtdb.pt")
    args = ap.parse_args()

    from snnc.frontends import zoo
    from snnc.frontends.modelfile import save_model

    torch.manual_seed(args.seed)
    x_tr, y_tr = load("train", args.data)
    x_te, y_te = load("test", args.data)
    x_tr, y_tr, x_te, y_te = x_tr[: args.steps], y_tr[: args.steps], x_te[: args.steps], y_te[: args.steps]
    cfg = {"sizes": [4, args.hidden, 6], "tau_m": [20.0, 5.0], "tau_adp": [200.0, 50.0], "tau_m_out": [3.0, 1.0]}
    model, cfg = zoo.build("srnn", cfg, seed=args.seed)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, args.epochs // 3), gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    N = x_tr.shape[1]
    for epoch in range(args.epochs):
        t0 = time.time()
        # model(...): [T, B, 6] readout membranes, scored at every step; batches drawn from torch's global generator
        loss = train_epoch(lambda idx: loss_fn(model(x_tr[:, idx]).reshape(-1, 6), y_tr[:, idx].reshape(-1)),
                           opt, N, args.batch, None)
        sched.step()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss:.4f}, test per-step accuracy "
              f"{100 * accuracy(model, x_te, y_te):.2f} %, {time.time() - t0:.1f} s", flush=True)
    save_model(args.output, "srnn", cfg, model)
    x_npy = Path(args.output).with_name(Path(args.output).stem + "_x.npy")
    np.save(x_npy, x_te[:, :8].numpy())
    print(f"wrote {args.output} and {x_npy} (8 test sequences [T, 8, 4]); next:\n"
          f"  snnc compile {args.output} -t numpy -o {Path(args.output).stem}.snn\n"
          f"  snnc verify {args.output} --targets numpy --input {x_npy}")


if __name__ == "__main__":
    main()
