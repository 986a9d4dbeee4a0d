"""The benchmark's guard (bench/report.py): a peer whose output is off the reference gets no ratio, in the
printed table and in the README summary; checked peers get ratios computed from the measured times."""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
import report  # noqa: E402
from peers import Peer  # noqa: E402


def _run(capsys, wrong: bool):
    ref = np.linspace(0, 1, 60).reshape(10, 2, 3)
    bad = ref + (0.5 if wrong else 0.0)
    peers = {"JAX jit(lax.scan)": Peer(output=bad), report.ZOO: Peer(output=ref),
             report.NUMPY: Peer(output=ref), report.CPU: Peer(output=ref)}
    # seconds per call over T=10 steps: JAX 1 ms, zoo 4 ms, numpy 2 ms, cpu 0.1 ms
    times = {"JAX jit(lax.scan)": [1e-3], report.ZOO: [4e-3], report.NUMPY: [2e-3], report.CPU: [1e-4]}
    res = report.print_table("t", peers, times, 10, 1, {"ref": ref})
    return res, capsys.readouterr().out


def test_wrong_peer_gets_no_ratio(capsys):
    res, out = _run(capsys, wrong=True)
    jax = next(line for line in out.splitlines() if line.startswith("JAX"))
    assert "FAIL" in jax and "no ratio" in jax
    # the fastest *checked* peer is the zoo module (400 µs/step): cpu (10 µs/step) is 40x
    assert "snnc cpu vs the fastest checked peer: 40.0x faster" in out
    md = report.markdown({"m": {"b1": res}}, {"m": "model"})
    assert "100.0 (not compared)" in md and "cpu vs the fastest checked peer, batch 1: 40.0x" in md
    assert "NumPy runtime vs the zoo module, batch 1: 2.0x" in md


def test_checked_peer_sets_the_ratio(capsys):
    res, out = _run(capsys, wrong=False)
    assert "FAIL" not in out and "snnc cpu vs the fastest checked peer: 10.0x faster" in out
    assert "cpu vs the fastest checked peer, batch 1: 10.0x" in report.markdown({"m": {"b1": res}}, {"m": "model"})


def test_a_late_spike_flip_is_accepted_a_wrong_model_is_not():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(100, 2, 5))
    flip = ref.copy()
    flip[97:, 0, 1] += 0.01  # one float32 spike flip near the end: 3 of 1000 entries off, every decision equal
    assert report._check(flip, ref)[2]
    wrong = ref.copy()
    wrong[50:] *= -1  # half the sequence with the sign of an input flipped: decisions differ
    assert not report._check(wrong, ref)[2]
    scaled = ref * 1.02  # a 2 % gain error: every entry off, decisions equal
    assert not report._check(scaled, ref)[2]
