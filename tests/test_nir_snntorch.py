"""snnTorch -> NIR -> snnc, spike for spike against snnTorch's own forward pass, on numpy, onnx and Lava; and
snnc's NIR export read back by snnTorch's importer.

The models are snnTorch's Leaky, RLeaky, Synaptic and RSynaptic with their default subtract reset (what
`--nir-convention snntorch` assumes) and with reset_mechanism="zero" where snnTorch's zero reset is snnc's
(Leaky). snnTorch runs in float64, so equal spikes mean equal arithmetic, not luck near the threshold.
"""
from __future__ import annotations

import numpy as np
import pytest

import snntorch as snn  # the test extra installs it (scripts/setup-main.sh); a missing package fails, never skips
import torch
from snntorch.export_nir import export_to_nir

from nir_frameworks import TARGETS, assert_same_spikes, run_on, spikes, spiking_nodes
from snnc.frontends.nir_io import from_nir, to_nir

F, H, O = 6, 10, 4


def _vec(n: int, lo: float, hi: float, seed: int) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).uniform(lo, hi, n))


def _heaviside(x: torch.Tensor) -> torch.Tensor:
    """snnTorch's forward spike, H(v − theta) strict, in the input's dtype (its surrogates return float32)."""
    return (x > 0).to(x.dtype)


def _model(kind: str, reset: str = "subtract") -> torch.nn.Module:
    """Linear -> neuron(H) -> Linear -> neuron(O); snnTorch's exporter needs per-neuron parameter vectors."""
    torch.manual_seed({"ff": 1, "rec": 2, "zero": 3}[kind])

    def neuron(n: int, layer: int):
        beta, alpha, thr = _vec(n, 0.8, 0.95, layer), _vec(n, 0.5, 0.8, layer + 10), _vec(n, 0.6, 1.2, layer + 20)
        kw = dict(threshold=thr, init_hidden=True, reset_mechanism=reset, spike_grad=_heaviside)
        if kind == "rec":
            cls = snn.RLeaky if layer == 0 else snn.RSynaptic
            extra = dict(alpha=alpha) if layer else {}
            return cls(beta=beta, linear_features=n, **extra, **kw)
        if kind == "zero" or layer == 0:
            return snn.Leaky(beta=beta, **kw)
        return snn.Synaptic(alpha=alpha, beta=beta, **kw)

    net = torch.nn.Sequential(torch.nn.Linear(F, H), neuron(H, 0), torch.nn.Linear(H, O), neuron(O, 1)).double()
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        for m in net:
            if isinstance(m, (snn.RLeaky, snn.RSynaptic)):
                m.recurrent.weight.mul_(0.7)
    return net


def _snntorch_run(net: torch.nn.Module, x: np.ndarray) -> list[np.ndarray]:
    """snnTorch's own forward pass over time: the spikes of both neuron layers, [T, B, n] each."""
    for m in net:
        if hasattr(m, "reset_hidden"):
            m.reset_hidden()
        for attr in ("mem", "syn", "spk"):
            if isinstance(getattr(m, attr, None), torch.Tensor):
                setattr(m, attr, torch.zeros(0, dtype=torch.float64))
    rec: list[list[np.ndarray]] = [[], []]
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = torch.from_numpy(x[t])
            k = 0
            for m in net:
                h = m(h)
                if isinstance(h, tuple):
                    h = h[0]
                if isinstance(m, snn.SpikingNeuron):
                    rec[k].append(h.numpy().copy())
                    k += 1
    return [np.stack(r) for r in rec]


def _exported(kind: str, reset: str = "subtract"):
    net = _model(kind, reset)
    return net, export_to_nir(net, torch.zeros(1, F, dtype=torch.float64), ignore_dims=[0])


@pytest.mark.parametrize("kind", ["ff", "rec", "zero"])
def test_snntorch_models_compile_spike_for_spike(kind):
    net, ng = _exported(kind, "zero" if kind == "zero" else "subtract")
    g = from_nir(ng, convention="snntorch", reset="zero" if kind == "zero" else None)
    assert g.meta["dt"] == 1e-4  # snnTorch's hard-coded dt, implied by the convention
    x = spikes(40, 3, F, rate=0.4, seed=7)
    want = _snntorch_run(net, x)
    names = sorted(spiking_nodes(g), key=lambda n: n.split(".")[0])
    assert len(names) == 2, names
    for w, n in zip(want, names):
        assert 0.02 < w.mean() < 0.8, f"{n}: spike rate {w.mean():.3f} does not exercise reset and recurrence"
    for target in TARGETS:
        _, got = run_on(target, g, x, names)
        for w, n in zip(want, names):
            assert_same_spikes(got[n], w, f"{kind} {n} on {target}")


def test_nir_zero_reset_differs_from_snntorch_subtract():
    """The reset matters: NIR's own reading (v_reset = 0) of a default snnTorch model is a different model."""
    net, ng = _exported("ff")
    x = spikes(40, 3, F, rate=0.4, seed=7)
    want = _snntorch_run(net, x)[0]
    _, got = run_on("numpy", from_nir(ng, convention="snntorch", reset="zero"), x, ["1"])
    assert np.any(got["1"] != want)


def test_snnc_export_reads_back_into_snntorch():
    """IR -> NIR (dt 1e-4) -> snnTorch's import_from_nir: its zero-reset Leaky/Synaptic equal snnc's zero reset."""
    from snntorch.import_nir import import_from_nir

    net = _model("zero", "zero")
    net[1].threshold = torch.full((H,), 0.8, dtype=torch.float64)  # snnTorch's importer needs one threshold per layer
    net[3] = snn.Synaptic(alpha=_vec(O, 0.5, 0.8, 11), beta=_vec(O, 0.8, 0.95, 1), threshold=torch.full((O,), 0.9),
                          init_hidden=True, reset_mechanism="zero", spike_grad=_heaviside)  # snnc's CubaLIF export, read by snnTorch
    ng = export_to_nir(net.double(), torch.zeros(1, F, dtype=torch.float64), ignore_dims=[0])
    g = from_nir(ng, convention="snntorch", reset="zero")
    back = import_from_nir(to_nir(g, dt=1e-4)).double()
    x = spikes(40, 3, F, rate=0.4, seed=8)
    _, ours = run_on("numpy", g, x, ["1", "3"])
    mods = [m for m in back.modules() if isinstance(m, snn.SpikingNeuron)]
    assert [type(m).__name__ for m in mods] == ["Leaky", "Synaptic"]
    for m in mods:
        m.spike_grad = _heaviside  # float64 spikes, as above
    with torch.no_grad():
        for m in mods:
            m.reset_hidden()
        outs = []
        for t in range(x.shape[0]):
            y = back(torch.from_numpy(x[t]))
            outs.append((y[0] if isinstance(y, tuple) else y).numpy().copy())
    assert 0.02 < ours["3"].mean() < 0.8
    assert_same_spikes(np.stack(outs), ours["3"], "snnTorch's import of snnc's export")


def test_cli_runs_an_snntorch_file_as_snntorch_computes_it(run_snnc, tmp_path):
    """`snnc run m.nir` needs a dt; with snnTorch's convention it reproduces snnTorch's output spikes."""
    import nir

    net, ng = _exported("rec")
    nir.write(tmp_path / "m.nir", ng)
    x = spikes(30, 2, F, rate=0.4, seed=3)
    np.save(tmp_path / "x.npy", x)
    p = run_snnc("run", "m.nir", "--input", "x.npy")
    assert p.returncode == 1 and "give --dt" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
    run_snnc("run", "m.nir", "--input", "x.npy", "--nir-convention", "snntorch", "--dtype", "float64", "-o", "y.npy",
             check=True)
    want = _snntorch_run(net, x)[1]
    assert want.sum() > 0
    assert_same_spikes(np.load(tmp_path / "y.npy"), want, "snnc run --nir-convention snntorch")
    # the same from NIR's own reading at snnTorch's dt, with its subtract reset named
    run_snnc("run", "m.nir", "--input", "x.npy", "--dt", "1e-4", "--nir-reset", "snntorch", "--dtype", "float64",
             "-o", "y2.npy", check=True)
    assert_same_spikes(np.load(tmp_path / "y2.npy"), want, "snnc run --dt 1e-4 --nir-reset snntorch")
