"""Small factories shared by the tests."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler import ALIF, LI, LIF, CubaLIF, Dense, Graph, Input

REPO = Path(__file__).resolve().parents[1]
SNNC = [sys.executable, "-m", "snnc.cli.main"]


def neuron_of(kind: str, n: int, rng: np.random.Generator, reset: str = "zero"):
    """A population of `n` neurons of primitive `kind` with random per-neuron parameters."""
    if kind == "LIF":
        return LIF(alpha=rng.uniform(0.8, 0.99, n), gain=rng.uniform(0.1, 1.0, n), theta=rng.uniform(0.5, 1.5, n),
                   reset=reset, v0=rng.uniform(0, 0.5, n))
    if kind == "CubaLIF":
        return CubaLIF(alpha_syn=rng.uniform(0.5, 0.9, n), alpha_mem=rng.uniform(0.8, 0.99, n), gain=rng.uniform(0.1, 1, n),
                       theta=rng.uniform(0.5, 1.5, n), bias=rng.uniform(0, 0.05, n), reset=reset)
    if kind == "ALIF":
        return ALIF(alpha=rng.uniform(0.8, 0.99, n), rho=rng.uniform(0.9, 0.999, n), b0=0.01, beta=1.8, R=1.0, b_init=0.01)
    if kind == "LI":
        return LI(alpha=rng.uniform(0.8, 0.99, n), gain=rng.uniform(0.1, 1, n))
    raise ValueError(kind)


def recurrent_graph(kind: str = "LIF", sizes=(6, 5, 3), reset: str = "zero", seed: int = 0, delay: int = 1) -> Graph:
    """Input -> Dense -> neuron (recurrent through a delayed Dense) -> Dense -> LI."""
    rng = np.random.default_rng(seed)
    F, H, O = sizes
    g = Graph(meta={"dt": 1.0})
    g.add("x", Input(F, "spike"))
    g.add("fc1", Dense(rng.normal(0, 1, (H, F)), rng.normal(0, 0.1, H)))
    g.add("n1", neuron_of(kind, H, rng, reset))
    g.add("rec1", Dense.of(rng.normal(0, 0.5, (H, H))))
    g.add("fc2", Dense.of(rng.normal(0, 1, (O, H))))
    g.add("out", neuron_of("LI", O, rng))
    g.connect("x", "fc1")
    g.connect("fc1", "n1")
    g.connect("n1", "rec1", delay=delay)
    g.connect("rec1", "n1")
    g.connect("n1", "fc2")
    g.connect("fc2", "out")
    g.outputs = ["out"]
    return g


def spikes(T: int, B: int, F: int, rate: float = 0.3, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((T, B, F)) < rate).astype(np.float64)


@pytest.fixture
def graph() -> Graph:
    return recurrent_graph()


@pytest.fixture
def run_snnc(tmp_path):
    """Run the CLI as a subprocess in tmp_path; returns CompletedProcess."""
    import subprocess

    def run(*args: str, check: bool = False):
        env = dict(os.environ)
        p = subprocess.run([*SNNC, *args], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
        if check and p.returncode != 0:
            raise AssertionError(f"snnc {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p
    return run


@pytest.fixture
def memoryless(monkeypatch):
    """Accept decays of 0 (memoryless neurons: v = gain·I) in hand-derived test graphs, through verify's documented
    opt-out of its (0, 1] decay check (SNNC_MAX_CHECK_DECAYS=0)."""
    monkeypatch.setenv("SNNC_MAX_CHECK_DECAYS", "0")
