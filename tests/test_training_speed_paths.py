"""Training fast paths (correctness only, never timing): the sparse input product, the linear recurrence node,
the LI readout's recurrence, SPSN's integrators, and the stepwise layers' unbind, against plain formulations."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from snnc.frontends import zoo
from snnc.frontends.layers import ALIFLayer, LIFLayer, LIReadout, decay_recurrence
from snnc.frontends.sparse_input import SparseInputLinear, sparse_linear, sparse_pays
from snnc.frontends.spsn import INTEGRATORS, SPSNLayer


def _graph_names(t: torch.Tensor) -> set[str]:
    """Names of every autograd node behind t: which path computed it."""
    seen, todo, names = set(), [t.grad_fn], set()
    while todo:
        f = todo.pop()
        if f is None or f in seen:
            continue
        seen.add(f)
        names.add(type(f).__name__)
        todo.extend(n for n, _ in f.next_functions)
    return names


def _spikes(*shape: int, rate: float, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) < rate).to(dtype)


@pytest.mark.parametrize("bias", [True, False])
def test_sparse_product_gradcheck_float64(bias):
    g = torch.Generator().manual_seed(1)
    x = (_spikes(30, 7, rate=0.2) * torch.randn(30, 7, generator=g, dtype=torch.float64)).requires_grad_()
    W = torch.randn(5, 7, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, generator=g, dtype=torch.float64, requires_grad=True) if bias else None
    assert torch.autograd.gradcheck(SparseInputLinear.apply, (x, W, b))


@pytest.mark.parametrize("graded", [False, True])  # spikes (every entry 1) or graded values
@pytest.mark.parametrize("x_grad", [False, True])
def test_sparse_product_equals_dense_in_value_and_gradients(x_grad, graded):
    torch.manual_seed(0)
    lin = nn.Linear(40, 9).double()
    x = _spikes(25, 3, 40, rate=0.05)
    if graded:
        x = x * torch.randn(25, 3, 40, dtype=torch.float64)
    x.requires_grad_(x_grad)
    g = torch.randn(25, 3, 9, dtype=torch.float64)
    grads = []
    for f in (lambda: lin(x), lambda: sparse_linear(x, lin)):
        lin.zero_grad()
        x.grad = None
        y = f()
        y.backward(g)
        grads.append((y.detach(), lin.weight.grad.clone(), lin.bias.grad.clone(), x.grad))
    (yd, wd, bd, xd), (ys, ws, bs, xs) = grads
    torch.testing.assert_close(ys, yd, rtol=0, atol=1e-12)
    torch.testing.assert_close(ws, wd, rtol=0, atol=1e-12)
    torch.testing.assert_close(bs, bd, rtol=0, atol=1e-12)
    assert (xs is None) == (not x_grad)  # the input gradient only when x asks for one (hidden layers)
    if x_grad:
        torch.testing.assert_close(xs, xd, rtol=0, atol=1e-12)


def test_sparse_product_handles_an_all_zero_input():
    lin = nn.Linear(6, 4).double()
    x = torch.zeros(300, 6, dtype=torch.float64)
    y = sparse_linear(x, lin)
    y.sum().backward()
    torch.testing.assert_close(y, lin.bias.detach().expand(300, 4))
    assert lin.weight.grad.abs().max() == 0 and torch.all(lin.bias.grad == 300)


def test_the_product_path_is_chosen_by_density_and_only_in_training():
    layer = LIFLayer(700, 16)
    sparse_x, dense_x = _spikes(50, 8, 700, rate=0.05, dtype=torch.float32), _spikes(50, 8, 700, rate=0.5, dtype=torch.float32)
    assert sparse_pays(sparse_x) and not sparse_pays(dense_x) and not sparse_pays(sparse_x[:2, :2])
    layer.train()
    assert "SparseInputLinearBackward" in _graph_names(layer._start(sparse_x)[0])
    assert "SparseInputLinearBackward" not in _graph_names(layer._start(dense_x)[0])
    layer.sparse_input = False
    assert "SparseInputLinearBackward" not in _graph_names(layer._start(sparse_x)[0])
    layer.sparse_input = True
    assert "SparseInputLinearBackward" in _graph_names(layer._start(dense_x)[0])
    layer.sparse_input = None
    layer.eval()  # evaluation is the reference: the dense product, bit for bit
    assert torch.equal(layer._start(sparse_x)[0], layer.fc(sparse_x))


def _oracle_recurrence(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    y, ys = torch.zeros_like(x[0]), []
    for t in range(x.shape[0]):
        y = a * y + x[t]
        ys.append(y)
    return torch.stack(ys)


@pytest.mark.parametrize("T", [1, 2, 60])
def test_decay_recurrence_gradcheck_and_equals_the_loop(T):
    g = torch.Generator().manual_seed(T)
    x = torch.randn(T, 2, 4, generator=g, dtype=torch.float64, requires_grad=True)
    a = torch.tensor([0.0, 0.3, 0.95, 1.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(decay_recurrence, (x, a))
    assert torch.autograd.gradcheck(decay_recurrence, (x, torch.tensor(0.7, dtype=torch.float64, requires_grad=True)))
    torch.testing.assert_close(decay_recurrence(x, a), _oracle_recurrence(x, a), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("method", sorted(INTEGRATORS))
def test_spsn_training_gradients_of_every_integrator_equal_the_stepwise_ones(method):
    torch.manual_seed(0)
    layer = SPSNLayer(30, 8, stochastic=True).double()
    x = _spikes(80, 3, 30, rate=0.1)
    layer.noise = torch.rand(80, 3, 8, dtype=torch.float64)
    out = {}
    for par in (True, False):
        layer.zero_grad()
        layer.parallel, layer.integrator = par, method
        s = layer(x)
        (s * torch.linspace(-1, 1, 8, dtype=torch.float64)).sum().backward()
        out[par] = (s.detach(), [p.grad.clone() for p in layer.parameters()])
    assert torch.equal(out[True][0], out[False][0])  # the same spikes
    for gp, gs in zip(out[True][1], out[False][1]):
        torch.testing.assert_close(gp, gs, rtol=1e-7, atol=1e-9)
    assert all(g.abs().sum() > 0 for g in out[True][1])


def test_li_readout_recurrence_equals_its_step_loop_with_an_initial_state():
    torch.manual_seed(2)
    ro = LIReadout(6, 3, v_init=0.4).double()
    x = torch.randn(40, 2, 6, dtype=torch.float64)
    res = {}
    for par in (True, False):
        ro.zero_grad()
        ro.parallel = par
        v = ro(x)
        v.pow(2).sum().backward()
        res[par] = (v.detach(), [p.grad.clone() for p in ro.parameters()])
    torch.testing.assert_close(res[True][0], res[False][0], rtol=1e-12, atol=1e-12)
    for a, b in zip(res[True][1], res[False][1]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    ro.parallel = None  # training only: evaluation steps
    ro.train()
    assert "_DecayRecurrenceBackward" in _graph_names(ro(x))
    ro.eval()
    assert "_DecayRecurrenceBackward" not in _graph_names(ro(x))


def test_spsn_network_training_fast_paths_equal_the_plain_stepwise_network():
    m, _ = zoo.build("spsn", {"sizes": [200, 16, 12, 5], "stochastic": True})
    m = m.double().train()
    x = _spikes(60, 6, 200, rate=0.05)  # 72000 entries: above the size where the sparse product starts
    for layer in (m.layer1, m.layer2):
        layer.noise = torch.rand(60, 6, layer.out_features, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 4, 3, 0])
    res = {}
    for fast in (True, False):
        m.zero_grad()
        for layer in m.modules():
            if isinstance(layer, SPSNLayer):
                layer.parallel = None if fast else False
            if isinstance(layer, LIReadout):
                layer.parallel = None if fast else False
            if hasattr(layer, "sparse_input"):
                layer.sparse_input = None if fast else False
        out = m(x)
        names = _graph_names(out)
        assert ("SparseInputLinearBackward" in names) == fast and ("_DecayRecurrenceBackward" in names) == fast
        nn.functional.cross_entropy(out.sum(0), y).backward()
        res[fast] = (out.detach(), {k: p.grad.clone() for k, p in m.named_parameters()})
    torch.testing.assert_close(res[True][0], res[False][0], rtol=1e-10, atol=1e-10)
    for k, g in res[False][1].items():
        torch.testing.assert_close(res[True][1][k], g, rtol=1e-7, atol=1e-9, msg=k)


def _stepwise_layers():
    from snnc.frontends.ahp import AHPLayer
    from snnc.frontends.cuba import CubaLIFLayer, CubaLIReadout, IFLayer
    from snnc.frontends.ltc import LTCLayer, LTCReadout
    return {"alif": lambda: ALIFLayer(5, 7, recurrent=True), "lif": lambda: LIFLayer(5, 7, recurrent=True, theta=0.3),
            "li": lambda: LIReadout(5, 7), "cuba-lif": lambda: CubaLIFLayer(5, 7, recurrent=True),
            "if": lambda: IFLayer(5, 7, recurrent=True, theta=0.5), "cuba-li": lambda: CubaLIReadout(5, 7),
            "ahp": lambda: AHPLayer(5, 7, recurrent=True), "ltc": lambda: LTCLayer(5, 7, recurrent=True),
            "ltc-readout": lambda: LTCReadout(5, 7)}


@pytest.mark.parametrize("name", sorted(_stepwise_layers()))
def test_unbind_keeps_stepwise_forward_and_backward_bit_identical(name, monkeypatch):
    torch.manual_seed(4)
    layer = _stepwise_layers()[name]()
    layer.sparse_input = False  # the dense product on both sides: only the unbind differs
    x = torch.randn(30, 2, 5) * 2
    res = []
    for per_step_index in (False, True):
        if per_step_index:  # the layers as written before: I_ff[t], one select per step
            monkeypatch.setattr(torch.Tensor, "unbind", lambda self, dim=0: [self.select(dim, t) for t in range(self.shape[dim])])
        layer.zero_grad()
        out = layer(x)
        names = _graph_names(out)
        assert ("UnbindBackward0" in names) != per_step_index and ("SelectBackward0" in names) == per_step_index
        (out * torch.arange(7.0)).sum().backward()
        res.append((out.detach(), [p.grad.clone() for p in layer.parameters() if p.grad is not None]))
    assert torch.equal(res[0][0], res[1][0]) and res[0][0].abs().sum() > 0
    assert len(res[0][1]) == len(res[1][1]) > 0 and all(torch.equal(a, b) for a, b in zip(res[0][1], res[1][1]))


def test_only_the_spsn_zoo_model_trains_its_readout_as_one_recurrence():
    srnn, _ = zoo.build("lif-srnn", {"sizes": [8, 6, 3], "recurrent": False})
    spsn = zoo.build("spsn", {"sizes": [8, 6, 3]})[0]
    assert srnn.readout.parallel is False and spsn.readout.parallel is None


@pytest.mark.parametrize("outputs", ["i and v", "v only", "i only"])
def test_spsn_recurrence_node_gradcheck(outputs):
    from snnc.frontends.spsn import parallel_integrate
    g = torch.Generator().manual_seed(5)
    I = torch.randn(25, 2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    alpha = torch.tensor([0.0, 0.5, 0.97], dtype=torch.float64, requires_grad=True)
    beta = torch.tensor([0.9, 0.0, 0.6], dtype=torch.float64, requires_grad=True)
    pick = {"i and v": lambda iv: iv, "v only": lambda iv: iv[1], "i only": lambda iv: iv[0]}[outputs]
    assert torch.autograd.gradcheck(lambda *a: pick(parallel_integrate(*a, method="recurrence")), (I, alpha, beta))


def test_multi_gaussian_derivative_equals_the_plain_formula_everywhere():
    import math

    from snnc.frontends.surrogate import MultiGaussian, multi_gaussian
    c = MultiGaussian

    def n(x, mu, sigma):
        return torch.exp(-((x - mu) ** 2) / (2 * sigma**2)) / (math.sqrt(2 * math.pi) * sigma)
    x = torch.cat([torch.linspace(-3000, 3000, 6001, dtype=torch.float64), torch.linspace(-4, 4, 8001, dtype=torch.float64)])
    want = c.gamma * ((1 + c.height) * n(x, 0, c.lens) - c.height * n(x, c.lens, c.scale * c.lens)
                      - c.height * n(x, -c.lens, c.scale * c.lens))
    for dtype, tol in ((torch.float64, 1e-15), (torch.float32, 1e-7)):
        xr = x.to(dtype).clone().requires_grad_()
        s = multi_gaussian(xr)
        assert s.dtype == dtype and torch.equal(s, (xr > 0).to(dtype))
        s.backward(torch.ones_like(xr))
        assert torch.isfinite(xr.grad).all()
        torch.testing.assert_close(xr.grad.double(), want, rtol=0, atol=tol)
