"""quantize: Lava-exact integer kernels, the loihi/int8/float16 schemes and their error report."""
import numpy as np
import pytest

from factories_passes import lif_chain, spikes, srnn
from snnc.compiler.errors import PrimitiveError, SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.passes.quantize import quantize
from snnc.compiler.primitives import Input
from snnc.compiler.primitives.fixed import Int8Dense, LoihiALIF, LoihiDense, LoihiLI, LoihiLIF, lava_weights
from snnc.compiler.serialize import from_bytes, to_bytes
from snnc.compiler.verify import verify
from snnc.runtime.numpy_runtime import NumpyRuntime, run


def _impulse(du: int, dv: int) -> dict:
    g = Graph()
    g.add("x", Input(1, "spike"))
    g.add("d", LoihiDense(np.array([[128]]), 0, 8, "excitatory"))
    g.add("n", LoihiLIF(du=np.array([du]), dv=dv, vth=256))
    g.connect("x", "d")
    g.connect("d", "n")
    g.outputs = ["n"]
    x = np.zeros((8, 1, 1))
    x[0] = 1  # activation 128 at the first step only
    _, act = NumpyRuntime(g, record=["n"]).run(x)
    return {k: v[:, 0, 0].tolist() for k, v in act.traces["n"].items()}


def test_lif_reproduces_lavas_published_impulse_series():
    # tests/lava/proc/lif/test_models.py: test_bitacc_pm_impulse_dv and _du (Lava 0.10)
    assert _impulse(du=0, dv=2048)["v"] == [8192, 12286, 14331, 15351, 15859, 16111, 16235, 16295]
    assert _impulse(du=2047, dv=0)["u"] == [1 << (13 - j) for j in range(8)]


def test_lava_weight_semantics():
    # mixed 8-bit weights are even: Lava shifts right (floor) then left by 1; clip first
    assert lava_weights(np.array([3, -3, 300, -300, 2.9]), "mixed").tolist() == [2, -4, 254, -256, 2]
    assert lava_weights(np.array([-3, -300]), "inhibitory").tolist() == [-3, -255]
    with pytest.raises(PrimitiveError, match="not representable in sign mode mixed"):
        LoihiDense(np.array([[3]]), 0, 8, "mixed")
    # a negative exponent is an arithmetic right shift of the accumulated sum (floors)
    g = Graph()
    g.add("x", Input(2, "spike"))
    g.add("d", LoihiDense(np.array([[-3, -2]]), -1, 8, "inhibitory"))
    g.add("o", LoihiLI(dv=np.array([4095])))
    g.connect("x", "d")
    g.connect("d", "o")
    g.outputs = ["o"]
    _, act = NumpyRuntime(g, record=["d"]).run(np.array([[[1.0, 0.0]], [[1.0, 1.0]]]))
    assert act.traces["d"]["out"][:, 0, 0].tolist() == [-2, -3]  # -3 >> 1 = -2, -5 >> 1 = -3


def test_lif_24bit_wrap_and_clip():
    g = Graph()
    g.add("x", Input(1, "graded"))
    g.add("n", LoihiLIF(du=np.array([4095]), dv=0, vth=131071, reset="none"))
    g.connect("x", "n")
    g.outputs = ["n"]
    x = np.full((3, 1, 1), 2.0**17 + 5)  # a_in << 6 exceeds 2^23: u wraps, v saturates
    _, act = NumpyRuntime(g, record=["n"]).run(x)
    u = act.traces["n"]["u"][:, 0, 0]
    assert u[0] == ((2**17 + 5) << 6) - 2**24
    assert act.traces["n"]["v"][:, 0, 0].tolist()[0] == u[0]
    assert act.traces["n"]["v"].dtype == np.int64


@pytest.mark.parametrize("factory", [srnn, lif_chain, lambda: lif_chain(cuba=True)], ids=["srnn", "lif", "cuba"])
def test_loihi_scheme_runs_in_exact_integers(factory):
    g = factory()
    x = spikes(60, 6, g.nodes["x"].size)
    q = quantize(g, "loihi", calib=x)
    verify(q)
    assert all(n.integer for k, n in q.nodes.items() if k != "x")
    assert {type(n).__name__ for n in q.nodes.values()} <= {"Input", "LoihiDense", "LoihiLIF", "LoihiALIF", "LoihiLI"}
    rep = q.meta["passes"][-1]
    assert rep["name"] == "quantize" and rep["scheme"] == "loihi"
    for d in ("fc1", "fc2"):
        assert rep["layers"][d]["weight_error"] < 0.03
    spiking = [n for n in g.nodes if g.nodes[n].out_kind == "spike" and n != "x"]
    assert all(rep["layers"][n]["spike_mismatch"] < 0.05 for n in spiking)
    assert rep["layers"]["out"]["output_error"] < 0.35
    # the integer run is deterministic and survives serialization bit for bit
    y1, _ = run(q, x)
    y2, _ = run(from_bytes(to_bytes(q)), x)
    assert np.array_equal(y1["out"], y2["out"]) and np.all(y1["out"] == np.rint(y1["out"]))


def test_loihi_parameters_map_as_documented():
    q = quantize(lif_chain(cuba=True), "loihi")
    h = q.nodes["h"]
    assert isinstance(h, LoihiLIF)
    assert np.all(h.du == round(4096 * 0.3) - 1) and np.all(h.dv == round(4096 * 0.1))
    S = q.meta["passes"][-1]["scales"]["h"]
    assert np.all(h.vth == round(1.0 * S / 64))
    a = quantize(srnn(), "loihi").nodes["alif1"]
    assert isinstance(a, LoihiALIF) and a.dr.min() >= 40 and a.dr.max() <= 205  # 4096·(1 − exp(−1/τ)), τ ∈ [20, 100]


def test_int8_and_float16_small_error():
    g = srnn()
    x = spikes(60, 6, 12)
    labels = np.arange(6) % 4
    for scheme, tol in (("int8", 0.01), ("float16", 1e-3)):
        q = quantize(g, scheme, calib=x, labels=labels)
        verify(q)
        rep = q.meta["passes"][-1]
        assert max(rep["layers"][d]["weight_error"] for d in ("fc1", "rec1", "fc2")) < (0.01 if scheme == "int8" else 1e-3)
        assert rep["layers"]["fc1"]["output_error"] < tol  # before any spike can flip
        assert rep["layers"]["alif1"]["spike_mismatch"] < 0.02
        assert rep["layers"]["out"]["output_error"] < 0.3  # a flipped spike moves the readout
        assert rep["accuracy"]["output"] == "out" and 0 <= rep["accuracy"]["after"] <= 1
    q = quantize(g, "int8")
    assert isinstance(q.nodes["fc1"], Int8Dense) and q.nodes["fc1"].W.dtype == np.int8
    assert float(q.nodes["fc1"].x_scale) == 1.0  # spikes are exact int8 inputs


def test_errors_name_the_fault_and_input_is_untouched():
    g = srnn()
    snapshot = (dict(g.nodes), list(g.edges), repr(g.meta))
    quantize(g, "loihi")
    assert (dict(g.nodes), list(g.edges), repr(g.meta)) == snapshot
    with pytest.raises(SnncError, match="unknown quantization scheme 'int4'.*loihi, int8, float16"):
        quantize(g, "int4")
    bad = lif_chain(cuba=True)
    bad.nodes["fc1"] = bad.nodes["fc1"].replace(b=np.ones(12))
    with pytest.raises(SnncError, match="Dense 'fc1' has a bias feeding CubaLIF 'h'"):
        quantize(bad, "loihi")
