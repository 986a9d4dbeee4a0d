"""`snnc verify`'s pass/fail rule: graded values may stray only where a spike differs."""
from __future__ import annotations

import numpy as np

from snnc.compiler.agreement import agreement
from snnc.compiler.activity import Activity


def _case(out_err: int, spike_flips: int):
    rng = np.random.default_rng(0)
    ref_out = {"out": rng.normal(size=(100, 4, 20))}
    ref_spk = {"n": (rng.random((100, 4, 50)) < 0.1).astype(float)}
    out = {"out": ref_out["out"].copy()}
    out["out"].flat[:out_err] += 1e3  # far outside any tolerance
    spk = ref_spk["n"].copy()
    spk.flat[:spike_flips] = 1 - spk.flat[:spike_flips]
    act = Activity(100, 4)
    act.traces["n"] = {"out": spk}
    return agreement("t", ref_out, ref_spk, out, act, {"out": "graded"}, 1e-6, 1e-5, 0.999)


def test_identical_spikes_leave_no_room_for_graded_outliers():
    ag = _case(out_err=2, spike_flips=0)  # 2 of 8000 values wrong: 99.975 % "agree", still a failure
    assert not ag.ok and "BAD output out" in ag.format()


def test_spike_flips_excuse_a_few_graded_differences():
    ag = _case(out_err=2, spike_flips=3)  # 3 of 20000 spikes flipped (99.985 %): chaos explains the outliers
    assert ag.ok, ag.format()


def test_too_many_spike_flips_fail():
    ag = _case(out_err=0, spike_flips=100)  # 99.5 %
    assert not ag.ok and "BAD spikes n" in ag.format()


def test_all_equal_passes():
    assert _case(0, 0).ok
