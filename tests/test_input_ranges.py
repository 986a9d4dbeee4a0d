"""Graded input ranges (issue 12.2/12.3): declared (--input-range), recorded in the model file, or from the data;
quantize(loihi) encodes a graded input from its range without a calibration set, and says what it assumed."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import recurrent_graph
from snnc.compiler.errors import FileFormatError, InputError, SnncError
from snnc.compiler.inputkinds import input_range, parse_ranges, resolve
from snnc.compiler.passes.quantize import quantize
from snnc.compiler.primitives import Input


def _graded():
    g = recurrent_graph("LIF")
    g.nodes["x"] = Input(6, "graded")
    return g


def test_parse_ranges():
    assert parse_ranges("0,1") == (0.0, 1.0)
    assert parse_ranges("-1,1") == (-1.0, 1.0)
    assert parse_ranges("x=0,1;y=-2.5,2") == {"x": (0.0, 1.0), "y": (-2.5, 2.0)}
    assert parse_ranges(None) is None
    for bad in ("1", "0,1,2", "a,b", "1,0", "0,inf", "0,1;x=0,1"):
        with pytest.raises(SnncError, match="--input-range"):
            parse_ranges(bad)


def test_resolve_records_the_range_and_where_it_came_from():
    g = _graded()
    assert input_range(resolve(g, ranges=(0.0, 4.0)), "x") == ((0.0, 4.0), "declared")
    assert input_range(resolve(g, recorded_ranges={"x": (0.0, 1.0)}), "x") == ((0.0, 1.0), "model file")
    x = np.zeros((3, 2, 6))
    x[1, 1, 3] = -0.75
    assert input_range(resolve(g, data=x), "x") == ((-0.75, 0.0), "data")
    # the declaration wins over the file; data outside a declared range is an error naming input, value and place
    assert input_range(resolve(g, ranges=(-1.0, 1.0), recorded_ranges={"x": (0.0, 1.0)}), "x")[1] == "declared"
    with pytest.raises(InputError, match=r"input 'x' holds -0.75 at \[t, b, f\] = \[1, 1, 3\], outside its range \[0, 1\] \(model file\)"):
        resolve(g, data=x, recorded_ranges={"x": (0.0, 1.0)})
    with pytest.raises(SnncError, match="'y' is not a data input"):
        resolve(g, ranges={"y": (0.0, 1.0)})
    with pytest.raises(SnncError, match="'x' is a spike input"):
        resolve(g, declared="spike", ranges=(0.0, 1.0))
    assert input_range(resolve(g), "x") is None


def test_model_file_records_the_range(tmp_path):
    import torch
    from snnc.frontends import zoo
    from snnc.frontends.modelfile import load_model, save_model
    m, cfg = zoo.build("lif-srnn", {"sizes": [4, 6, 3]})
    save_model(tmp_path / "m.pt", "lif-srnn", cfg, m, input_kind="graded", input_range=(0, 1))
    lm = load_model(str(tmp_path / "m.pt"))
    assert (lm.input_kind, lm.input_range) == ("graded", (0.0, 1.0))
    doc = torch.load(tmp_path / "m.pt", weights_only=True)
    doc["input_range"] = [1.0, 0.0]
    torch.save(doc, tmp_path / "bad.pt")
    with pytest.raises(FileFormatError, match="input_range must be"):
        load_model(str(tmp_path / "bad.pt"))
    with pytest.raises(FileFormatError, match="input_range must be"):
        save_model(tmp_path / "x.pt", "lif-srnn", cfg, m, input_range=(0, float("nan")))


def _encoder(q):
    enc = q.nodes.get("x.encode")
    return None if enc is None else float(np.log2(enc.scale[0]))


def test_quantize_encodes_from_the_range_and_states_an_assumption():
    g = _graded()
    q = quantize(resolve(g, ranges=(0.0, 4.0)), "loihi")  # 127 / 4: q = 4 fractional bits
    rep = q.meta["passes"][-1]
    assert _encoder(q) == 4 and not [n for n in rep["notes"] if "input 'x'" in n], rep["notes"]
    # the encoded fractional input drives the integer net as it drives the float one
    from snnc.runtime.numpy.runtime import NumpyRuntime
    x = np.random.default_rng(1).uniform(0, 4, (40, 4, 6))
    _, af = NumpyRuntime(g, "float64", record=["n1"]).run(x)
    _, aq = NumpyRuntime(q, "float64", record=["n1"]).run(x)
    sf, sq = af.traces["n1"]["out"], aq.traces["n1"]["out"]
    assert 0.05 < sf.mean() < 0.95 and np.mean(sf != sq) < 0.03
    q = quantize(g, "loihi")  # no range, no calibration set: [-1, 1] assumed, and said so
    notes = q.meta["passes"][-1]["notes"]
    assert _encoder(q) == 6
    assert any("graded input 'x' has no known range" in n and "assumed in [-1, 1]" in n for n in notes), notes
    ints = np.random.default_rng(0).integers(-3, 4, (5, 2, 6)).astype(float)
    assert _encoder(quantize(g, "loihi", calib=ints)) is None  # integer data and no range: taken as they are
    frac = ints / 8
    assert _encoder(quantize(g, "loihi", calib=frac)) == 8  # max |x| 3/8: floor(log2(127 / 0.375)) = 8


def test_cli_input_range(run_snnc, tmp_path):
    from snnc.compiler.serialize import load
    from snnc.frontends import zoo
    from snnc.frontends.modelfile import save_model
    m, cfg = zoo.build("lif-srnn", {"sizes": [4, 6, 3]})
    save_model(tmp_path / "m.pt", "lif-srnn", cfg, m)
    p = run_snnc("compile", "m.pt", "-t", "numpy", "-o", "a.snn", "--quantize", "loihi", check=True)
    assert "has no known range" in p.stderr and "assumed in [-1, 1]" in p.stderr
    p = run_snnc("compile", "m.pt", "-t", "numpy", "-o", "b.snn", "--quantize", "loihi", "--input-range=-2,2", check=True)
    assert "has no known range" not in p.stderr
    assert load(tmp_path / "b.snn").meta["input_ranges"] == {"input": {"range": [-2.0, 2.0], "from": "declared"}}
    p = run_snnc("compile", "m.pt", "-t", "numpy", "-o", "c.snn", "--input-range", "0")
    assert p.returncode != 0 and p.stderr.strip().splitlines()[-1].startswith("snnc: error: --input-range")


def test_lava_fixed_point_runs_the_input_encoder_bit_exact():
    # the encoder x·2^q of a fixed-point graph runs on the host in Lava (the input's source sends trunc(x·2^q)):
    # Lava fixed_pt equals the NumPy integer runtime on fractional inputs, negative ones included
    from snnc.compiler.targets import get_target
    from snnc.runtime.numpy.runtime import NumpyRuntime
    q = quantize(resolve(_graded(), ranges=(-2.0, 2.0)), "loihi")
    assert _encoder(q) == 5
    x = np.random.default_rng(2).uniform(-2, 2, (12, 2, 6))
    ref, ra = NumpyRuntime(q, "float64", record=["n1"]).run(x)
    outs, act = get_target("loihi").run_graph(q, x, {"dtype": "float64", "record": ["n1"]})
    assert ra.traces["n1"]["out"].mean() > 0.05
    np.testing.assert_array_equal(act.traces["n1"]["out"], ra.traces["n1"]["out"])
    for k in ref:
        np.testing.assert_array_equal(outs[k], ref[k])
