"""Train a liquid-time-constant spiking RNN (seed 003) with FPTT on a synthetic sequence task, then compile it.

Task: 4 input channels of Poisson spikes; class 0 fires channels 0-1 more often,
class 1 channels 2-3. The LTCReadout's output at every step is trained towards
the class with FPTT's (t+1)/T-weighted per-step loss. Runs in well under a
minute on a CPU:  .venv/bin/python examples/fptt_ltc.py
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from snnc.frontends import trace
from snnc.frontends.fptt import FPTT
from snnc.frontends.ltc import LTCLayer, LTCReadout
from snnc.runtime.numpy.runtime import NumpyRuntime


def make_batch(T: int, B: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.randint(0, 2, (B,), generator=g)
    rate = torch.full((T, B, 4), 0.05)
    rate[:, y == 0, :2] = 0.25
    rate[:, y == 1, 2:] = 0.25
    return (torch.rand(T, B, 4, generator=g) < rate).float(), y


def accuracy(model: nn.Module, data) -> float:
    with torch.no_grad():
        return float(np.mean([(model(x)[-1].argmax(-1) == y).float().mean().item() for x, y in data]))


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)  # many tiny steps: threads only add overhead
    g = torch.Generator().manual_seed(0)
    train = [make_batch(50, 32, g) for _ in range(8)]
    test = [make_batch(50, 64, g) for _ in range(2)]
    model = nn.Sequential(OrderedDict(l1=LTCLayer(4, 32, recurrent=True), out=LTCReadout(32, 2)))
    fptt = FPTT(model, torch.optim.Adam(model.parameters(), lr=3e-3), alpha=0.1, rho=0.5, K=5)
    print(f"before training: test accuracy {accuracy(model, test):.2f}")
    for epoch in range(5):
        loss = fptt.epoch(train, F.cross_entropy)
        print(f"epoch {epoch}: FPTT loss {loss:.4f}, test accuracy {accuracy(model, test):.2f}")
    # the trained network compiles to the IR and runs on the NumPy runtime with the same answers
    model.eval()
    x, y = test[0]
    graph = trace(model, x[:2, :1])
    outs, act = NumpyRuntime(graph, "float32").run(x.numpy())
    agree = (outs["out.ltc_readout"][-1].argmax(-1) == model(x)[-1].argmax(-1).numpy()).mean()
    print(f"NumPy runtime: {act.total_spikes()} spikes, final-step decisions agree with PyTorch on {100 * agree:.0f} %")


if __name__ == "__main__":
    main()
