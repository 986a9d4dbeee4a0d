"""Small hand-built graphs for the pass tests."""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import Graph
from snnc.compiler.primitives import ALIF, LI, LIF, CubaLIF, Dense, Input


def srnn(n_in: int = 12, n_h: int = 16, n_out: int = 4, seed: int = 0, bias: bool = True) -> Graph:
    """Input -> Dense -> ALIF (+ recurrent Dense, delay 1) -> Dense -> LI, like the zoo's SRNN."""
    r = np.random.default_rng(seed)
    g = Graph(meta={"dt": 1.0})
    g.add("x", Input(n_in, "spike"))
    g.add("fc1", Dense(r.normal(0, 0.6, (n_h, n_in)), r.normal(0, 0.05, n_h) if bias else np.zeros(n_h)))
    g.add("rec1", Dense.of(r.normal(0, 0.3, (n_h, n_h))))
    g.add("alif1", ALIF(alpha=np.exp(-1 / r.uniform(5, 20, n_h)), rho=np.exp(-1 / r.uniform(20, 100, n_h)),
                        b0=0.5, beta=0.8, R=1.0))
    g.add("fc2", Dense(r.normal(0, 0.5, (n_out, n_h)), r.normal(0, 0.05, n_out) if bias else np.zeros(n_out)))
    g.add("out", LI(alpha=np.full(n_out, 0.9), gain=np.full(n_out, 0.1)))
    g.connect("x", "fc1")
    g.connect("fc1", "alif1")
    g.connect("alif1", "rec1", delay=1)
    g.connect("rec1", "alif1")
    g.connect("alif1", "fc2")
    g.connect("fc2", "out")
    g.outputs = ["out"]
    return g


def lif_chain(n_in: int = 10, n_h: int = 12, seed: int = 1, cuba: bool = False) -> Graph:
    """Input -> Dense -> LIF (or CubaLIF) -> Dense -> LI."""
    r = np.random.default_rng(seed)
    g = Graph()
    g.add("x", Input(n_in, "spike"))
    g.add("fc1", Dense(r.normal(0, 0.8, (n_h, n_in)), np.zeros(n_h) if cuba else r.normal(0, 0.05, n_h)))
    if cuba:
        g.add("h", CubaLIF(alpha_syn=np.full(n_h, 0.7), alpha_mem=np.full(n_h, 0.9), gain=0.5, theta=1.0, bias=0.02))
    else:
        g.add("h", LIF(alpha=np.full(n_h, 0.9), gain=0.7, theta=1.0, reset="subtract"))
    g.add("fc2", Dense.of(r.normal(0, 0.5, (3, n_h))))
    g.add("out", LI(alpha=np.full(3, 0.8), gain=np.full(3, 0.2)))
    for a, b in (("x", "fc1"), ("fc1", "h"), ("h", "fc2"), ("fc2", "out")):
        g.connect(a, b)
    g.outputs = ["out"]
    return g


def spikes(T: int, B: int, n: int, p: float = 0.2, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((T, B, n)) < p).astype(np.float64)
