"""FPTT on LTC spiking networks: it lowers the loss, and one epoch's peak memory does not grow with T.

Memory is measured as glibc's heap in use (mallinfo2: small-block plus mmapped
bytes), which is where torch's CPU allocator gets its tensors; tracemalloc does
not see those. It is sampled by FPTT's `on_step` hook right after each update's
forward pass, where the autograd graph is largest. A BPTT control run shows the
measure does grow with T when the graph is kept.
"""
from __future__ import annotations

import ctypes
import ctypes.util
from collections import OrderedDict

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from snnc.frontends.fptt import FPTT, Stepper
from snnc.frontends.ltc import LTCLayer, LTCReadout


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
if not hasattr(_libc, "mallinfo2"):  # pragma: no cover - glibc < 2.33
    pytest.fail("this test measures memory with glibc's mallinfo2 (glibc >= 2.33)", pytrace=False)
_libc.mallinfo2.restype = _MallInfo2


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Thousands of tiny steps: intra-op threads only contend on a shared machine (20x slower)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def heap_in_use() -> int:
    m = _libc.mallinfo2()
    return int(m.uordblks + m.hblkhd)


def _model(F_in: int = 4, H: int = 64, O: int = 2) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict(l1=LTCLayer(F_in, H, recurrent=True), out=LTCReadout(H, O)))


def _task(T: int, B: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes: spikes on channels {0, 1} (class 0) or {2, 3} (class 1), rate 0.3, background 0.05."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (B,), generator=g)
    rate = torch.full((T, B, 4), 0.05)
    rate[:, y == 0, :2] = 0.3
    rate[:, y == 1, 2:] = 0.3
    return (torch.rand(T, B, 4, generator=g) < rate).float(), y


def _loss(y_t: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(y_t, target)


def test_fptt_lowers_the_loss():
    model = _model(H=32)
    fptt = FPTT(model, torch.optim.Adam(model.parameters(), lr=3e-3), alpha=0.1, rho=0.5, K=5)
    data = [_task(30, 16, s) for s in range(4)]

    def eval_loss() -> float:
        with torch.no_grad():
            return sum(float(_loss(model(x)[-1], y)) for x, y in data) / len(data)

    before = eval_loss()
    for _ in range(6):
        fptt.epoch(data, _loss)
    after = eval_loss()
    assert after < 0.7 * before, (before, after)
    # W was set to the running average at the end of the epoch
    for p, a in zip(fptt.params, fptt.avg):
        assert torch.equal(p, a)


def _peak(T: int, fptt_mode: bool, B: int = 16) -> int:
    model = _model(H=32)
    x, y = _task(T, B, 0)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    peak = [0]  # a running maximum, not a list of samples: the list itself would grow with T

    def sample(t: int) -> None:
        peak[0] = max(peak[0], heap_in_use())
    base = heap_in_use()
    if fptt_mode:
        FPTT(model, opt, K=4, on_step=sample).epoch([(x, y)], _loss)
    else:  # BPTT control: the whole sequence's graph is alive at the end of the forward pass
        st = Stepper(model)
        state, loss = st.init_state(B, x), 0.0
        for t in range(T):
            out, state = st.step(x[t], state)
            loss = loss + _loss(out, y)
        sample(T)
        loss.backward()
    return peak[0] - base


def test_fptt_peak_memory_does_not_grow_with_sequence_length():
    _peak(20, True)  # warm up allocator caches and lazy initialisation
    short, long_ = _peak(100, True), _peak(1000, True)
    assert short > 0
    assert long_ <= 1.25 * short, f"FPTT peak heap: T=100 {short} B, T=1000 {long_} B ({long_ / short:.2f}x)"
    b_short, b_long = _peak(100, False), _peak(1000, False)
    assert b_long > 3 * b_short, f"BPTT control should grow: T=100 {b_short} B, T=1000 {b_long} B"


def test_fptt_rejects_layers_without_steps_and_bad_options():
    with pytest.raises(TypeError, match="layer 0 .*GRU"):
        FPTT(nn.Sequential(nn.GRU(3, 3)), torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1))
    m = _model()
    with pytest.raises(ValueError, match="alpha"):
        FPTT(m, torch.optim.SGD(m.parameters(), lr=0.1), alpha=0)
    with pytest.raises(ValueError, match="rho"):
        FPTT(m, torch.optim.SGD(m.parameters(), lr=0.1), rho=1.5)


if __name__ == "__main__":  # print the measured figures (for the report)
    _peak(20, True)
    print({T: (_peak(T, True), _peak(T, False)) for T in (100, 1000)})
