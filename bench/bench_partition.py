"""Partition a real 1M-neuron, 100M-synapse sparse SRNN onto Loihi 2 chips, against a sequential-fill baseline.

The network (`snnc.compiler.passes.synthetic.sparse_srnn`) is held as scipy.sparse CSR matrices, not
statistics: 10 recurrent layers of 100k neurons, each neuron with ~60 feed-forward synapses from a centred
240-neuron window of the previous layer, ~39 recurrent synapses from a 156-neuron window of its own layer and
one random long-range synapse from two layers back; input 10k neurons at 5 % rate, hidden layers at 2 %.
Both strategies run on the same matrices in the same process: the partition pass (heavy-edge core packing,
Kernighan–Lin chips, bisection-ordered core meshes) and the baseline (population order everywhere).
Not a test: `make bench` or `.venv/bin/python bench/bench_partition.py [HARDWARE]`. Target: < 60 s, < 4 GB.
"""
from __future__ import annotations

import resource
import sys
import time

from snnc.compiler.passes.partition import load_hardware, partition_network
from snnc.compiler.passes.synthetic import sparse_srnn


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> int:
    hw = load_hardware(sys.argv[1] if len(sys.argv) > 1 else "loihi2")
    t0 = time.perf_counter()
    net = sparse_srnn()
    t_gen = time.perf_counter() - t0
    neurons = sum(p.size for p in net.pops.values() if not p.external)
    synapses = sum(pr.sparse.nnz for pr in net.projections)
    print(f"network: {neurons:,} neurons, {synapses:,} synapses in {len(net.projections)} CSR matrices, "
          f"generated in {t_gen:.1f} s, {peak_mb():,.0f} MB")
    rows = {}
    for strategy in ("traffic", "sequential"):
        t0 = time.perf_counter()
        res = partition_network(net, hw, strategy)
        rows[strategy] = (time.perf_counter() - t0, res)
    print(f"hardware {hw['name']}: {hw['cores_per_chip']} cores per chip on a {res['mesh']['core_mesh'][0]}x"
          f"{res['mesh']['core_mesh'][1]} mesh, chips on a {res['mesh']['chip_grid'][0]}x{res['mesh']['chip_grid'][1]} grid")
    hdr = (f"{'strategy':<12}{'time s':>8}{'cores':>7}{'chips':>7}{'util neurons':>14}{'util synmem':>13}"
           f"{'in core':>11}{'core-core':>11}{'chip-chip':>11}{'hops':>12}{'hops/msg':>10}")
    print(hdr)
    print("-" * len(hdr))
    for s, (dt, r) in rows.items():
        u, t, m = r["utilisation_mean"], r["traffic"], r["mesh"]
        print(f"{s:<12}{dt:>8.1f}{r['cores']:>7}{r['chips']:>7}{u['neurons_per_core']:>14.0%}"
              f"{u['synaptic_memory_bits_per_core']:>13.0%}{t['within_core']:>11,.0f}{t['between_cores']:>11,.0f}"
              f"{t['between_chips']:>11,.0f}{m['hop_messages']:>12,.0f}{m['mean_hops_per_message']:>10.2f}")
    (dt, r), (_, b) = rows["traffic"], rows["sequential"]
    ratio = lambda x, y: f"{x / y:.2f}x" if y else "n/a"  # noqa: E731
    print(f"partition pass vs baseline: chip-to-chip spikes {ratio(r['traffic']['between_chips'], b['traffic']['between_chips'])}, "
          f"mesh hops {ratio(r['mesh']['hop_messages'], b['mesh']['hop_messages'])} (spikes per step; lower is better)")
    print(f"partition pass: {dt:.1f} s (target < 60 s); peak memory {peak_mb():,.0f} MB (target < 4096 MB)")
    return 0 if dt < 60 and peak_mb() < 4096 else 1


if __name__ == "__main__":
    sys.exit(main())
