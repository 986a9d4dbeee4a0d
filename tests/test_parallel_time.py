"""Parallel in time: the closed-form scan, the prefix it applies to, the path the runtime chose, equality to stepwise."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import recurrent_graph, spikes
from snnc.compiler.ir import Graph
from snnc.compiler.primitives import LI, SPSN, Dense, Input
from snnc.runtime.numpy import parallel
from snnc.runtime.numpy.runtime import NumpyRuntime


def test_scan_matches_the_recurrence_by_hand():
    # s_t = a·s_{t-1} + u_t from s_{-1} = 2: a = 0.5, u = 1, 0, 4 -> 2, 1, 4.5; a = 0.1 (short chunks), u = 1, 1, 1
    a = np.array([0.5, 0.1])
    u = np.array([[[1.0, 1.0]], [[0.0, 1.0]], [[4.0, 1.0]]])
    s = parallel.scan(a, u, np.array([2.0, 0.0]))
    np.testing.assert_allclose(s[:, 0, 0], [2.0, 1.0, 4.5], rtol=1e-14)
    np.testing.assert_allclose(s[:, 0, 1], [1.0, 1.1, 1.11], rtol=1e-14)


def test_scan_long_sequences_with_fast_decay_stay_finite():
    rng = np.random.default_rng(0)
    a = np.array([0.05, 0.5, 0.999])
    u = rng.normal(0, 1, (3000, 2, 3))
    s, ref = parallel.scan(a, u, np.zeros((2, 3))), np.zeros((3000, 2, 3))
    prev = np.zeros((2, 3))
    for t in range(3000):
        prev = a * prev + u[t]
        ref[t] = prev
    np.testing.assert_allclose(s, ref, rtol=1e-9, atol=1e-9)


def spsn_stack(n=(12, 10, 8, 3), stochastic=False, seed=0) -> Graph:
    """Input -> Dense -> SPSN -> Dense -> SPSN -> Dense -> LI: no reset, no feedback, all of it parallel in time."""
    rng = np.random.default_rng(seed)
    g = Graph()
    g.add("x", Input(n[0], "spike"))
    prev = "x"
    for k, (a, b) in enumerate(zip(n[:-2], n[1:-1])):
        g.add(f"fc{k}", Dense(rng.normal(0, 1, (b, a)), rng.normal(0, 0.1, b)))
        g.add(f"s{k}", SPSN(rng.uniform(0.5, 0.95, b), rng.uniform(0.8, 0.99, b), stochastic))
        g.connect(prev, f"fc{k}")
        g.connect(f"fc{k}", f"s{k}")
        if stochastic:
            g.add(f"u{k}", Input(b, "graded"))
            g.connect(f"u{k}", f"s{k}", port="noise")
        prev = f"s{k}"
    g.add("ro", Dense.of(rng.normal(0, 1, (n[-1], n[-2]))))
    g.add("li", LI(rng.uniform(0.8, 0.99, n[-1]), rng.uniform(0.1, 1, n[-1])))
    g.connect(prev, "ro")
    g.connect("ro", "li")
    g.outputs = ["li"]
    return g


@pytest.mark.parametrize("stochastic", [False, True])
def test_parallel_equals_stepwise_float64(stochastic):
    g = spsn_stack(stochastic=stochastic)
    T, B = 200, 3
    x = {"x": spikes(T, B, 12, 0.3, seed=1)}
    rng = np.random.default_rng(2)
    for n in g.inputs[1:]:
        x[n] = rng.random((T, B, g.nodes[n].size))
    stepwise = NumpyRuntime(g, "float64", record=True)  # recording keeps the step loop: the reference
    y_ref, a_ref = stepwise.run(x)
    rt = NumpyRuntime(g, "float64")
    y, a = rt.run(x)
    assert rt.last_path["parallel"] == ["fc0", "s0", "fc1", "s1", "ro", "li"]
    assert rt.last_path["stepwise"] == []
    np.testing.assert_allclose(y["li"], y_ref["li"], rtol=0, atol=1e-6)
    for n in a_ref.nonzero:
        np.testing.assert_array_equal(a.nonzero[n], a_ref.nonzero[n], err_msg=n)
    # the final states are where the step loop leaves them: streaming continues from the same point
    for n in ("s0", "s1", "li"):
        for k, v in stepwise.state[n].items():
            np.testing.assert_allclose(rt.state[n][k], v, atol=1e-9)


def test_path_choice_short_sequences_and_feedback():
    g = spsn_stack()
    rt = NumpyRuntime(g, "float64")
    rt.run({"x": spikes(parallel.MIN_STEPS - 1, 1, 12)})  # too short: only the input projection is hoisted
    assert rt.last_path["parallel"] == ["fc0"]
    rec = recurrent_graph("ALIF")  # the recurrent layer and all after it need the step loop
    rt = NumpyRuntime(rec, "float64")
    y, _ = rt.run(spikes(100, 2, 6))
    assert rt.last_path["parallel"] == ["fc1"] and "n1" in rt.last_path["stepwise"]
    y_ref, _ = NumpyRuntime(rec, "float64", record=True).run(spikes(100, 2, 6))
    np.testing.assert_allclose(y["out"], y_ref["out"], rtol=1e-12, atol=1e-12)
