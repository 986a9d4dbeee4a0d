"""Benchmark (not a test): onnxruntime vs the NumPy runtime vs PyTorch eager on the SHD-size SRNN.

The zoo's `srnn` (700-128r-128r-20 ALIF + LI readout), T steps of ~5 % input
spikes, batch 1 and 64. Prints steps per second (time steps of the whole batch
per wall-clock second, best of --repeats runs after one warm-up) and the ratios
against the peers measured in the same run. All backends get the same number of
threads (--threads) so the comparison is fair on a shared machine.

    .venv/bin/python bench/bench_backends.py [--T 250] [--batches 1 64] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import platform

from timing import best_time  # bench/timing.py (the script's folder is on sys.path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=250, help="time steps per sequence")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    ap.add_argument("--rate", type=float, default=0.05, help="input spike probability per entry")
    ap.add_argument("--threads", type=int, default=1, help="threads for every backend")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # NumPy's BLAS reads these once, at import: import it only now

    import numpy as np
    import onnxruntime
    import torch

    from snnc.backends.onnx.lower import lower
    from snnc.frontends import trace, zoo
    from snnc.runtime.numpy.runtime import NumpyRuntime
    from snnc.runtime.onnx.runtime import OnnxRuntime

    torch.set_num_threads(args.threads)
    module, _ = zoo.build("srnn")
    module.eval()
    rng = np.random.default_rng(0)
    print(f"SRNN 700-128r-128r-20 (zoo 'srnn'), T={args.T}, input spike rate {args.rate}, {args.threads} thread(s); "
          f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, numpy {np.__version__}, "
          f"{platform.processor() or platform.machine()}")
    header = f"{'batch':>5}  {'backend':<22}{'steps/s':>10}{'sample-steps/s':>16}{'vs torch':>10}{'vs numpy':>10}"
    print(header)
    print("-" * len(header))
    for B in args.batches:
        x = (rng.random((args.T, B, 700)) < args.rate).astype(np.float32)
        xt = torch.from_numpy(x)
        graph = trace(module, xt[:4])
        np_rt = NumpyRuntime(graph, "float32")
        ort_rt = OnnxRuntime(lower(graph, opset=args.opset, mode="loop", dtype="float32"), threads=args.threads)
        with torch.no_grad():
            y_torch = module(xt).numpy()
        y_np = np_rt.run(x)[0][graph.outputs[0]]
        y_ort = ort_rt.run(x)[0][graph.outputs[0]]

        def run_torch() -> None:
            with torch.no_grad():
                module(xt)

        secs = {"PyTorch eager": best_time(run_torch, args.repeats),
                "NumPy runtime": best_time(lambda: np_rt.run(x), args.repeats),
                "onnxruntime (Loop)": best_time(lambda: ort_rt.run(x), args.repeats)}
        for name, s in secs.items():
            print(f"{B:>5}  {name:<22}{args.T / s:>10.0f}{args.T * B / s:>16.0f}"
                  f"{secs['PyTorch eager'] / s:>9.2f}x{secs['NumPy runtime'] / s:>9.2f}x")
        print(f"       max |readout| difference vs torch: numpy {np.abs(y_np - y_torch).max():.2e}, "
              f"onnx {np.abs(y_ort - y_torch).max():.2e}")


if __name__ == "__main__":
    main()
