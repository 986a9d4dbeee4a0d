"""Parallel in time: the closed-form scan, the prefix it applies to, the path the runtime chose, equality to stepwise."""
from __future__ import annotations

import numpy as np

from snnc.runtime.numpy import parallel


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
