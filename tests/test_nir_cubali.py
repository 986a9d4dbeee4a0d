"""NIR's CubaLI is snnc's CubaLI both ways: NIR's equations by hand (v_leak included), and IR -> file -> IR exact."""
from __future__ import annotations

import nir  # the nir extra is part of the main environment; a missing package fails here, never skips
import numpy as np
import pytest

from snnc.compiler import CubaLI, LI
from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives import Dense, Input
from snnc.frontends.nir_io import from_nir, read_nir, to_nir, write_nir
from snnc.runtime.numpy.runtime import NumpyRuntime


def _one(node) -> nir.NIRGraph:
    return nir.NIRGraph({"x": nir.Input(np.array([1])), "c": node, "y": nir.Output(np.array([1]))},
                        [("x", "c"), ("c", "y")], type_check=False)


def _at_rest(n: int, rng=None) -> CubaLI:
    return CubaLI.example(n, rng).replace(i0=np.zeros(n), v0=np.zeros(n))  # NIR neurons start at rest


def _impulse(g: Graph) -> np.ndarray:
    x = np.zeros((3, 1, 1))
    x[0] = 1.0
    return NumpyRuntime(g, "float64").run(x)[0]["c"][:, 0, 0]


def test_cubali_with_v_leak_follows_nir_euler_golden_numbers():
    """tau_syn 2, tau_mem 4, r 2, v_leak 0.5, w_in 1.5, dt 0.5; input 1 at t = 0, by hand from NIR's ODEs:

    i += 0.25·(−i + 1.5·I), v += 0.125·(0.5 − v + 2·i): i0 = 0.375, v0 = 0.125·1.25 = 0.15625;
    i1 = 0.28125, v1 = 0.875·v0 + 0.125·1.0625 = 0.26953125; i2 = 0.2109375, v2 = 0.35107421875.
    """
    one = np.ones(1)
    g = from_nir(_one(nir.CubaLI(2 * one, 4 * one, 2 * one, 0.5 * one, 1.5 * one)), dt=0.5)
    assert [type(n).__name__ for n in g.nodes.values()] == ["Input", "CubaLI"]
    np.testing.assert_allclose(_impulse(g), [0.15625, 0.26953125, 0.35107421875], rtol=1e-13)


def test_li_with_v_leak_imports_as_cubali_without_synapse():
    """LI tau 2, r 2, v_leak 0.5, dt 0.5: v += 0.25·(0.5 − v + 2·I) gives 0.625, 0.59375, 0.5703125."""
    one = np.ones(1)
    g = from_nir(_one(nir.LI(2 * one, 2 * one, 0.5 * one)), dt=0.5)
    c = g.nodes["c"]
    assert isinstance(c, CubaLI) and np.all(c.alpha_syn == 0)
    np.testing.assert_allclose(_impulse(g), [0.625, 0.59375, 0.5703125], rtol=1e-13)
    assert isinstance(from_nir(_one(nir.LI(2 * one, 2 * one, 0 * one)), dt=0.5).nodes["c"], LI)


@pytest.mark.parametrize("method", ["euler", "exact"])
@pytest.mark.parametrize("zero_syn", [False, True], ids=["cubali", "alpha_syn-0"])
def test_cubali_roundtrip_through_a_nir_file_is_exact(tmp_path, method, zero_syn):
    rng = np.random.default_rng(3)
    node = _at_rest(5, rng)
    if zero_syn:
        node = node.replace(alpha_syn=np.zeros(5))
    g = Graph(meta={"dt": 0.25})
    g.add("x", Input(3))
    g.add("fc", Dense(rng.normal(0, 1, (5, 3)), np.zeros(5)))
    g.add("c", node)
    g.connect("x", "fc")
    g.connect("fc", "c")
    g.outputs = ["c"]
    write_nir(g, tmp_path / "m.nir", discretization=method)
    written = nir.read(tmp_path / "m.nir").nodes["c"]
    assert type(written).__name__ == ("LI" if zero_syn else "CubaLI")
    back = read_nir(tmp_path / "m.nir", discretization=method)
    assert type(back.nodes["c"]) is CubaLI
    for k, v in node.params().items():
        np.testing.assert_array_equal(getattr(back.nodes["c"], k), v, err_msg=k)
    x = np.random.default_rng(4).normal(0, 1, (20, 2, 3))
    np.testing.assert_array_equal(NumpyRuntime(back, "float64").run(x)[0]["c"], NumpyRuntime(g, "float64").run(x)[0]["c"])


@pytest.mark.parametrize("change, words", [
    (dict(alpha_mem=np.ones(4)), ["'n' (CubaLI)", "alpha_mem"]),
    (dict(alpha_syn=np.array([0.0, 0.5, 0.5, 0.5])), ["'n' (CubaLI)", "alpha_syn"]),
    (dict(i0=np.full(4, 0.1)), ["'n' (CubaLI)", "initial state i0"]),
])
def test_cubali_without_nir_form_is_named(change, words):
    g = Graph()
    g.add("x", Input(4))
    g.add("n", _at_rest(4).replace(**change))
    g.connect("x", "n")
    g.outputs = ["n"]
    with pytest.raises(SnncError) as e:
        to_nir(g)
    assert all(w in str(e.value) for w in words), str(e.value)
