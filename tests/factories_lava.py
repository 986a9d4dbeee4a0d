"""Small graphs for the Lava backend tests: recurrence, skip connections, delays, biases, readouts."""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import Graph
from snnc.compiler.primitives import ALIF, LI, LIF, CubaLIF, Dense, Input
from snnc.compiler.primitives.loihi_dense import LoihiDense
from snnc.compiler.primitives.loihi_lif import LoihiLIF


def lif_recurrent(seed: int = 0) -> Graph:
    """x -> fc1 -> LIF (+ recurrent Dense, delay 1) -> fc2 -> LI."""
    rng = np.random.default_rng(seed)
    g = Graph()
    g.add("x", Input(6, "spike"))
    g.add("fc1", Dense.of(rng.normal(0, 0.8, (5, 6)), rng.normal(0, 0.1, 5)))
    g.add("lif1", LIF(np.full(5, 0.9), np.full(5, 0.5), np.full(5, 0.3)))
    g.add("rec", Dense.of(rng.normal(0, 0.5, (5, 5))))
    g.add("fc2", Dense.of(rng.normal(0, 0.8, (3, 5)), rng.normal(0, 0.1, 3)))
    g.add("out", LI(np.full(3, 0.8), np.full(3, 0.6)))
    for s, d, dl in [("x", "fc1", 0), ("fc1", "lif1", 0), ("lif1", "rec", 1), ("rec", "lif1", 0),
                     ("lif1", "fc2", 0), ("fc2", "out", 0)]:
        g.connect(s, d, delay=dl)
    g.outputs = ["out", "lif1"]
    return g


def mixed_latency(seed: int = 1) -> Graph:
    """ALIF with recurrence, a CubaLIF, a skip connection into the readout, a delay-2 edge into an output Dense."""
    rng = np.random.default_rng(seed)
    g = Graph()
    g.add("x", Input(6, "spike"))
    g.add("fc1", Dense.of(rng.normal(0, 0.8, (5, 6)), rng.normal(0, 0.1, 5)))
    g.add("a1", ALIF(np.full(5, 0.9), np.full(5, 0.95), np.full(5, 0.1), np.full(5, 1.8)))
    g.add("rec", Dense.of(rng.normal(0, 0.5, (5, 5)), rng.normal(0, 0.1, 5)))
    g.add("fc2", Dense.of(rng.normal(0, 0.8, (4, 5)), rng.normal(0, 0.1, 4)))
    g.add("c2", CubaLIF(np.full(4, 0.7), np.full(4, 0.9), np.full(4, 0.6), np.full(4, 0.2)))
    g.add("skip", Dense.of(rng.normal(0, 0.8, (3, 6))))
    g.add("fc3", Dense.of(rng.normal(0, 0.8, (3, 4)), rng.normal(0, 0.1, 3)))
    g.add("out", LI(np.full(3, 0.8), np.full(3, 0.5)))
    g.add("d", Dense.of(rng.normal(0, 0.8, (2, 4)), rng.normal(0, 0.1, 2)))
    for s, d, dl in [("x", "fc1", 0), ("fc1", "a1", 0), ("a1", "rec", 0), ("rec", "a1", 1), ("a1", "fc2", 0),
                     ("fc2", "c2", 0), ("c2", "fc3", 0), ("fc3", "out", 0), ("x", "skip", 0), ("skip", "out", 0),
                     ("c2", "d", 2)]:
        g.connect(s, d, delay=dl)
    g.outputs = ["out", "d", "c2"]
    return g


def lif_cuba_float(seed: int = 2) -> Graph:
    """A LIF layer with recurrence feeding a CubaLIF layer with recurrence (quantizable for Loihi)."""
    rng = np.random.default_rng(seed)
    g = Graph()
    g.add("x", Input(8, "spike"))
    g.add("fc1", Dense.of(rng.normal(0.3, 0.6, (6, 8)), rng.normal(0.05, 0.05, 6)))
    g.add("lif1", LIF(np.full(6, 0.85), np.full(6, 1.0), np.full(6, 0.8)))
    g.add("rec1", Dense.of(rng.normal(0, 0.4, (6, 6))))
    g.add("fc2", Dense.of(rng.normal(0.3, 0.6, (4, 6))))
    g.add("c2", CubaLIF(np.full(4, 0.6), np.full(4, 0.9), np.full(4, 1.0), np.full(4, 0.7)))
    g.add("rec2", Dense.of(rng.normal(0, 0.4, (4, 4))))
    for s, d, dl in [("x", "fc1", 0), ("fc1", "lif1", 0), ("lif1", "rec1", 1), ("rec1", "lif1", 0),
                     ("lif1", "fc2", 0), ("fc2", "c2", 0), ("c2", "rec2", 1), ("rec2", "c2", 0)]:
        g.connect(s, d, delay=dl)
    g.outputs = ["c2", "lif1"]
    return g


def srnn_float(seed: int = 3, n_in: int = 10, n_h: int = 8, n_out: int = 3) -> Graph:
    """A tiny seed-000 SRNN: Input -> Dense -> ALIF (+rec) -> Dense -> LI."""
    rng = np.random.default_rng(seed)
    g = Graph()
    g.add("x", Input(n_in, "spike"))
    g.add("fc1", Dense.of(rng.normal(0.2, 0.8, (n_h, n_in)), rng.normal(0, 0.1, n_h)))
    g.add("a1", ALIF(np.full(n_h, 0.9), np.full(n_h, 0.95), np.full(n_h, 0.2), np.full(n_h, 1.0)))
    g.add("rec", Dense.of(rng.normal(0, 0.5, (n_h, n_h))))
    g.add("fc2", Dense.of(rng.normal(0, 0.8, (n_out, n_h)), rng.normal(0, 0.1, n_out)))
    g.add("out", LI(np.full(n_out, 0.8), np.full(n_out, 0.2)))
    for s, d, dl in [("x", "fc1", 0), ("fc1", "a1", 0), ("a1", "rec", 1), ("rec", "a1", 0), ("a1", "fc2", 0),
                     ("fc2", "out", 0)]:
        g.connect(s, d, delay=dl)
    g.outputs = ["out"]
    return g


def lava_impulse() -> Graph:
    """Lava's own LIF impulse test: du=0, dv=2048, an input of 128 at the first step only."""
    g = Graph()
    g.add("x", Input(1, "graded"))
    g.add("w", LoihiDense(np.array([[128]]), 0, 8, "mixed"))
    g.add("lif", LoihiLIF(np.array([0]), np.array([2048]), np.array([100000])))
    g.connect("x", "w")
    g.connect("w", "lif")
    g.outputs = ["lif"]
    return g


def spikes(T: int, B: int, F: int, rate: float = 0.4, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((T, B, F)) < rate).astype(np.float64)
