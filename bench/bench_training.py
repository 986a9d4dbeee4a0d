"""Benchmark (not a test): SPSN training (parallel integration) vs stepwise SPSN and a stepwise LIF network.

SHD-size inputs (700 channels, T=250, 5 % spikes), 700-128-128-20 networks, batch 64; one training step is
forward, cross-entropy on the summed readout, backward and an Adam step. Every variant runs in the same
interleaved rounds; prints CPU seconds per batch (median of --rounds; forward and backward apart) and per SHD
epoch (8156 training samples = 128 batches), the ratio against the stepwise LIF network, which input product each layer used
(sparse: from the nonzero inputs, frontends/sparse_input.py, chosen by input density; both networks share it).

    .venv/bin/python bench/bench_training.py [--T 250] [--batch 64] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

BASE = "LIF, stepwise (feed-forward, same size)"


def _variants(sizes: list[int]) -> dict:
    """name -> (module, SPSN integrator or None for stepwise, readout parallel, sparse input product allowed)."""
    from snnc.frontends import zoo
    spsn = {"sizes": sizes, "stochastic": True}
    lif = {"sizes": sizes, "recurrent": False, "neuron": "lif"}
    table = {
        "SPSN, linear recurrence node (default)": ("spsn", spsn, "recurrence", None, None),
        "SPSN, closed-form scan": ("spsn", spsn, "scan", None, None),
        "SPSN, FFT convolution": ("spsn", spsn, "fft", None, None),
        "SPSN, stepwise autograd (LI readout too)": ("spsn", spsn, False, False, None),
        "SPSN, linear recurrence, dense input product": ("spsn", spsn, "recurrence", None, False),
        BASE: ("lif-srnn", lif, None, False, None),
        "LIF, stepwise, dense input product": ("lif-srnn", lif, None, False, False),
    }
    nets = {}
    for name, (arch, cfg, integ, ro_par, sparse) in table.items():
        m, _ = zoo.build(arch, cfg)
        m.train()
        for layer in m.modules():
            if hasattr(layer, "integrator"):  # SPSN layers
                layer.parallel = integ is not False
                if integ:
                    layer.integrator = integ
            elif hasattr(layer, "parallel"):  # the LI readout
                layer.parallel = ro_par
            if hasattr(layer, "sparse_input"):
                layer.sparse_input = sparse
        nets[name] = m
    return nets


def _products(m, x, rounds: int) -> tuple[str, float]:
    """Which input product each layer takes on this batch (sparse or dense, with its input density), and the CPU
    seconds of all the layers' input products alone, forward and backward (median of `rounds`)."""
    import numpy as np
    import torch

    from snnc.frontends.layers import SpikingLayer
    from snnc.frontends.sparse_input import sparse_pays
    seen, inputs = [], []

    def hook(layer, args):
        (h,) = args
        use = layer.sparse_input is True or (layer.sparse_input is None and sparse_pays(h))
        seen.append(f"{'sparse' if use else 'dense'} ({float((h != 0).float().mean()):.0%})")
        inputs.append((layer, h.detach(), h.requires_grad))
    hs = [lay.register_forward_pre_hook(hook) for lay in m.modules() if isinstance(lay, SpikingLayer)]
    m(x)  # with autograd on, so the hidden inputs are seen as the training step sees them (needing a gradient)
    for h in hs:
        h.remove()
    grads = [torch.randn(*h.shape[:-1], layer.out_features) for layer, h, _ in inputs]
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        for (layer, h, needs), g in zip(inputs, grads):
            layer._start(h.requires_grad_(needs))[0].backward(g)
        times.append(time.process_time() - t0)
    m.zero_grad()
    return ", ".join(seen), float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=250)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import numpy as np
    import torch

    torch.set_num_threads(1)
    sizes = [700, 128, 128, 20]
    nets = _variants(sizes)
    rng = np.random.default_rng(0)
    x = torch.from_numpy((rng.random((args.T, args.batch, 700)) < 0.05).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 20, args.batch))
    opts = {k: torch.optim.Adam(m.parameters(), 1e-3) for k, m in nets.items()}

    def train_step(name: str) -> tuple[float, float]:
        """CPU seconds of the forward pass (with the loss) and of the backward pass with the Adam step."""
        t0 = time.process_time()
        opts[name].zero_grad()
        loss = torch.nn.functional.cross_entropy(nets[name](x).sum(0), y)
        t1 = time.process_time()
        loss.backward()
        opts[name].step()
        return t1 - t0, time.process_time() - t1

    for name in nets:
        train_step(name)  # warm-up
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in nets}
    for _ in range(args.rounds):
        for name in nets:
            times[name].append(train_step(name))
    base = float(np.median([sum(t) for t in times[BASE]]))
    print(f"training step, 700-128-128-20, T={args.T}, batch {args.batch}, 1 thread (CPU time, median of {args.rounds} "
          "interleaved rounds)")
    for name, t in times.items():
        s = float(np.median([sum(p) for p in t]))
        fwd, bwd = (float(np.median(p)) for p in zip(*t))
        paths, prod = _products(nets[name], x, args.rounds)
        print(f"{name:<46}{s:>7.3f} s/batch (fwd {fwd:.3f}, bwd {bwd:.3f}){128 * s:>7.1f} s/epoch {base / s:>5.1f}x vs "
              f"stepwise LIF   input products {prod:.3f} s: {paths}")
    print("(fwd: forward and loss; bwd: backward and Adam. input products: every layer's fc product alone, forward and "
          "backward, timed after the rounds; the rest of a step is the neurons, the loss and Adam. The ratio cannot exceed "
          "stepwise LIF's step over SPSN's products.)")


if __name__ == "__main__":
    main()
