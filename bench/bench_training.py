"""Benchmark (not a test): SPSN training parallel in time (closed-form scan or FFT) vs stepwise SPSN and stepwise LIF.

SHD-size inputs (700 channels, T=250, 5 % spikes), 700-128-128-20 networks, batch 64; one training step is
forward, cross-entropy on the summed readout, backward and an Adam step. Prints CPU seconds per batch (median
of --rounds interleaved rounds) and per SHD epoch (8156 training samples = 128 batches).

    .venv/bin/python bench/bench_training.py [--T 250] [--batch 64] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def fft_integrate(I, alpha, beta):
    """The SPSN recurrence by FFT convolution (frontends/spsn.py's causal_decay_conv), the earlier default."""
    from snnc.frontends.spsn import causal_decay_conv
    i = causal_decay_conv(I, alpha)
    return i, causal_decay_conv((1 - beta) * i, beta)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=250)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import numpy as np
    import torch

    from snnc.frontends import zoo
    torch.set_num_threads(1)
    sizes = [700, 128, 128, 20]
    nets = {}
    spsn, _ = zoo.build("spsn", {"sizes": sizes, "stochastic": True})
    nets["SPSN, parallel in time (closed-form scan)"] = (spsn, True)
    spsn_fft, _ = zoo.build("spsn", {"sizes": sizes, "stochastic": True})
    nets["SPSN, parallel in time (FFT)"] = (spsn_fft, "fft")
    spsn_seq, _ = zoo.build("spsn", {"sizes": sizes, "stochastic": True})
    nets["SPSN, stepwise"] = (spsn_seq, False)
    lif, _ = zoo.build("lif-srnn", {"sizes": sizes, "recurrent": False})
    nets["LIF, stepwise (feed-forward, same size)"] = (lif, None)
    for m, par in nets.values():
        m.train()
        for layer in m.modules():
            if hasattr(layer, "parallel") and par is not None:
                layer.parallel = bool(par)
    rng = np.random.default_rng(0)
    x = torch.from_numpy((rng.random((args.T, args.batch, 700)) < 0.05).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 20, args.batch))
    opts = {k: torch.optim.Adam(m.parameters(), 1e-3) for k, (m, _) in nets.items()}

    import snnc.frontends.spsn as spsn_mod
    scan = spsn_mod.parallel_integrate

    def train_step(name: str) -> None:
        m = nets[name][0]
        spsn_mod.parallel_integrate = fft_integrate if nets[name][1] == "fft" else scan
        opts[name].zero_grad()
        loss = torch.nn.functional.cross_entropy(m(x).sum(0), y)
        loss.backward()
        opts[name].step()

    for name in nets:
        train_step(name)  # warm-up
    times = {k: [] for k in nets}
    for _ in range(args.rounds):
        for name in nets:
            t0 = time.process_time()
            train_step(name)
            times[name].append(time.process_time() - t0)
    base = float(np.median(times["LIF, stepwise (feed-forward, same size)"]))
    print(f"training step, 700-128-128-20, T={args.T}, batch {args.batch}, 1 thread (CPU time, median of {args.rounds})")
    for name, t in times.items():
        s = float(np.median(t))
        print(f"{name:<44}{s:>8.3f} s/batch{128 * s:>9.1f} s/epoch   {base / s:>5.1f}x vs stepwise LIF")


if __name__ == "__main__":
    main()
