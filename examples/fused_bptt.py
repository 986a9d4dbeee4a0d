"""Fused BPTT for the recurrent LIF and ALIF layers of snnc.frontends.layers, used by the training recipes.

`ALIFLayer.forward` / `LIFLayer.forward` build an autograd graph of ~20 nodes per
time step, and on a CPU the autograd engine's per-node overhead, not arithmetic,
dominates long sequences (1301 steps of ECG). `fused_forward(layer, x)` computes
exactly the layer's equations with the state loop run without autograd and the
backward pass written out by hand (one custom autograd Function per layer), so
that training is several times faster. The parameters are the layer's own:
training through `fused_forward` trains the layer, and the layer's ordinary
`forward` then gives the same outputs (the recipes evaluate with it). The
gradients equal autograd's through `forward` (tests/test_pretrained.py checks it).

    out = fused_forward(layer, x)   # x [T, B, F] -> spikes, or v if layer.readout == "v"
"""
from __future__ import annotations

import torch

from snnc.frontends.layers import ALIFLayer, LIFLayer
from snnc.frontends.surrogate import MultiGaussian, _gaussian


def surrogate_grad(x: torch.Tensor) -> torch.Tensor:
    """d spike / dx of the multi-Gaussian surrogate (frontends/surrogate.py) at x = v − threshold."""
    c = MultiGaussian
    return (_gaussian(x, 0.0, c.lens) * (1.0 + c.height) - _gaussian(x, c.lens, c.scale * c.lens) * c.height
            - _gaussian(x, -c.lens, c.scale * c.lens) * c.height) * c.gamma


def _rec_current(s: torch.Tensor, W: torch.Tensor | None, c: torch.Tensor | None) -> torch.Tensor | float:
    if W is None:
        return 0.0
    return s @ W.t() + c if c is not None else s @ W.t()


class _ALIFSeq(torch.autograd.Function):
    """ALIF over T steps:  I = Iff + W·s⁻ + c;  b = rho·b + (1−rho)·s⁻;  B = b0 + beta·b;
    v = alpha·v + gain·I − B·s⁻;  s = H(v − B).  Returns (s, v) [T, B, n]."""

    @staticmethod
    def forward(ctx, Iff, W, c, alpha, rho, gain, b0, beta, v0, b_init):  # type: ignore[override]
        T, Bsz, n = Iff.shape
        v = torch.full((Bsz, n), v0, dtype=Iff.dtype)
        b = torch.full((Bsz, n), b_init, dtype=Iff.dtype)
        s = torch.zeros(Bsz, n, dtype=Iff.dtype)
        S, V, Vp, Bp, Bt_, I_, H = (torch.empty(T, Bsz, n, dtype=Iff.dtype) for _ in range(7))
        for t in range(T):
            I = Iff[t] + _rec_current(s, W, c)
            Vp[t], Bp[t] = v, b
            b = rho * b + (1 - rho) * s
            Bt = b0 + beta * b
            v = alpha * v + gain * I - Bt * s
            x = v - Bt
            H[t] = x  # the surrogate derivative is taken in backward, over all steps at once
            s = (x > 0).to(Iff.dtype)
            S[t], V[t], Bt_[t], I_[t] = s, v, Bt, I
        ctx.save_for_backward(W, alpha, rho, gain, S, Vp, Bp, Bt_, I_, H)
        ctx.beta, ctx.has_c = beta, c is not None
        return S, V

    @staticmethod
    def backward(ctx, gS, gV):  # type: ignore[override]
        W, alpha, rho, gain, S, Vp, Bp, Bt_, I_, X = ctx.saved_tensors
        H = surrogate_grad(X)
        beta = ctx.beta
        T, Bsz, n = S.shape
        gS = torch.zeros_like(S) if gS is None else gS
        gV = torch.zeros_like(S) if gV is None else gV
        GI = torch.empty_like(S)
        Gv_all = torch.empty_like(S)
        Gb_all = torch.empty_like(S)
        zero = torch.zeros(Bsz, n, dtype=S.dtype)
        GI_next, Gb_next, Gv_next, B_next = zero, zero, zero, zero
        for t in range(T - 1, -1, -1):
            Gs = gS[t] + (1 - rho) * Gb_next - B_next * Gv_next
            if W is not None:
                Gs = Gs + GI_next @ W
            Gv = gV[t] + H[t] * Gs + alpha * Gv_next
            s_prev = S[t - 1] if t > 0 else zero
            GB = -H[t] * Gs - s_prev * Gv
            Gb = beta * GB + rho * Gb_next
            GI_t = gain * Gv
            GI[t], Gv_all[t], Gb_all[t] = GI_t, Gv, Gb
            GI_next, Gb_next, Gv_next, B_next = GI_t, Gb, Gv, Bt_[t]
        S_prev = torch.cat([zero.unsqueeze(0), S[:-1]])
        g_alpha = (Gv_all * Vp).sum((0, 1))
        g_gain = (Gv_all * I_).sum((0, 1))
        g_rho = (Gb_all * (Bp - S_prev)).sum((0, 1))
        gW = gc = None
        if W is not None:
            gW = GI.reshape(-1, n).t() @ S_prev.reshape(-1, n)
            gc = GI.sum((0, 1)) if ctx.has_c else None
        return GI, gW, gc, g_alpha, g_rho, g_gain, None, None, None, None


class _LIFSeq(torch.autograd.Function):
    """LIF over T steps:  I = Iff + W·s⁻ + c;  u = alpha·v + gain·I;  s = H(u − theta);
    v = u − theta·s (subtract), u·(1−s) (zero) or u (none).  Returns (s, v) [T, B, n]."""

    @staticmethod
    def forward(ctx, Iff, W, c, alpha, gain, theta, reset, v0):  # type: ignore[override]
        T, Bsz, n = Iff.shape
        v = torch.full((Bsz, n), v0, dtype=Iff.dtype)
        s = torch.zeros(Bsz, n, dtype=Iff.dtype)
        S, V, Vp, U, I_, H = (torch.empty(T, Bsz, n, dtype=Iff.dtype) for _ in range(6))
        for t in range(T):
            I = Iff[t] + _rec_current(s, W, c)
            Vp[t] = v
            u = alpha * v + gain * I
            H[t] = u - theta
            s = (H[t] > 0).to(Iff.dtype)
            v = u - theta * s if reset == "subtract" else (u * (1 - s) if reset == "zero" else u)
            S[t], V[t], U[t], I_[t] = s, v, u, I
        ctx.save_for_backward(W, alpha, gain, S, Vp, U, I_, H)
        ctx.theta, ctx.reset, ctx.has_c = theta, reset, c is not None
        return S, V

    @staticmethod
    def backward(ctx, gS, gV):  # type: ignore[override]
        W, alpha, gain, S, Vp, U, I_, X = ctx.saved_tensors
        H = surrogate_grad(X)
        theta, reset = ctx.theta, ctx.reset
        T, Bsz, n = S.shape
        gS = torch.zeros_like(S) if gS is None else gS
        gV = torch.zeros_like(S) if gV is None else gV
        GI, Gu_all = torch.empty_like(S), torch.empty_like(S)
        zero = torch.zeros(Bsz, n, dtype=S.dtype)
        GI_next, Gu_next = zero, zero
        for t in range(T - 1, -1, -1):
            Gv = gV[t] + alpha * Gu_next  # v_t feeds u_{t+1}
            Gs = gS[t] + (GI_next @ W if W is not None else 0.0)
            if reset == "subtract":
                Gs = Gs - theta * Gv
                Gu = Gv + H[t] * Gs
            elif reset == "zero":
                Gs = Gs - U[t] * Gv
                Gu = Gv * (1 - S[t]) + H[t] * Gs
            else:
                Gu = Gv + H[t] * Gs
            GI_t = gain * Gu
            GI[t], Gu_all[t] = GI_t, Gu
            GI_next, Gu_next = GI_t, Gu
        g_alpha = (Gu_all * Vp).sum((0, 1))
        g_gain = (Gu_all * I_).sum((0, 1))
        gW = gc = None
        if W is not None:
            S_prev = torch.cat([zero.unsqueeze(0), S[:-1]])
            gW = GI.reshape(-1, n).t() @ S_prev.reshape(-1, n)
            gc = GI.sum((0, 1)) if ctx.has_c else None
        return GI, gW, gc, g_alpha, g_gain, None, None, None


def fused_sequences(layer: ALIFLayer | LIFLayer, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(spikes, v) [T, B, n] of `layer` on x [T, B, F], differentiable with the hand-written BPTT."""
    Iff = layer.fc(x)
    W = layer.rec.weight if layer.rec is not None else None
    c = layer.rec.bias if layer.rec is not None else None
    if isinstance(layer, ALIFLayer):
        alpha, rho = layer.decays()
        gain = (1 - alpha) * layer.R
        return _ALIFSeq.apply(Iff, W, c, alpha, rho, gain, layer.b0, layer.beta, layer.v_init, layer.b_init)
    if isinstance(layer, LIFLayer):
        alpha, gain = layer.decays()
        return _LIFSeq.apply(Iff, W, c, alpha, gain, layer.theta, layer.reset, layer.v_init)
    raise TypeError(f"fused_forward: {type(layer).__name__} is not an ALIFLayer or LIFLayer")


def fused_forward(layer: ALIFLayer | LIFLayer, x: torch.Tensor) -> torch.Tensor:
    """What `layer(x)` returns (spikes, or v when layer.readout == 'v'), with the fused BPTT."""
    s, v = fused_sequences(layer, x)
    return v if getattr(layer, "readout", "spikes") == "v" else s
