"""Train a rank-coded LSTM (seed 001) with the rank-coding loss, then run it with early exit on the NumPy runtime.

Task: 3 classes; every step carries a noisy hint of the class. With the loss
taken at each sample's first confident step, the network learns to answer
correctly and early; the NumPy runtime then stops computing each sample once it
has decided. Runs in well under a minute:  .venv/bin/python examples/rank_coding_lstm.py
"""
from __future__ import annotations

import torch

from snnc.frontends import trace
from snnc.frontends.rank_coding import rank_coding_loss
from snnc.frontends.rc_lstm import RankCodedLSTM, first_crossing
from snnc.runtime.numpy.runtime import NumpyRuntime

T, K, THETA = 30, 3, 0.9


def make_batch(B: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.randint(0, K, (B,), generator=g)
    x = torch.randn(T, B, K, generator=g)
    x[:, torch.arange(B), y] += 0.6  # weak evidence per step: waiting longer makes the answer surer
    return x, y


def evaluate(model: RankCodedLSTM, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.train()  # all steps' probabilities, as the loss sees them
    with torch.no_grad():
        dec, time = first_crossing(model(x), THETA)
    return float((dec == y).float().mean()), float(time.float().mean())


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    model = RankCodedLSTM(K, 32, K, theta=THETA)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x_test, y_test = make_batch(256, g)
    for it in range(61):
        x, y = make_batch(64, g)
        opt.zero_grad()
        loss = rank_coding_loss(model(x), y, THETA)
        loss.backward()
        opt.step()
        if it % 20 == 0:
            acc, t = evaluate(model, x_test, y_test)
            print(f"iter {it:3d}: loss {loss.item():.3f}, test accuracy {acc:.2f}, mean decision step {t:.1f} of {T}")
    model.eval()
    graph = trace(model, x_test[:2, :1])
    outs, act = NumpyRuntime(graph, "float32").run(x_test.numpy())
    dec = torch.as_tensor(outs["exit:decision"])
    print(f"NumPy runtime with early exit: accuracy {(dec == y_test).float().mean():.2f}, "
          f"ran {act.steps.sum()} of {T * len(y_test)} sample-steps ({100 * act.steps.sum() / (T * len(y_test)):.0f} %)")


if __name__ == "__main__":
    main()
