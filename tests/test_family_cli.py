"""`snnc zoo NAME -o m.pt && snnc verify m.pt --targets numpy` exits 0 for every seed family."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("name", ["ltc", "rc-lstm", "ahp", "spsn", "cuba"])
def test_zoo_then_verify(run_snnc, name):
    run_snnc("zoo", name, "-o", "m.pt", check=True)
    p = run_snnc("verify", "m.pt", "--targets", "numpy", "--steps", "60", "--batch", "3")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "target numpy: PASS" in p.stdout and " BAD " not in p.stdout, p.stdout
    if name == "rc-lstm":
        assert "decisions exit" in p.stdout and "times exit" in p.stdout, p.stdout
    if name == "spsn":  # the noise was drawn once, from a named seed, for both runs
        assert "default_rng(seed=0)" in p.stdout, p.stdout
    if name in ("ltc", "ahp", "spsn", "cuba"):
        assert "spikes layer1." in p.stdout, p.stdout
