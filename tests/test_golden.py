"""Golden vectors: every registered primitive, a few neurons over a few steps, run by the NumPy runtime through the
public graph API, against literal numbers derived by hand from DESIGN §3 (float), DESIGN §6 and the fixed-point
primitives' documented equations (Loihi integer forms). Inputs are chosen to exercise spikes, every reset mode,
adaptation, the s⁻ terms, 24-bit wrap and clip, and truncation toward zero of negative values.
"""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler import PRIMITIVES, Graph, Input
from snnc.compiler.primitives import AHP, ALIF, LI, LIF, LSTM, LTC, SPSN, CubaLIF, Dense, EarlyExit, LTCReadout
from snnc.compiler.primitives.lif import CubaLI
from snnc.runtime.numpy.runtime import run
from golden_conv import CONV_CASES
from golden_fixed import FIXED_CASES

A = np.array
CASES: list[tuple] = []  # (case id, node, inputs x [T, n] or [T, B, n], expected traces, noise or None, input kind)


def case(cid, node, x, expect, noise=None, kind="graded"):
    CASES.append((cid, node, x, expect, noise, kind))


# Input: the graph input passes x through unchanged
case("Input", Input(2, "graded"), [[0.5, -1.], [0., 3.]], {"out": [[0.5, -1.], [0., 3.]]})
# Dense: y = W·x + b
case("Dense", Dense(A([[0.5, -1., 2.], [1.5, 0.25, -0.75]]), A([0.1, -0.2])), [[1, 0, 1], [0.5, -2, 0], [0, 0, 0]],
     {"out": [[2.6, 0.55], [2.35, 0.05], [0.1, -0.2]]})

LIF_I = [[0.5, 0.3], [0.6, 0.2], [0., 0.5], [0.9, -0.2], [0.3, 0.6], [-0.4, 0.1], [1.2, 0.]]
LIF_V = {
    "zero": [[0.68, 0.55], [0., 0.675], [0., 0.], [0.9, -0.4], [0., 0.], [-0.4, 0.2], [0.84, 0.1]],
    "subtract": [[0.68, 0.55], [0.212, 0.675], [0.1908, 0.5375], [0.07172, -0.13125], [0.364548, 0.334375],
                 [-0.0719068, 0.3671875], [0.13528388, 0.18359375]],
    "none": [[0.68, 0.55], [1.212, 0.675], [1.0908, 1.3375], [1.88172, 0.26875], [1.993548, 1.334375],
             [1.3941932, 0.8671875], [2.45477388, 0.43359375]],
}
LIF_S = {"zero": [[0, 0], [1, 0], [0, 1], [0, 0], [1, 1], [0, 0], [0, 0]],
         "subtract": [[0, 0], [1, 0], [0, 1], [1, 0], [0, 1], [0, 0], [1, 0]],
         "none": [[0, 0], [1, 0], [1, 1], [1, 0], [1, 1], [1, 1], [1, 0]]}
for _r in ("zero", "subtract", "none"):
    case(f"LIF-{_r}", LIF(A([0.9, 0.5]), A([1., 2.]), A([1., 0.8]), _r, A([0.2, -0.1])), LIF_I,
         {"out": LIF_S[_r], "v": LIF_V[_r]})

case("CubaLIF-subtract", CubaLIF(A([0.5, 0.8]), A([0.9, 0.7]), A([0.5, 1.]), A([1., 0.6]), A([0.05, -0.02]), "subtract",
                                 A([0.1, 0.]), A([0., 0.3])),
     [[1., 0.2], [0.8, 0.1], [0., 0.3], [1.5, -0.4], [0.2, 0.5], [0., 0.]], {
        "out": [[0, 0], [1, 0], [0, 1], [1, 0], [1, 0], [0, 1]],
        "i": [[1.05, 0.2], [1.325, 0.26], [0.6625, 0.508], [1.83125, 0.0064], [1.115625, 0.50512],
              [0.5578125, 0.404096]],
        "v": [[0.575, 0.39], [0.23, 0.513], [0.58825, 0.2471], [0.49505, 0.15937], [0.0533575, 0.596679],
              [0.376928, 0.2017713]]})

# CubaLI: i = 0.5·i + I; v = 0.75·v + 2·i + 0.25 (graded, no threshold)
case("CubaLI", CubaLI(A([0.5]), A([0.75]), A([2.]), A([0.25])), [[1.], [0.], [0.], [2.]],
     {"out": [[2.25], [2.9375], [2.953125], [6.71484375]], "i": [[1.], [0.5], [0.25], [2.125]],
      "v": [[2.25], [2.9375], [2.953125], [6.71484375]]})

# ALIF: the threshold rises after each spike (b) and the spike of t-1 is subtracted (−B·s⁻)
case("ALIF", ALIF(A([0.8, 0.6]), A([0.9, 0.5]), A([0.3, 0.2]), A([1.8, 0.5]), A([1., 2.]), A([0.1, 0.]), A([0.05, 0.])),
     [[2., 0.3], [2., 0.3], [1.5, 0.], [2.5, 0.4], [0., 0.4], [3., -0.5], [2., 0.5]], {
        "out": [[1, 1], [0, 0], [0, 0], [1, 1], [0, 0], [1, 0], [0, 0]],
        "v": [[0.48, 0.24], [0.2311, -0.066], [0.48488, -0.0396], [0.887904, 0.29624], [0.0459591, 0.016494],
              [0.63676728, -0.3901036], [0.134278903, 0.16593784]],
        "b": [[0.045, 0.], [0.1405, 0.5], [0.12645, 0.25], [0.113805, 0.125], [0.2024245, 0.5625],
              [0.18218205, 0.28125], [0.263963845, 0.140625]]})

case("LI", LI(A([0.5, 0.9]), A([1., -0.5]), A([1., 0.2])), [[0.4, 1.], [0., -2.], [-1., 0.5], [0.25, 0.], [2., 0.1]],
     {"out": (_v := [[0.9, -0.32], [0.45, 0.712], [-0.775, 0.3908], [-0.1375, 0.35172], [1.93125, 0.266548]]),
      "v": _v})

WA = A([[0.5, -0.3, 0.8, 0.1], [-0.2, 0.7, 0., -0.6]])
WR = A([[0.4, 0.2, -0.5, 0.3], [0.1, -0.4, 0.6, 0.2]])
LTC_I = [[1., 0.8], [1.2, 0.9], [0.2, 1.5], [1.5, 0.], [0.9, 1.1], [-0.5, 1.4]]
case("LTC", LTC(WA, A([0.1, -0.3]), WR, A([0.2, 0.]), A([0.3, 0.2]), A([1.8, 1.]), A([0.1, 0.]), A([0.05, 0.1])), LTC_I, {
    "out": [[1, 1], [0, 0], [0, 1], [1, 0], [0, 1], [0, 1]],
    "v": [[0., 0.], [0.727048402118, 0.470236342313], [0.414218591677, 0.], [0., 0.], [0.499301311596, 0.],
          [0.042157606322, 0.]],
    "b": [[0.0341219151097, 0.0457602059226], [0.321988503906, 0.572882826087], [0.207220491549, 0.247691408909],
          [0.141670783204, 0.56345996221], [0.393633653851, 0.260316840334], [0.212653648872, 0.689149816587]]})
case("LTCReadout", LTCReadout(WA, A([0.1, -0.3]), A([0.1, 0.])), LTC_I, {
    "out": (_v := [[0.647433127672, 0.411996401296], [1.05020975035, 0.636859318424], [0.490875148881, 1.13855512001],
                   [1.29333055158, 0.89146887387], [0.981373792187, 0.983031508562], [0.125561223981, 1.21128109708]]),
    "v": _v})

# AHP: each spike adds w_ahp to the decaying hyperpolarizing current one step later
case("AHP", AHP(A([0.9, 0.8]), A([0.8, 0.5]), A([-0.5, -0.2]), A([1., 0.5]), A([0.8, 0.5]), A([0.1, 0.]), A([-0.1, 0.])),
     [[1., 1.2], [0.9, 0.4], [0.9, 1.5], [0.5, 0.2], [1., 1.], [0.7, 1.]], {
        "out": [[1, 1], [0, 0], [0, 1], [1, 0], [0, 0], [0, 1]],
        "v": [[0., 0.], [0.336, 0.], [0.7512, 0.], [0., -0.15], [0.211232, 0.255], [0.2590944, 0.]],
        "aux": [[-0.08, 0.], [-0.564, -0.2], [-0.4512, -0.1], [-0.36096, -0.25], [-0.788768, -0.125],
                [-0.6310144, -0.0625]]})

SPSN_I = [[1., -0.5], [-2., 0.5], [0., 1.], [-1., -1.], [3., 0.], [0., -2.]]
SPSN_U = [[0.5, 0.6], [0.55, 0.4], [0.2, 0.9], [0.45, 0.5], [0.99, 0.1], [0.7, 0.3]]
SPSN_IV = {"i": [[1., -0.5], [-1.5, 0.1], [-0.75, 1.08], [-1.375, -0.136], [2.3125, -0.1088], [1.15625, -2.08704]],
           "v": [[0.1, -0.2], [-0.06, -0.08], [-0.129, 0.384], [-0.2536, 0.176], [0.00301, 0.06208], [0.118334, -0.797568]]}
case("SPSN-deterministic", SPSN(A([0.5, 0.8]), A([0.9, 0.6]), False), SPSN_I,
     {"out": [[1, 0], [0, 0], [0, 1], [0, 1], [1, 1], [1, 0]], **SPSN_IV})
case("SPSN-stochastic", SPSN(A([0.5, 0.8]), A([0.9, 0.6]), True), SPSN_I,
     {"out": [[1, 0], [0, 1], [1, 0], [0, 1], [0, 1], [0, 1]], **SPSN_IV}, noise=SPSN_U)

case("LSTM", LSTM(A([[0.5], [-0.4], [1.], [0.3], [0.8], [0.2], [-0.6], [0.9]]),
                  A([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.2], [0.6, -0.1], [0.2, 0.2], [-0.3, 0.5], [0.4, -0.4], [0.1, 0.3]]),
                  A([0., 0.1, -0.1, 0.2, 0.5, -0.5, 0., 0.3])), [[1.], [0.5], [-1.], [2.], [0.]], {
    "out": (_h := [[0.173716522415, -0.0947891228421], [0.279059684388, -0.195334674587],
                   [0.0332841048464, -0.185571694347], [0.158257688776, -0.395032833648],
                   [0.278776914316, -0.292580577844]]),
    "h": _h,
    "c": [[0.536387621427, -0.123970262176], [0.720776816697, -0.297072076207], [0.0484314139646, -0.596067133164],
          [0.757580965997, -0.479704152039], [0.552252293065, -0.594003861965]]})

# EarlyExit, two samples [T, B, classes]: sample 0 crosses theta and freezes, sample 1 decides at the last step
EXIT_L = [[[0.1, 0.2, 0.], [0., 0.3, 0.1]], [[0.5, 1., 0.2], [0.2, 0.1, 0.4]], [[0.2, 2., 0.1], [0.3, 0.5, 0.2]],
          [[3., 0., 0.], [0.1, 0., 0.6]], [[0., 0., 5.], [0.5, 0.4, 0.3]]]
_p2 = [0.125715243008, 0.760532901101, 0.113751855891]
case("EarlyExit-softmax", EarlyExit(3, 0.7, "softmax"), EXIT_L, {
    "out": [[[0.332224993533, 0.367165401111, 0.300609605356], [0.289433110394, 0.39069383327, 0.319873056336]],
            [[0.295025327937, 0.486414533565, 0.218560138498], [0.319873056336, 0.289433110394, 0.39069383327]],
            [_p2, [0.319873056336, 0.39069383327, 0.289433110394]],
            [_p2, [0.281408044046, 0.254628527989, 0.463963427965]],
            [_p2, [0.367165401111, 0.332224993533, 0.300609605356]]],
    ":decision": [1, 0], ":time": [2, 4]})
_q3 = [0.952574126822, 0.5, 0.5]
case("EarlyExit-sigmoid", EarlyExit(3, 0.9, "sigmoid"), EXIT_L, {
    "out": [[[0.524979187479, 0.549833997312, 0.5], [0.5, 0.574442516812, 0.524979187479]],
            [[0.622459331202, 0.73105857863, 0.549833997312], [0.549833997312, 0.524979187479, 0.598687660112]],
            [[0.549833997312, 0.880797077978, 0.524979187479], [0.574442516812, 0.622459331202, 0.549833997312]],
            [_q3, [0.524979187479, 0.5, 0.645656306226]],
            [_q3, [0.622459331202, 0.598687660112, 0.574442516812]]],
    ":decision": [0, 0], ":time": [3, 4]})

ALL = CASES + FIXED_CASES + CONV_CASES


def _run(node, x, noise, kind):
    """Input x [-> node], noise on port `noise`; returns (outputs, traces of node) with a batch axis."""
    x = A(x, float)
    x = x[:, None, :] if x.ndim == 2 else x
    g = Graph(meta={"dt": 1.0})
    g.add("x", Input(x.shape[2], kind))
    name = "x"
    if not isinstance(node, Input):
        name = g.add("n", node)
        g.connect("x", "n")
    xs = {"x": x}
    if noise is not None:
        g.add("u", Input(node.size, "graded"))
        g.connect("u", "n", port="noise")
        xs["u"] = A(noise, float)[:, None, :]
    g.outputs = [name]
    out, act = run(g, xs, "float64", record=True)
    return name, out, act.traces[name]


@pytest.mark.parametrize("cid, node, x, expect, noise, kind", ALL, ids=[c[0] for c in ALL])
def test_golden(cid, node, x, expect, noise, kind):
    name, out, tr = _run(node, x, noise, kind)
    exact = getattr(node, "integer", False)
    missing = [s for s in node.states if s != "s" and s not in expect]
    assert not missing, f"{cid}: golden case lacks the state(s) {missing}"
    for key, want in expect.items():
        got = out[name + key] if key.startswith(":") else (out[name] if key == "out" else tr[key])
        want = A(want, float)
        want = want[:, None, :] if want.ndim == 2 and got.ndim == 3 else want
        if exact:
            np.testing.assert_array_equal(got, want, err_msg=f"{cid}: {key}")
        else:
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-11, err_msg=f"{cid}: {key}")
    if "s" in node.states:  # the spike state s⁻ is the output just emitted
        np.testing.assert_array_equal(tr["s"], out[name], err_msg=f"{cid}: state s")


@pytest.mark.parametrize("prim", sorted(PRIMITIVES))
def test_every_primitive_has_a_golden_case(prim):
    assert prim in {type(c[1]).__name__ for c in ALL}, f"primitive {prim} has no golden vector in tests/test_golden.py"
