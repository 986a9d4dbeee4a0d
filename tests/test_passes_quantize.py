"""quantize: Lava-exact integer kernels, the loihi/int8/float16 schemes and their error report."""
import numpy as np
import pytest

from factories_passes import lif_chain, spikes, srnn
from snnc.compiler.errors import PrimitiveError, SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.passes.quantize import quantize
from snnc.compiler.primitives import Input
from snnc.compiler.fixedpoint import lava_weights
from snnc.compiler.primitives.loihi_alif import LoihiALIF
from snnc.compiler.primitives.loihi_dense import LoihiDense
from snnc.compiler.primitives.loihi_lif import LoihiLI, LoihiLIF
from snnc.compiler.primitives.quantized import Int8Dense
from snnc.compiler.serialize import from_bytes, to_bytes
from snnc.compiler.verify import verify
from snnc.runtime.numpy.runtime import NumpyRuntime, run


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
    assert np.array_equal(h.vth, np.rint(1.0 * np.asarray(S) / 64))  # per-neuron scales: per-neuron thresholds
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


# -- parameters Loihi cannot represent: an error naming the node and the value -----------------

def _with(g: Graph, node: str, **changes) -> Graph:
    g.nodes[node] = g.nodes[node].replace(**changes)
    return g


def _scaled(g: Graph, dense: str, k: float) -> Graph:
    d = g.nodes[dense]
    return _with(g, dense, W=d.W * k, b=d.b * k)


def _li_two_inputs() -> Graph:
    """lif_chain with a second Dense into the LI readout whose weights set the LI's scale."""
    from snnc.compiler.primitives import Dense
    g = lif_chain()
    g.add("skip", Dense.of(np.full((3, 10), 1e3)))
    g.connect("x", "skip")
    g.connect("skip", "out")
    return _scaled(g, "fc2", 1e-12)


@pytest.mark.parametrize("make, match", [
    (lambda: _with(lif_chain(), "h", alpha=np.full(12, 1.5)), r"LIF node 'h': alpha must lie in \[0, 1\].*got 1\.5 \(neuron 0\)"),
    (lambda: _with(lif_chain(cuba=True), "h", alpha_syn=np.full(12, -0.2)), r"CubaLIF node 'h': alpha_syn must lie in \[0, 1\].*got -0\.2"),
    (lambda: _with(lif_chain(cuba=True), "h", alpha_mem=np.full(12, 1.1)), r"CubaLIF node 'h': alpha_mem must lie in \[0, 1\].*got 1\.1"),
    (lambda: _with(srnn(), "alif1", rho=np.full(16, 1.2)), r"ALIF node 'alif1': rho must lie in \[0, 1\].*got 1\.2"),
    (lambda: _with(srnn(), "out", alpha=np.array([0.9, 0.9, 2.0, 0.9])), r"LI node 'out': alpha must lie in \[0, 1\].*got 2 \(neuron 2\)"),
    (lambda: _with(lif_chain(), "h", alpha=np.full(12, np.nan)), r"LIF 'h': alpha nan .*not finite"),
], ids=["lif", "cuba-syn", "cuba-mem", "alif-rho", "li", "nan"])
def test_loihi_bad_decay_names_node_and_value(make, match):
    with pytest.raises(SnncError, match=match):
        quantize(make(), "loihi")


@pytest.mark.parametrize("make, dense, target", [
    # a threshold of 1e9 pushes the scale to 2^-8: weights ~1 become 1e-4 of a mantissa step
    (lambda: _with(lif_chain(), "h", theta=np.full(12, 1e9)), "fc1", "LIF 'h'"),
    (lambda: _scaled(lif_chain(cuba=True), "fc1", 1e-30), "fc1", "CubaLIF 'h'"),
    (lambda: _scaled(srnn(), "rec1", 1e-30), "rec1", "ALIF 'alif1'"),
    (_li_two_inputs, "fc2", "LI 'out'"),
], ids=["lif-threshold", "cuba", "alif-rec", "li"])
def test_loihi_weights_flushing_to_zero_are_an_error(make, dense, target):
    g = make()
    w = float(np.abs(g.nodes[dense].W).max())
    with pytest.raises(SnncError) as ei:
        quantize(g, "loihi")
    msg = str(ei.value)
    assert f"Dense '{dense}' (feeding {target}): all its nonzero weights quantize to zero" in msg, msg
    assert f"largest |weight| {w:g}" in msg and "smallest representable effective weight 0.0078125" in msg, msg
    assert "\n" not in msg


def test_loihi_precision_loss_is_a_warning_in_the_report():
    from snnc.compiler.pipeline import report
    g = _scaled(_with(lif_chain(), "h", theta=np.full(12, 1e6)), "fc1", 0.05)  # scale 2^2: mantissas of at most ±2
    q = quantize(g, "loihi")
    notes = q.meta["passes"][-1]["notes"]
    assert len(notes) == 1 and notes[0].startswith("warning: Dense 'fc1' (feeding LIF 'h') loses precision"), notes
    assert "largest |mantissa| 2 uses 2 bit(s) at weight_exp -8" in notes[0] and "118 of 120 nonzero weights flush" in notes[0]
    assert notes[0] in report(q)
    assert quantize(lif_chain(), "loihi").meta["passes"][-1]["notes"] == []  # a well-scaled network has no warning
    assert quantize(srnn(), "loihi").meta["passes"][-1]["notes"] == []


@pytest.mark.parametrize("make, match", [
    (lambda: _with(lif_chain(), "h", theta=np.full(12, np.inf)), r"LIF 'h': theta inf \(element 0\) is not finite"),
    (lambda: _with(lif_chain(cuba=True), "h", theta=np.full(12, np.inf)), r"CubaLIF 'h': theta inf .*not finite"),
    (lambda: _with(srnn(), "alif1", b0=np.full(16, np.inf)), r"ALIF 'alif1': b0 inf .*not finite"),
    (lambda: _with(lif_chain(), "fc1", W=np.where(np.eye(12, 10) > 0, np.nan, 0.5)), r"Dense 'fc1': W nan .*not finite"),
], ids=["lif", "cuba", "alif", "dense"])
def test_loihi_unrepresentable_thresholds_and_weights_name_node_and_value(make, match):
    with pytest.raises(SnncError, match=match):
        quantize(make(), "loihi")


@pytest.mark.parametrize("node, field", [("lif", "theta"), ("cuba", "theta"), ("alif", "b0"), ("alif", "beta")])
def test_loihi_threshold_mantissa_must_fit_17_bits(node, field):
    from snnc.compiler.passes.quantize_loihi import QUANT_RULES, Neuron
    g = {"lif": lif_chain, "cuba": lambda: lif_chain(cuba=True), "alif": srnn}[node]()
    name = "alif1" if node == "alif" else "h"
    n = g.nodes[name]
    n = n.replace(**{field: np.full(n.size, 100.0)})  # 100·2^20/64 = 1638400 > 2^17 − 1
    q = Neuron(name, n, 2.0**20, np.zeros(n.size), g)
    with pytest.raises(SnncError, match=rf"{type(n).__name__} '{name}': {field} 100 -> mantissa 1638400 outside "
                                        r"\[0, 131071\] at scale 2\^20"):
        QUANT_RULES[type(n)].build(q)


def test_loihi_decay_clamp_is_reported():
    alpha = np.full(12, 0.9)
    alpha[[2, 5]] = 0.0  # dv = 4096 does not fit 12 bits: clamped to 4095, and said so
    q = quantize(_with(lif_chain(), "h", alpha=alpha), "loihi")
    assert q.nodes["h"].dv[2] == 4095 and q.nodes["h"].dv[0] == round(4096 * 0.1)
    notes = q.meta["passes"][-1]["notes"]
    assert notes == ["LIF 'h': alpha = 0 on 2 neuron(s) clamped to decay 4095/4096 (Loihi's 12-bit maximum; "
                     "4096 would zero the state every step)"], notes
