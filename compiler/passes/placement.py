"""Cores on a 2-D mesh, chips on a grid: where each core sits and how far its spikes travel (DESIGN §7).

A chip's cores form a `core_mesh` [columns, rows] (Loihi 2: 128 cores as 16 x 8;
the exact floorplan is not public) and chips tile a `chip_grid`. A spike message
between two cores costs the Manhattan distance between them on the global mesh
(chips side by side), and crosses chip boundaries as often as the chip grid
distance. The partition pass orders each chip's cores by recursive
Kernighan–Lin bisection of their traffic and lays that order along a snake
(boustrophedon) path, so cores that talk sit close; the baseline fills cores and
chips in population order.
"""
from __future__ import annotations

import math

import networkx as nx
import numpy as np


def mesh_shape(hw: dict) -> tuple[int, int]:
    """(columns, rows) of one chip's core mesh: `core_mesh` from the hardware file, else near-square."""
    if "core_mesh" in hw:
        w, h = (int(v) for v in hw["core_mesh"])
        return w, h
    n = hw["cores_per_chip"]
    h = int(math.sqrt(n))
    while n % h:
        h -= 1
    return n // h, h


def grid_shape(chips: int) -> tuple[int, int]:
    """(columns, rows) of a near-square grid holding `chips` chips."""
    h = max(1, int(math.sqrt(chips)))
    return math.ceil(chips / h), h


def snake(i: int, w: int) -> tuple[int, int]:
    """(x, y) of the i-th position on a boustrophedon path over rows of width w."""
    y, x = divmod(i, w)
    return (x if y % 2 == 0 else w - 1 - x), y


def bisection_order(nodes: list[int], G: nx.Graph) -> list[int]:
    """Nodes ordered so that recursive Kernighan–Lin halves stay contiguous (heavy edges end up close)."""
    if len(nodes) <= 2:
        return list(nodes)
    half = len(nodes) // 2
    a, b = nx.algorithms.community.kernighan_lin_bisection(
        G.subgraph(nodes), partition=(set(nodes[:half]), set(nodes[half:])), max_iter=5, weight="weight", seed=0)
    return bisection_order(sorted(a), G) + bisection_order(sorted(b), G)


def core_coordinates(chip_of_core: list[int], core_traffic: dict, hw: dict, ordered: bool = True) -> np.ndarray:
    """[n_cores, 2] global (x, y) of every core: chips on a grid, each chip's cores on its mesh."""
    n = len(chip_of_core)
    w, h = mesh_shape(hw)
    chips = sorted(set(chip_of_core))
    gw, _ = grid_shape(len(chips))
    G = nx.Graph()
    if ordered:
        G.add_nodes_from(range(n))
        for (a, b), wt in core_traffic.items():
            if a != b and chip_of_core[a] == chip_of_core[b]:
                G.add_edge(a, b, weight=G.get_edge_data(a, b, {"weight": 0.0})["weight"] + wt)
    xy = np.zeros((n, 2), np.int64)
    for k, ch in enumerate(chips):
        cores = [c for c in range(n) if chip_of_core[c] == ch]
        order = bisection_order(cores, G) if ordered else cores
        cx, cy = snake(k, gw)
        for i, c in enumerate(order):
            x, y = snake(i, w) if ordered else (i % w, i // w)
            xy[c] = (cx * w + x, cy * h + y)
    return xy


def hop_traffic(core_traffic: dict, xy: np.ndarray, hw: dict) -> dict[str, float]:
    """Spike messages per step weighted by mesh hops, and by chip-boundary crossings."""
    w, h = mesh_shape(hw)
    hops = chip_hops = msgs = 0.0
    for (a, b), wt in core_traffic.items():
        if a == b:
            continue
        d = np.abs(xy[a] - xy[b])
        hops += wt * float(d.sum())
        chip_hops += wt * float(abs(xy[a][0] // w - xy[b][0] // w) + abs(xy[a][1] // h - xy[b][1] // h))
        msgs += wt
    return {"hop_messages": hops, "chip_crossings": chip_hops,
            "mean_hops_per_message": hops / msgs if msgs else 0.0}
