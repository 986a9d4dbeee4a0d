"""partition(graph, hardware): neuron populations -> blocks -> cores -> chips (DESIGN §4, §7).

1. Split every population into the fewest equal contiguous blocks that each fit
   one core: neurons, synaptic memory (synapses into the block × bits per
   synapse; synapses live with their destination), input axons (distinct
   presynaptic neurons) and output axons (one per presynaptic neuron and
   destination block it reaches). A single neuron that cannot fit is an error
   naming the node and the limit.
2. Build the block graph: edge weight = spikes per step routed from one block
   to another (firing rate, measured from a calibration run when given, else 1,
   × presynaptic neurons of the block that reach the other block).
3. Pack blocks into cores by heavy-edge matching (the coarsening step of
   multilevel partitioners): the heaviest edges are merged first while the
   summed resources fit a core.
4. Place cores onto chips by recursive Kernighan–Lin bisection (networkx) of the
   core graph, with side sizes proportional to the chips each side gets, so the
   cut (inter-chip traffic) is minimised. Too many cores for max_chips is an error.

Writes graph.meta["placement"] = {node: {"blocks": [{"neurons": [start, stop],
"core": int, "chip": int}, ...]}} for every neuron population (Inputs are fed by
the host and not placed; synapse nodes live in their destination's cores);
core numbers are global (chip·cores_per_chip + index on the chip), and
graph.meta["hardware"] = the hardware description's name.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.passes.common import record
from snnc.compiler.passes.partition_model import Network, Population, Projection, network_from_graph
from snnc.compiler.passes.placement import core_coordinates, grid_shape, hop_traffic, mesh_shape

HARDWARE = ("loihi1", "loihi2")
LIMITS = ("neurons_per_core", "synaptic_memory_bits_per_core", "input_axons_per_core", "output_axons_per_core")
KEYS = ("name", "cores_per_chip", "max_chips", "bits_per_synapse") + LIMITS


def load_hardware(spec: str | dict) -> dict:
    """A hardware description: 'loihi1', 'loihi2' (package data) or a JSON file overriding any key of them."""
    if isinstance(spec, dict):
        hw = dict(spec)
    elif spec in HARDWARE:
        hw = json.loads((Path(__file__).parent.parent / "hardware" / f"{spec}.json").read_text())
    else:
        p = Path(spec)
        if not p.is_file():
            raise SnncError(f"unknown hardware '{spec}' (valid: {', '.join(HARDWARE)}, or a JSON file)")
        from snnc.compiler.limits import read_json
        user = read_json(p, f"hardware file {p}")  # size, depth and UTF-8 checked; errors name the file
        if not isinstance(user, dict):
            raise SnncError(f"{p}: a hardware file must hold a JSON object")
        base = user.get("base", "loihi2")
        if not isinstance(base, str) or base not in HARDWARE:
            raise SnncError(f"{p}: base '{base}' is not a known hardware (valid: {', '.join(HARDWARE)})")
        hw = {**load_hardware(base), "name": p.stem, **user}
    for k in KEYS:
        if k not in hw:
            raise SnncError(f"hardware '{hw.get('name', spec)}': missing key '{k}'")
        if k == "name" and not isinstance(hw[k], str):
            raise SnncError(f"hardware '{spec}': 'name' must be a string, got {type(hw[k]).__name__}")
        if k != "name" and (not isinstance(hw[k], int) or isinstance(hw[k], bool) or hw[k] <= 0):
            raise SnncError(f"hardware '{hw['name']}': '{k}' must be a positive integer, got {hw[k]!r}"[:300])
    return hw


@dataclass
class Block:
    """A contiguous range of one population, with the resources it needs on a core."""

    pop: str
    start: int
    stop: int
    res: np.ndarray = field(default_factory=lambda: np.zeros(4))  # in LIMITS order


def _split(pop: Population, k: int) -> list[tuple[int, int]]:
    cuts = np.linspace(0, pop.size, k + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _in_resources(net: Network, pop: Population, a: int, b: int, hw: dict) -> tuple[int, int]:
    """(synaptic memory bits, input axons) of neurons [a, b) of `pop`."""
    syn, ax = 0, 0
    by_src: dict[str, list[Projection]] = {}
    for pr in net.into(pop.name):
        syn += pr.synapses(a, b)
        by_src.setdefault(pr.src, []).append(pr)
    for src, prs in by_src.items():
        ax += Projection.union_axons(prs, a, b)
    return syn * hw["bits_per_synapse"], ax


def _blocks_for(net: Network, pop: Population, hw: dict, k_min: int) -> list[tuple[int, int]]:
    """Fewest equal blocks (>= k_min) whose neurons, memory and input axons fit a core."""
    lim = [hw[x] for x in LIMITS]

    def fits(k: int) -> bool:
        for a, b in _split(pop, k):
            bits, ax = _in_resources(net, pop, a, b, hw)
            if b - a > lim[0] or bits > lim[1] or ax > lim[2]:
                return False
        return True

    # a single neuron must fit: otherwise no split helps
    worst_bits, worst_ax = net.max_neuron_need(pop.name, hw)
    if worst_bits > lim[1]:
        raise SnncError(f"partition: node '{pop.name}': a neuron needs {worst_bits} bits of synaptic memory, "
                        f"more than synaptic_memory_bits_per_core = {lim[1]}")
    if worst_ax > lim[2]:
        raise SnncError(f"partition: node '{pop.name}': a neuron has fan-in {worst_ax} presynaptic neurons, "
                        f"more than input_axons_per_core = {lim[2]}")
    total_bits, _ = _in_resources(net, pop, 0, pop.size, hw)
    k = max(k_min, math.ceil(pop.size / lim[0]), math.ceil(total_bits / lim[1]), 1)
    if fits(k):
        return _split(pop, k)
    lo, hi = k, k
    while not fits(hi):  # doubling, then bisection for the smallest k that fits
        lo, hi = hi, min(pop.size, hi * 2)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return _split(pop, hi)


def make_blocks(net: Network, hw: dict, max_rounds: int = 30) -> tuple[list[Block], dict[tuple[int, int], float]]:
    """Blocks of every population and the traffic between them (spikes/step), respecting all core limits."""
    kmin = {p: 1 for p in net.pops if not net.pops[p].external}
    for _ in range(max_rounds):
        ranges = {p: _blocks_for(net, net.pops[p], hw, kmin[p]) for p in kmin}
        blocks: list[Block] = []
        index: dict[str, list[int]] = {}
        for p, rs in ranges.items():
            for a, b in rs:
                bits, ax = _in_resources(net, net.pops[p], a, b, hw)
                index.setdefault(p, []).append(len(blocks))
                blocks.append(Block(p, a, b, np.array([b - a, bits, ax, 0.0])))
        traffic: dict[tuple[int, int], float] = {}
        out_ax: dict[str, np.ndarray] = {}
        for pr in net.projections:
            if pr.dst not in index:
                continue
            dst = [(blocks[i].start, blocks[i].stop) for i in index[pr.dst]]
            src = [(0, net.pops[pr.src].size)] if pr.src not in index else [(blocks[i].start, blocks[i].stop) for i in index[pr.src]]
            reach = pr.reach(src, dst)  # [n_src_blocks, n_dst_blocks] presynaptic neurons routed
            rate = net.pops[pr.src].rate
            if pr.src in index:
                out_ax[pr.src] = out_ax.get(pr.src, 0) + reach.sum(1)
            for si, row in enumerate(reach):
                s = index[pr.src][si] if pr.src in index else -1 - list(net.pops).index(pr.src)
                for di in np.nonzero(row)[0]:
                    key = (s, index[pr.dst][di])
                    traffic[key] = traffic.get(key, 0.0) + rate * float(row[di])
        bad = None
        for p, ax in out_ax.items():
            for i, v in zip(index[p], ax):
                blocks[i].res[3] = v
            if np.max(ax) > hw["output_axons_per_core"]:
                bad = p
        if bad is None:
            return blocks, traffic
        if kmin[bad] >= net.pops[bad].size:
            raise SnncError(f"partition: node '{bad}': a neuron reaches more than output_axons_per_core = "
                            f"{hw['output_axons_per_core']} destination cores")
        kmin[bad] = min(net.pops[bad].size, 2 * len(index[bad]))
    raise SnncError(f"partition: could not satisfy output_axons_per_core = {hw['output_axons_per_core']} "
                    f"after {max_rounds} refinements")


def pack_cores(blocks: list[Block], traffic: dict, hw: dict) -> list[int]:
    """core id (0..n-1) of each block: heavy-edge merging under the summed core limits."""
    lim = np.array([hw[x] for x in LIMITS], float)
    parent = list(range(len(blocks)))
    res = [b.res.copy() for b in blocks]

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def merge(i: int, j: int) -> None:
        ri, rj = root(i), root(j)
        if ri != rj and np.all(res[ri] + res[rj] <= lim):
            parent[rj] = ri
            res[ri] = res[ri] + res[rj]

    for (s, d), w in sorted(traffic.items(), key=lambda kv: -kv[1]):
        if s >= 0:
            merge(s, d)
    # first-fit of the remaining small cores (fewer, fuller cores)
    roots = sorted({root(i) for i in range(len(blocks))}, key=lambda r: -res[r][0])
    small = [r for r in roots if np.all(res[r] <= lim / 2)]
    if len(small) <= 4096:
        for i, r in enumerate(small):
            for q in small[:i]:
                if root(q) == q:
                    merge(q, r)
                    if root(r) != r:
                        break
    ids: dict[int, int] = {}
    return [ids.setdefault(root(i), len(ids)) for i in range(len(blocks))]


def place_chips(n_cores: int, core_traffic: dict, hw: dict, name: str) -> list[int]:
    """chip of each core by recursive Kernighan–Lin bisection with chip-proportional side sizes."""
    cpc = hw["cores_per_chip"]
    need = math.ceil(n_cores / cpc)
    if need > hw["max_chips"]:
        raise SnncError(f"partition: the graph needs {n_cores} cores = {need} chips of {cpc} cores (largest population "
                        f"'{name}'), more than max_chips = {hw['max_chips']} of hardware '{hw['name']}'")
    G = nx.Graph()
    G.add_nodes_from(range(n_cores))
    for (a, b), w in core_traffic.items():
        if a != b:
            G.add_edge(a, b, weight=G.get_edge_data(a, b, {"weight": 0.0})["weight"] + w)
    chip = [0] * n_cores

    def split(nodes: list[int], chips: int, first: int) -> None:
        if chips <= 1:
            for n in nodes:
                chip[n] = first
            return
        c1 = chips // 2
        n1 = min(c1 * cpc, max(len(nodes) - (chips - c1) * cpc, round(len(nodes) * c1 / chips)))
        a, b = nodes[:n1], nodes[n1:]  # contiguous start: blocks of one population are adjacent
        if a and b:
            a, b = nx.algorithms.community.kernighan_lin_bisection(G.subgraph(nodes), partition=(set(a), set(b)),
                                                                   max_iter=10, weight="weight", seed=0)
            if len(a) != n1:  # KL keeps the side sizes but may return the sides swapped
                a, b = b, a
        split(sorted(a), c1, first)
        split(sorted(b), chips - c1, first + c1)

    split(list(range(n_cores)), need, 0)
    return chip


def sequential_cores(blocks: list[Block], hw: dict) -> list[int]:
    """The baseline packing: blocks in population order, first fit into the current core, then the next."""
    lim = np.array([hw[x] for x in LIMITS], float)
    core, used, cur = [], np.zeros(4), 0
    for b in blocks:
        if core and np.any(used + b.res > lim):
            cur, used = cur + 1, np.zeros(4)
        core.append(cur)
        used = used + b.res
    return core


def partition_network(net: Network, hw: dict, strategy: str = "traffic") -> dict:
    """The placement of `net` on `hw`: {"placement", "cores", "chips", "utilisation", "traffic", "mesh"}.

    strategy "traffic" (the pass): heavy-edge core packing, Kernighan–Lin chips, bisection-ordered meshes;
    "sequential" (the baseline): population order everywhere.
    """
    if strategy not in ("traffic", "sequential"):
        raise SnncError(f"partition: unknown strategy '{strategy}' (traffic or sequential)")
    blocks, traffic = make_blocks(net, hw)
    core = pack_cores(blocks, traffic, hw) if strategy == "traffic" else sequential_cores(blocks, hw)
    core_traffic: dict[tuple[int, int], float] = {}
    for (s, d), w in traffic.items():
        if s >= 0:
            key = (core[s], core[d])
            core_traffic[key] = core_traffic.get(key, 0.0) + w
    largest = max(net.pops.values(), key=lambda p: 0 if p.external else p.size).name
    n_cores = max(core) + 1 if core else 0
    if strategy == "traffic":
        chip_of_core = place_chips(n_cores, core_traffic, hw, largest)
    else:
        if math.ceil(n_cores / hw["cores_per_chip"]) > hw["max_chips"]:
            place_chips(n_cores, {}, hw, largest)  # the same error as the pass
        chip_of_core = [c // hw["cores_per_chip"] for c in range(n_cores)]
    xy = core_coordinates(chip_of_core, core_traffic, hw, ordered=strategy == "traffic")
    # global core numbers: chip·cores_per_chip + index on the chip
    local: dict[int, int] = {}
    gid = {}
    for c in range(len(chip_of_core)):
        ch = chip_of_core[c]
        gid[c] = ch * hw["cores_per_chip"] + local.setdefault(ch, 0)
        local[ch] += 1
    placement: dict[str, dict] = {}
    util: dict[int, np.ndarray] = {}
    lim = np.array([hw[x] for x in LIMITS], float)
    for i, b in enumerate(blocks):
        c = gid[core[i]]
        placement.setdefault(b.pop, {"blocks": []})["blocks"].append(
            {"neurons": [b.start, b.stop], "core": c, "chip": chip_of_core[core[i]],
             "xy": [int(v) for v in xy[core[i]]]})
        util[c] = util.get(c, 0) + b.res / lim
    t = {"within_core": 0.0, "between_cores": 0.0, "between_chips": 0.0, "from_host": 0.0}
    for (s, d), w in traffic.items():
        if s < 0:
            t["from_host"] += w
        elif core[s] == core[d]:
            t["within_core"] += w
        elif chip_of_core[core[s]] == chip_of_core[core[d]]:
            t["between_cores"] += w
        else:
            t["between_chips"] += w
    U = np.array(list(util.values())) if util else np.zeros((0, 4))
    per_core = {str(c): dict(zip(LIMITS, map(float, u))) for c, u in sorted(util.items())}
    mesh = {"core_mesh": list(mesh_shape(hw)), "chip_grid": list(grid_shape(len(set(chip_of_core)) or 1)),
            **hop_traffic(core_traffic, xy, hw)}
    return {"placement": placement, "cores": len(util), "chips": len(set(chip_of_core)), "blocks": len(blocks),
            "mesh": mesh, "strategy": strategy,
            "utilisation_mean": dict(zip(LIMITS, map(float, U.mean(0) if len(U) else np.zeros(4)))),
            "utilisation_max": dict(zip(LIMITS, map(float, U.max(0) if len(U) else np.zeros(4)))),
            "utilisation_per_core": per_core, "traffic": t}


def partition(graph: Graph, hardware: str | dict = "loihi2", calib: np.ndarray | None = None) -> Graph:
    """A new graph with graph.meta["placement"] and ["hardware"]; rates from a calibration run when given."""
    hw = load_hardware(hardware)
    rates = None
    if calib is not None:
        from snnc.runtime.numpy.runtime import NumpyRuntime

        _, act = NumpyRuntime(graph, dtype="float64").run(calib)
        rates = {n: float(v.sum()) / max(1, act.T * act.batch * act.sizes[n]) for n, v in act.nonzero.items()}
    net = network_from_graph(graph, rates)
    res = partition_network(net, hw)
    g = graph.copy()
    g.meta["placement"] = res.pop("placement")
    g.meta["hardware"] = hw["name"]
    record(g, "partition", hardware=hw["name"], weighted_by="measured activity" if rates else "connectivity", **res)
    return g


def resource_summary(graph: Graph, hardware: str | dict = "loihi1") -> dict:
    """The one Loihi resource model of partition, inspect and report: what the partition pass would place.

    {"hardware", "rows": per population {node, type, neurons, synapses, synmem_kb, fan_in, cores (its blocks)},
    "cores" (after packing), "chips", "error" (why the graph does not fit, else None)}.
    """
    hw = load_hardware(hardware)
    net = network_from_graph(graph)
    rows = []
    for name, pop in net.pops.items():
        if pop.external:
            continue
        bits, _ = _in_resources(net, pop, 0, pop.size, hw)
        rows.append({"node": name, "type": type(graph.nodes[name]).__name__, "neurons": pop.size,
                     "synapses": sum(pr.synapses(0, pop.size) for pr in net.into(name)),
                     "synmem_kb": bits / 8 / 1024, "fan_in": net.max_neuron_need(name, hw)[1], "cores": None})
    out = {"hardware": hw["name"], "rows": rows, "cores": None, "chips": None, "error": None}
    try:
        res = partition_network(net, hw)
    except SnncError as e:
        out["error"] = str(e)
        return out
    for r in rows:
        r["cores"] = len(res["placement"][r["node"]]["blocks"])
    out["cores"], out["chips"] = res["cores"], res["chips"]
    return out
