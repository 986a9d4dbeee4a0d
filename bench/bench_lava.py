"""Benchmark (not a test): the Lava (loihi) target vs the NumPy runtime on the SHD-size SRNN.

The zoo's `srnn` (700-128r-128r-20 ALIF + LI readout) compiled with `-t loihi`,
run as `snnc run m.lava` does (a .venv-lava subprocess, Loihi2SimCfg floating_pt)
on T steps of ~5 % input spikes at each batch size. Prints steps per second
(time steps of the whole batch per wall-clock second, best of --repeats runs)
for Lava and for the NumPy runtime (float64) measured in the same run, and
splits Lava's wall time into start-up (a T=1 run: subprocess, Lava compiler,
process start) and stepping. A batch runs as one block-diagonal Lava network
(Lava Sparse weights) per chunk; the chunk count is printed.

    .venv/bin/python bench/bench_lava.py [--T 100] [--batches 4 32] [--repeats 2]
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

from timing import best_time  # bench/timing.py (the script's folder is on sys.path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=100, help="time steps per sequence")
    ap.add_argument("--batches", type=int, nargs="+", default=[4, 32])
    ap.add_argument("--rate", type=float, default=0.05, help="input spike probability per entry")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (NumPy runtime and the Lava processes)")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # read once at NumPy import, also by the Lava subprocess

    import numpy as np

    from snnc.backends.lava import target as lava_target
    from snnc.frontends import trace, zoo
    from snnc.runtime.lava import worker as lava_worker
    from snnc.runtime.numpy.runtime import NumpyRuntime

    import torch
    module, _ = zoo.build("srnn")
    module.eval()
    rng = np.random.default_rng(0)
    graph = trace(module, torch.zeros(2, 1, 700))
    print(f"SRNN 700-128r-128r-20 (zoo 'srnn'), T={args.T}, input spike rate {args.rate}, {args.threads} thread(s), "
          f"best of {args.repeats}; numpy {np.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cpu(s)")
    header = (f"{'batch':>5}  {'backend':<16}{'wall s':>8}{'steps/s':>10}{'sample-steps/s':>16}"
              f"{'vs numpy':>10}  notes")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="snnc-bench-lava-") as d:
        art = Path(d) / "m.lava"
        lava_target.compile_artifact(graph, art, {})
        biggest = max(n.W.size for n in graph.nodes.values() if hasattr(n, "W"))
        for B in args.batches:
            x = (rng.random((args.T, B, 700)) < args.rate).astype(np.float64)
            rt = NumpyRuntime(graph, "float64")
            y_np = rt.run(x)[0][graph.outputs[0]]
            y_lava = lava_target.run_artifact(art, x, {})[0][graph.outputs[0]]
            s_np = best_time(lambda: rt.run(x), max(3, args.repeats))
            s_lava = best_time(lambda: lava_target.run_artifact(art, x, {}), args.repeats, warmup=False)
            s_start = best_time(lambda: lava_target.run_artifact(art, x[:1], {}), args.repeats, warmup=False)
            chunks = -(-B // max(1, min(B, lava_worker.MAX_WEIGHTS // biggest)))
            step = max(s_lava - s_start, 1e-9) / max(args.T - 1, 1)
            for name, s, note in (("NumPy runtime", s_np, ""),
                                  ("Lava floating_pt", s_lava,
                                   f"start-up {s_start:.2f} s, then {1 / step:.0f} steps/s; {chunks} block-diagonal chunk(s)")):
                print(f"{B:>5}  {name:<16}{s:>8.2f}{args.T / s:>10.0f}{args.T * B / s:>16.0f}{s_np / s:>9.3f}x  {note}")
            print(f"       max |readout| difference Lava vs NumPy: {np.abs(y_lava - y_np).max():.2e}")


if __name__ == "__main__":
    main()
