"""`make bench`: snnc's runtimes against their peers, interleaved in one run, medians of CPU time per step.

Models: SHD-size SRNN 700-128r-128r-20 (T=250, 5 % input spikes), SSC-size 700-400r-400r-35, ECG 4-36r-6
(T=1301), a feed-forward CUBA and SPSN stack (T=1000). Modes: batch 1 whole sequence, batch 1 streaming
(one call per step), batch 64. Every peer runs the same model (the zoo module, or the IR's primitive steps on
torch / JAX); a peer whose output differs from the PyTorch reference beyond tolerance gets no ratio. CPU time
(all threads of this process) is the measure: on a shared machine wall time mostly measures the neighbours.

    .venv/bin/python bench/suite.py [--models shd ssc ecg ff-cuba ff-spsn] [--modes b1 stream b64] [--rounds 5]
                                    [--markdown bench/results.md]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # one thread for every engine, set before NumPy, torch and JAX load their BLAS
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("SNNC_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import build_peers  # noqa: E402
from report import lower_bound, markdown, print_table  # noqa: E402

MODELS = {
    "shd": ("srnn", {}, 250, 700, "spike"),
    "ssc": ("srnn", {"sizes": [700, 400, 400, 35]}, 250, 700, "spike"),
    "ecg": ("srnn", {"sizes": [4, 36, 6], "neuron": "lif"}, 1301, 4, "ternary"),
    "ff-cuba": ("cuba", {"sizes": [700, 256, 256, 20], "recurrent": False}, 1000, 700, "spike"),
    "ff-spsn": ("spsn", {"sizes": [700, 256, 256, 20], "stochastic": False}, 1000, 700, "spike"),
}


def make_input(kind: str, T: int, B: int, F: int, rng) -> np.ndarray:
    if kind == "ternary":  # ECG delta-modulated channels in {-1, 0, 1}
        return rng.choice([-1.0, 0.0, 1.0], p=[0.05, 0.9, 0.05], size=(T, B, F)).astype(np.float32)
    return (rng.random((T, B, F)) < 0.05).astype(np.float32)


def measure(peers: dict, rounds: int, seed: int = 0) -> dict[str, list[float]]:
    """Interleaved: every round calls every peer once, in a fresh random order (what one peer leaves behind,
    e.g. freed memory the kernel must compact into huge pages for the next large allocation, must not always
    land on the same neighbour); CPU seconds per call."""
    times: dict[str, list[float]] = {n: [] for n in peers}
    order = np.random.default_rng(seed)
    for _ in range(rounds):
        for name in order.permutation(list(peers)):
            p = peers[name]
            if p.error:
                continue
            t0 = time.process_time()
            p.call()
            times[name].append(time.process_time() - t0)
    return times


def _status(field: str) -> int:
    """kB of a /proc/self/status field (VmRSS, VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def peak_memory(peers: dict) -> None:
    """Per peer: the resident-set high-water mark of one call above the resident set before it (Linux clear_refs)."""
    for p in peers.values():
        if p.error:
            continue
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
        except OSError:
            return
        before = _status("VmRSS")
        p.call()
        p.extra["peak_mb"] = (_status("VmHWM") - before) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--modes", nargs="+", default=["b1", "stream", "b64"], choices=["b1", "stream", "b64"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--T", type=int, default=None, help="override every model's sequence length")
    ap.add_argument("--skip", nargs="*", default=[], help="peers to leave out (e.g. jax spyx)")
    ap.add_argument("--compile-models", nargs="*", default=["shd"],
                    help="models also run through torch.compile (it compiles for minutes per model and batch)")
    ap.add_argument("--markdown", metavar="PATH", help="also write the summary tables (the README's) to PATH")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    import platform
    print(f"snnc benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (1 thread per engine), "
          f"numpy {np.__version__}, torch {torch.__version__}; medians of {args.rounds} interleaved rounds, "
          f"CPU time per time step")
    rng = np.random.default_rng(0)
    results: dict[str, dict] = {}
    titles: dict[str, str] = {}
    for key in args.models:
        arch, cfg, T, F, kind = MODELS[key]
        T = args.T or T
        for mode in args.modes:
            B = 64 if mode == "b64" else 1
            x = make_input(kind, T, B, F, rng)
            peers, info = build_peers(arch, cfg, x, mode, args.skip, key in args.compile_models)
            times = measure(peers, args.rounds)
            peak_memory(peers)
            title = f"{key} ({info['desc']}), T={T}, {'batch 64' if B > 1 else 'batch 1'}" + \
                    (", one call per step" if mode == "stream" else ", whole sequence")
            results.setdefault(key, {})[mode] = print_table(title, peers, times, T, B, info)
            titles[key] = f"{key}: {info['desc']}, T={T}"
            if mode != "stream":
                print(lower_bound(info, T, B))
        sys.stdout.flush()
    if args.markdown:
        tmp = args.markdown + ".partial"
        with open(tmp, "w") as f:
            f.write(f"`bench/suite.py {' '.join(sys.argv[1:])}`, medians of {args.rounds} interleaved rounds, "
                    f"CPU time per time step, 1 thread per engine\n\n" + markdown(results, titles))
        os.replace(tmp, args.markdown)  # never a half-written table
        print(f"\nwrote {args.markdown}")


if __name__ == "__main__":
    main()
