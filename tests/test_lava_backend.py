"""Lava backend: real Lava runs (through the .venv-lava subprocess) against the NumPy reference runtime."""
from __future__ import annotations

import numpy as np
import pytest

from factories_lava import lava_impulse, lif_cuba_float, lif_recurrent, mixed_latency, spikes, srnn_float
from snnc.backends.lava import target as lava_target
from snnc.compiler.ir import SPIKE
from snnc.runtime.lava.runner import lava_python
from snnc.runtime.numpy.runtime import NumpyRuntime


@pytest.fixture(scope="module", autouse=True)
def lava_env():
    """Fails (never skips) with the setup message when the Lava environment is missing."""
    return lava_python()


def _compare_float(g, x):
    ref, ract = NumpyRuntime(g, "float64", record=True).run(x)
    out, act = lava_target.run_graph(g, x, {"record": list(g.nodes), "dtype": "float64"})
    for n in g.nodes:
        r, y = ract.traces[n]["out"], act.traces[n]["out"]
        if g.nodes[n].out_kind == SPIKE:
            assert np.mean(r == y) >= 0.999, n
        else:
            np.testing.assert_allclose(y, r, rtol=1e-9, atol=1e-9, err_msg=n)
        for var in ract.traces[n]:
            np.testing.assert_allclose(act.traces[n][var], ract.traces[n][var], rtol=1e-9, atol=1e-9, err_msg=f"{n}.{var}")
        assert np.array_equal(act.nonzero[n], ract.nonzero[n]), n
    for o in g.outputs:
        assert out[o].shape == ref[o].shape
    return ract


def test_float_lif_recurrent_matches_numpy():
    ract = _compare_float(lif_recurrent(), spikes(20, 3, 6))
    assert ract.nonzero["lif1"].sum() > 10  # the comparison must involve real spiking


def test_float_alif_cuba_skip_and_delays_retimed():
    ract = _compare_float(mixed_latency(), spikes(25, 2, 6, seed=1))
    assert ract.nonzero["a1"].sum() > 5 and ract.nonzero["c2"].sum() > 5


def _quantized(g):
    from snnc.compiler.passes.quantize import quantize
    return quantize(g, "loihi")


def _compare_fixed(q, x):
    ref, ract = NumpyRuntime(q, "float64", record=True).run(x)
    out, act = lava_target.run_graph(q, x, {"record": list(q.nodes)})
    for n in q.nodes:
        for var, r in ract.traces[n].items():
            y = act.traces[n][var]
            assert y.dtype == np.int64 or var == "out", (n, var, y.dtype)
            assert np.array_equal(np.asarray(y, np.int64), np.asarray(r, np.int64)), f"{n}.{var} differs"
    for o in q.outputs:
        assert np.array_equal(out[o], ref[o])
    return ract


def test_fixed_lava_lif_impulse_response():
    x = np.zeros((8, 1, 1))
    x[0] = 1
    _, ract = NumpyRuntime(lava_impulse(), "float64", record=True).run(x)
    _, act = lava_target.run_graph(lava_impulse(), x, {"record": ["lif"]})
    want = [8192, 12286, 14331, 15351, 15859, 16111, 16235, 16295]  # Lava's tests/lava/proc/lif/test_models.py
    assert act.traces["lif"]["v"][:, 0, 0].tolist() == want
    assert ract.traces["lif"]["v"][:, 0, 0].tolist() == want


def test_fixed_lif_cuba_recurrent_bit_exact():
    q = _quantized(lif_cuba_float())
    assert {type(n).__name__ for n in q.nodes.values()} >= {"LoihiLIF", "LoihiDense"}
    ract = _compare_fixed(q, spikes(25, 2, 8, seed=4))
    assert ract.nonzero["lif1"].sum() > 5 and ract.nonzero["c2"].sum() > 5


def test_fixed_alif_li_bit_exact():
    q = _quantized(srnn_float())
    assert "LoihiALIF" in {type(n).__name__ for n in q.nodes.values()}
    ract = _compare_fixed(q, spikes(25, 2, 10, seed=5))
    assert ract.nonzero["a1"].sum() > 5
