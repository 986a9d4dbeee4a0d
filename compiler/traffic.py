"""Spike traffic of a partitioned graph: messages per spike and destination block, by distance (DESIGN §7).

`count` (compiler/cost.py) adds these counts when the graph carries the partition
pass's placement (`graph.meta["placement"]`): a spike costs one message per
destination block it has a synapse in, within a core, between cores or between chips.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.activity import Activity
from snnc.compiler.cost import Cost, CostError, CostTable
from snnc.compiler.ir import SPIKE, Graph
from snnc.compiler.primitives import Dense

Block = tuple[int, int, int, int]  # (start, stop, core, chip)


def _blocks(graph: Graph, name: str) -> list[Block] | None:
    """Placement blocks of node `name` (contract of the partition pass), or None if unplaced."""
    entry = graph.meta["placement"].get(name)
    if entry is None:
        return None
    try:
        return [(int(b["neurons"][0]), int(b["neurons"][1]), int(b["core"]), int(b["chip"])) for b in entry["blocks"]]
    except (KeyError, TypeError, IndexError, ValueError) as e:
        raise CostError(f"node '{name}': malformed placement entry in graph.meta['placement'] ({e!r})") from None


def _destinations(graph: Graph, src: str) -> list[tuple[np.ndarray, list[Block]]]:
    """For each synapse population fed by `src`: (connectivity [out, n_src] bool, blocks of its targets)."""
    out = []
    n = graph.nodes[src].size
    for e in graph.out_edges(src):
        dst = graph.nodes[e.dst]
        if isinstance(dst, Dense):
            conn = dst.W != 0
            blocks = _blocks(graph, e.dst)
            if blocks is None:  # synapses live with the neurons they feed
                targets = [f.dst for f in graph.out_edges(e.dst) if _blocks(graph, f.dst) is not None]
                for t in targets:
                    out.append((conn, _blocks(graph, t)))
                continue
            out.append((conn, blocks))
        elif _blocks(graph, e.dst) is not None:  # one-to-one spike edge
            out.append((np.eye(dst.size, n, dtype=bool), _blocks(graph, e.dst)))
    return out


def add_traffic(graph: Graph, activity: Activity, table: CostTable) -> None:
    """Spike messages per (source neuron spike, destination block it has a synapse in), by distance."""
    mask = (np.arange(activity.T)[:, None] < np.asarray(activity.steps)[None, :]).astype(np.float64)
    for name, node in graph.nodes.items():
        src_blocks = _blocks(graph, name)
        if node.out_kind != SPIKE or src_blocks is None:
            continue
        tr = activity.traces.get(name, {}).get("out")
        if tr is not None:
            per = ((np.asarray(tr) != 0) * mask[:, :, None]).sum(axis=0)  # [B, n]
        else:
            tot = (np.asarray(activity.nonzero[name], dtype=np.float64) * mask).sum(axis=0)
            per = np.repeat(tot[:, None] / node.size, node.size, axis=1)
            note = f"node '{name}' was not traced: its spike traffic assumes spikes spread uniformly over its neurons"
            if note not in table.notes:
                table.notes.append(note)
        B = per.shape[0]
        core, chip, off = np.zeros(B), np.zeros(B), np.zeros(B)
        for conn, dst_blocks in _destinations(graph, name):
            for (a, b, c_src, k_src) in src_blocks:
                for (lo, hi, c_dst, k_dst) in dst_blocks:
                    # a spike travels to a destination block only if it has a synapse there
                    reach = conn[lo:hi, a:b].any(axis=0).astype(np.float64)
                    msgs = per[:, a:b] @ reach
                    if k_src != k_dst:
                        off += msgs
                    elif c_src != c_dst:
                        chip += msgs
                    else:
                        core += msgs
        table.nodes[name] = table.nodes[name] + Cost(spikes_core=core, spikes_chip=chip, spikes_offchip=off)
