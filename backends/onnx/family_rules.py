"""ONNX rules of the seed-family primitives (LTC, LTCReadout, AHP, SPSN, LSTM).

Each mirrors its NumPy kernel in `numpy_seed_kernels` operation by operation.
σ is ONNX `Sigmoid` (onnxruntime's float32 logistic is accurate to ~1e-7, not
bit-identical to NumPy's two-sided form). EarlyExit is in `onnx_exit`.
"""
from __future__ import annotations

import numpy as np

from snnc.backends.numpy.lower import default_params
from snnc.backends.onnx.rules import MIN_OPSET, Emitter, rule
from snnc.compiler.primitives import AHP, LSTM, LTC, SPSN, LTCReadout

MIN_OPSET["Slice"] = 10  # starts/ends as inputs


def _one(em: Emitter) -> str:
    return em.shared("one", np.ones((), em.dtype))


def _gate(em: Emitter, key: str, W: np.ndarray, b: np.ndarray, I: str, state: str) -> str:
    """σ(W·[I, state] + b), the concatenation kept so the sums run as NumPy's."""
    cat = em.op("Concat", [I, state], f"{key}_cat", axis=1)
    z = em.op("Add", [em.op("MatMul", [cat, em.const(f"{key}_Wt", W.T)], f"{key}_Wx"), em.const(f"{key}_b", b)], f"{key}_z")
    return em.op("Sigmoid", [z], key)


@rule(LTC)
def _ltc(em: Emitter, node: LTC, inp: dict[str, str]) -> str:
    p = default_params(node, em.dtype)
    I, s_prev, b_old, v_old = inp["in"], em.state("s"), em.state("b"), em.state("v")
    a = _gate(em, "a", p.Wa, p.ba, I, v_old)
    r = _gate(em, "r", p.Wr, p.br, I, b_old)
    rb = em.op("Mul", [r, b_old], "r_b")
    b = em.op("Add", [rb, em.op("Mul", [em.op("Sub", [_one(em), r], "one_minus_r"), s_prev], "b_in")], "b")
    B = em.op("Add", [em.const("b0", p.b0), em.op("Mul", [em.const("beta", p.beta), b], "beta_b")], "threshold")
    keep = em.op("Mul", [em.op("Sub", [_one(em), a], "one_minus_a"), v_old], "v_keep")
    v = em.op("Add", [keep, em.op("Mul", [a, I], "a_I")], "v")
    fire, s = em.heaviside(v, B)
    em.set_state("b", b)
    em.set_state("v", em.reset(v, fire, s, B, "zero"))
    em.set_state("s", s)
    return s


@rule(LTCReadout)
def _ltc_readout(em: Emitter, node: LTCReadout, inp: dict[str, str]) -> str:
    p = default_params(node, em.dtype)
    I, v_old = inp["in"], em.state("v")
    a = _gate(em, "a", p.Wa, p.ba, I, v_old)
    keep = em.op("Mul", [em.op("Sub", [_one(em), a], "one_minus_a"), v_old], "v_keep")
    v = em.op("Add", [keep, em.op("Mul", [a, I], "a_I")], "v")
    em.set_state("v", v)
    return v


@rule(AHP)
def _ahp(em: Emitter, node: AHP, inp: dict[str, str]) -> str:
    p = default_params(node, em.dtype)
    s_prev = em.state("s")
    aux_decay = em.op("Mul", [em.const("alpha_aux", p.alpha_aux), em.state("aux")], "aux_decay")
    aux = em.op("Add", [aux_decay, em.op("Mul", [em.const("w_ahp", p.w_ahp), s_prev], "ahp_in")], "aux")
    decay = em.op("Mul", [em.const("alpha", p.alpha), em.state("v")], "v_decay")
    v_in = em.op("Add", [decay, em.op("Mul", [em.const("gain", p.gain), inp["in"]], "gain_I")], "v_in")
    v = em.op("Add", [v_in, aux], "v")
    theta = em.const("theta", p.theta)
    fire, s = em.heaviside(v, theta)
    em.set_state("aux", aux)
    em.set_state("v", em.reset(v, fire, s, theta, "zero"))
    em.set_state("s", s)
    return s


@rule(SPSN)
def _spsn(em: Emitter, node: SPSN, inp: dict[str, str]) -> str:
    p = default_params(node, em.dtype)
    i = em.op("Add", [em.op("Mul", [em.const("alpha", p.alpha), em.state("i")], "i_decay"), inp["in"]], "i")
    decay = em.op("Mul", [em.const("beta", p.beta), em.state("v")], "v_decay")
    v = em.op("Add", [decay, em.op("Mul", [em.const("one_minus_beta", 1 - p.beta), i], "v_in")], "v")
    em.set_state("i", i)
    em.set_state("v", v)
    to = em.helper.np_dtype_to_tensor_dtype(em.dtype)
    if node.stochastic:  # Bernoulli against the noise the caller feeds: s = 1[u < σ(v)]
        fire = em.op("Less", [inp["noise"], em.op("Sigmoid", [v], "p_spike")], "fire")
        return em.op("Cast", [fire], "s", to=to)
    return em.heaviside(v, em.shared("zero", np.zeros((), em.dtype)))[1]


@rule(LSTM)
def _lstm(em: Emitter, node: LSTM, inp: dict[str, str]) -> str:
    p = default_params(node, em.dtype)
    n = node.size
    x_part = em.op("MatMul", [inp["in"], em.const("W_ih_t", p.W_ih.T)], "Wx")
    h_part = em.op("MatMul", [em.state("h"), em.const("W_hh_t", p.W_hh.T)], "Uh")
    z = em.op("Add", [em.op("Add", [x_part, h_part], "Wx_Uh"), em.const("b", p.b)], "z")
    axis = em.shared("axis_1", np.array([1], np.int64))
    gates = {}
    for k, (g, act) in enumerate(zip("ifgo", ("Sigmoid", "Sigmoid", "Tanh", "Sigmoid"))):  # PyTorch gate order
        zk = em.op("Slice", [z, em.const(f"{g}_start", np.array([k * n], np.int64)),
                             em.const(f"{g}_end", np.array([(k + 1) * n], np.int64)), axis], f"z_{g}")
        gates[g] = em.op(act, [zk], f"gate_{g}")
    fc = em.op("Mul", [gates["f"], em.state("c")], "f_c")
    c = em.op("Add", [fc, em.op("Mul", [gates["i"], gates["g"]], "i_g")], "c")
    h = em.op("Mul", [gates["o"], em.op("Tanh", [c], "tanh_c")], "h")
    em.set_state("c", c)
    em.set_state("h", h)
    return h
