"""The compiled backend beyond the matrix: errors name the node, the primitive and the backend; missing numba."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from snnc.compiler.errors import LoweringError, SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives import LI, Input
from snnc.runtime.cpu.runtime import CpuRuntime


def test_unsupported_step_names_node_primitive_backend(monkeypatch):
    def step(self, ops, p, s, x):
        return ops.erf(x["in"]), {"v": s["v"]}
    monkeypatch.setattr(LI, "step", step, raising=False)
    g = Graph()
    g.add("x", Input(3, "graded"))
    g.add("out", LI(np.full(3, 0.9), np.ones(3)))
    g.connect("x", "out")
    g.outputs = ["out"]
    with pytest.raises(LoweringError, match=r"node 'out' \(LI\): cannot compile its step \(op 'erf' .*backend 'cpu'"):
        CpuRuntime(g, "float64")


def test_primitive_without_step_names_node_primitive_backend(monkeypatch):
    monkeypatch.setattr(LI, "step", None, raising=False)
    g = Graph()
    g.add("x", Input(3, "graded"))
    g.add("ro", LI(np.full(3, 0.9), np.ones(3)))
    g.connect("x", "ro")
    g.outputs = ["ro"]
    with pytest.raises(LoweringError, match=r"node 'ro' \(LI\): no step definition for backend 'cpu'"):
        CpuRuntime(g, "float64")


def test_missing_numba_is_one_line(monkeypatch):
    from snnc.runtime.cpu import kernels
    monkeypatch.setitem(sys.modules, "numba", None)
    with pytest.raises(SnncError, match=r"the cpu target needs numba .*pip install numba=="):
        kernels.require_numba()

