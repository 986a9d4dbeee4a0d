"""Partition a synthetic 1M-neuron, 100M-synapse network onto Loihi 2; print time and peak memory.

The network is described by population sizes and connection statistics, never
by matrices: 10 layers of 100k neurons; each neuron has 60 feed-forward synapses
from a 240-neuron window of the previous layer, 39 recurrent synapses from a
156-neuron window of its own layer, and 1 long-range random synapse from two
layers back (or from the input for the first two layers), so 100 synapses per neuron. Not a test: run
`.venv/bin/python bench/bench_partition.py`. Target: < 60 s, < 4 GB.
"""
from __future__ import annotations

import resource
import sys
import time

from snnc.compiler.passes.partition import load_hardware, partition_network
from snnc.compiler.passes.partition_model import Network, Population, Projection

LAYERS, N, N_IN = 10, 100_000, 10_000


def network() -> Network:
    pops = {"input": Population("input", N_IN, rate=0.05, external=True)}
    projs = []
    for i in range(LAYERS):
        name, prev = f"layer{i}", ("input" if i == 0 else f"layer{i - 1}")
        pops[name] = Population(name, N, rate=0.02)
        projs.append(Projection(prev, name, pops[prev].size, N, density=0.25, window=240))
        projs.append(Projection(name, name, N, N, density=0.25, window=156))
        far = f"layer{i - 2}" if i >= 2 else "input"
        projs.append(Projection(far, name, pops[far].size, N, density=1.0 / pops[far].size))
    return Network(pops, projs)


def main() -> int:
    hw = load_hardware(sys.argv[1] if len(sys.argv) > 1 else "loihi2")
    net = network()
    neurons = sum(p.size for p in net.pops.values() if not p.external)
    synapses = sum(pr.synapses(0, pr.n_dst) for pr in net.projections)
    t0 = time.perf_counter()
    res = partition_network(net, hw)
    dt = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(f"network: {neurons:,} neurons, {synapses:,} synapses, {len(net.projections)} projections")
    print(f"hardware {hw['name']}: {res['cores']} cores on {res['chips']} chips, {res['blocks']} blocks")
    print("utilisation mean/max: " + ", ".join(f"{k} {res['utilisation_mean'][k]:.0%}/{res['utilisation_max'][k]:.0%}"
                                               for k in res["utilisation_mean"]))
    print("spikes/step: " + ", ".join(f"{k} {v:,.0f}" for k, v in res["traffic"].items()))
    print(f"time {dt:.2f} s (target < 60 s), peak memory {peak_mb:,.0f} MB (target < 4096 MB)")
    return 0 if dt < 60 and peak_mb < 4096 else 1


if __name__ == "__main__":
    sys.exit(main())
