"""Benchmark (not a test): the Loihi-quantized SRNN on the compiled backend vs Lava fixed_pt vs the NumPy integer runtime.

The zoo's SHD-size SRNN quantized with `quantize(loihi)` (calibrated on the run's own input), T steps of 5 %
input spikes. Lava runs in the .venv-lava subprocess (Loihi2SimCfg fixed_pt), so all three are timed in wall
seconds (median of --rounds; Lava once per round, it is slow); every output must equal the NumPy integer
runtime's bit for bit, else no ratio is printed.

    .venv/bin/python bench/bench_loihi.py [--T 100] [--batch 1] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("SNNC_THREADS", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-lava", action="store_true", help="skip Lava (no .venv-lava)")
    args = ap.parse_args()
    import numpy as np
    import torch

    from snnc.compiler.passes.quantize import quantize
    from snnc.frontends import trace, zoo
    from snnc.runtime.numpy.runtime import NumpyRuntime

    module, _ = zoo.build("srnn")
    module.eval()
    rng = np.random.default_rng(0)
    x = (rng.random((args.T, args.batch, 700)) < 0.05).astype(np.float64)
    graph = quantize(trace(module, torch.zeros(4, 1, 700)), "loihi", calib=x)
    out = graph.outputs[0]
    runs = {"NumPy integer runtime": lambda: NumpyRuntime(graph, "float64").run(x)[0][out]}
    try:
        from snnc.runtime.cpu.runtime import CpuRuntime
        cpu = CpuRuntime(graph, "float64", threads=1)
        t0 = time.perf_counter()
        cpu.run(x)
        print(f"cpu backend: JIT compile {time.perf_counter() - t0:.1f} s")
        runs["snnc cpu (compiled, fixed point)"] = lambda: cpu.run(x)[0][out]
    except Exception as e:  # reported, never hidden
        print(f"snnc cpu: did not run: {type(e).__name__}: {e}")
    if not args.no_lava:
        from snnc.backends.lava import target as lava
        runs["Lava 0.10 fixed_pt (CPU simulator)"] = lambda: lava.run_graph(graph, x, {})[0][out]
    ref = runs["NumPy integer runtime"]()
    secs, ok = {k: [] for k in runs}, {}
    for r in range(args.rounds):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            y = fn()
            secs[name].append(time.perf_counter() - t0)
            if r == 0:
                ok[name] = bool(np.array_equal(np.asarray(y), ref))
    us = {k: 1e6 * float(np.median(v)) / args.T for k, v in secs.items()}
    lava_name = "Lava 0.10 fixed_pt (CPU simulator)"
    if lava_name in runs:  # Lava's start-up (subprocess, compiler, process start) measured by a 1-step run
        t0 = time.perf_counter()
        lava.run_graph(graph, x[:1], {})
        start = time.perf_counter() - t0
        stepping = max(0.0, float(np.median(secs[lava_name])) - start)
        us[lava_name + ", stepping only"] = 1e6 * stepping / max(1, args.T - 1)
        ok[lava_name + ", stepping only"] = ok[lava_name]
        print(f"Lava start-up (a 1-step run): {start:.1f} s")
    cpu_us = us.get("snnc cpu (compiled, fixed point)")
    print(f"Loihi-quantized SRNN 700-128r-128r-20, T={args.T}, batch {args.batch} (wall time, median of {args.rounds})")
    for name, u in us.items():
        ratio = "" if cpu_us is None or name.startswith("snnc cpu") else (
            f"   snnc cpu is {u / cpu_us:,.0f}x faster" if ok[name] and ok.get("snnc cpu (compiled, fixed point)")
            else "   no ratio (outputs differ)")
        print(f"{name:<40}{u:>12.1f} µs/step   bit-exact vs NumPy integer: {ok[name]}{ratio}")


if __name__ == "__main__":
    main()
