"""`snnc zoo NAME -o m.pt && snnc verify m.pt --targets numpy,onnx` exits 0 for every seed family."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("name", ["ltc", "rc-lstm", "ahp", "spsn", "cuba"])
def test_zoo_then_verify(run_snnc, name):
    run_snnc("zoo", name, "-o", "m.pt", check=True)
    p = run_snnc("verify", "m.pt", "--targets", "numpy,onnx", "--steps", "60", "--batch", "3")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "target numpy: PASS" in p.stdout and "target onnx: PASS" in p.stdout and " BAD " not in p.stdout, p.stdout
    if name == "rc-lstm":
        assert "decisions exit" in p.stdout and "times exit" in p.stdout, p.stdout
    if name == "spsn":  # the noise was drawn once, from a named seed, for both runs
        assert "default_rng(seed=0)" in p.stdout, p.stdout
    if name in ("ltc", "ahp", "spsn", "cuba"):
        assert "spikes layer1." in p.stdout, p.stdout


def test_zoo_rc_lstm_exits_early_on_its_own():
    """The reference rank-coded model decides early for some samples and never for others (theta 0.5)."""
    import numpy as np

    import snnc
    from snnc.frontends import zoo
    from snnc.runtime.numpy.runtime import NumpyRuntime
    module, _ = zoo.build("rc-lstm")
    x = (np.random.default_rng(0).random((100, 4, 40)) < 0.05).astype(np.float32)
    g = snnc.trace(module.eval(), x[:2])
    out, act = NumpyRuntime(g).run(x)
    times = out["exit:time"]
    assert times.min() < 20 and times.max() == 99, times
    assert act.steps.tolist() == (np.minimum(times, 99) + 1).tolist()


def test_bad_zoo_option_is_one_line(run_snnc):
    p = run_snnc("zoo", "rc-lstm", "--set", "theta=1.5", "-o", "bad.pt")
    assert p.returncode == 1 and p.stderr.startswith("snnc: error: zoo model 'rc-lstm': invalid configuration"), p.stderr
    assert "theta must lie in (0, 1]" in p.stderr
