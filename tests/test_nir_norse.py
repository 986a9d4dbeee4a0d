"""Norse -> NIR -> snnc, spike for spike against Norse's own cells, on numpy, onnx and Lava; and snnc's NIR export
read back by Norse's importer (which follows NIR's equations, unlike Norse's LIFCell: docs/nir.md).

Feed-forward models go through Norse's exporter (`norse.torch.to_nir`). Norse 1.1 exports neither LICell (it
writes an empty node) nor recurrent cells, so those graphs are written here the way its exporter writes a
LIFCell (tau = dt/tau_inv, r = 1, w_in = 1) and compared with Norse's LICell and LIFRecurrentCell.
"""
from __future__ import annotations

import nir
import numpy as np
import norse.torch as nt  # the test extra installs it (scripts/setup-main.sh); a missing package fails, never skips
import pytest
import torch

from nir_frameworks import TARGETS, assert_same_spikes, run_on, spikes, spiking_nodes
from snnc.compiler.primitives import CubaLI
from snnc.frontends.nir_io import from_nir, to_nir

DT, F, H, O = 1e-3, 6, 10, 4
f64 = torch.float64


def _p(n: int | None, lo: float, hi: float, seed: int) -> torch.Tensor:
    """A per-neuron parameter vector in float64 (or a scalar, as Norse's defaults are, when n is None)."""
    v = np.random.default_rng(seed).uniform(lo, hi, n or 1)
    return torch.tensor(v if n else v[0], dtype=f64)


def _zero(n: int | None) -> torch.Tensor:
    return torch.zeros(n or (), dtype=f64)  # nir wants every parameter of a node in one shape


def _lif(n):
    return nt.LIFParameters(tau_syn_inv=_p(n, 150, 250, 1), tau_mem_inv=_p(n, 60, 120, 2), v_th=_p(n, 0.3, 0.6, 3),
                            v_leak=_zero(n), v_reset=_zero(n))


def _box(n):
    return nt.LIFBoxParameters(tau_mem_inv=_p(n, 60, 120, 4), v_th=_p(n, 0.2, 0.5, 5), v_leak=_zero(n), v_reset=_zero(n))


def _linear(i: int, o: int, seed: int, scale: float) -> torch.nn.Linear:
    torch.manual_seed(seed)
    m = torch.nn.Linear(i, o).double()
    with torch.no_grad():
        m.weight.mul_(scale)
    return m


def _run_cells(layers: list, x: np.ndarray) -> list[np.ndarray]:
    """Norse's own forward pass, step by step: the output of every cell, [T, B, n] each."""
    states = [None] * len(layers)
    rec: list[list[np.ndarray]] = [[] for _ in layers]
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = torch.from_numpy(x[t])
            for k, m in enumerate(layers):
                if isinstance(m, torch.nn.Linear):
                    h = m(h)
                    continue
                h, states[k] = m(h, states[k])
                rec[k].append(h.numpy().copy())
    return [np.stack(r) for r in rec if r]


def _ff(per_neuron: bool):
    n = (H if per_neuron else None), (O if per_neuron else None)
    layers = [_linear(F, H, 1, 3.0), nt.LIFCell(_lif(n[0]), dt=DT), _linear(H, O, 2, 8.0), nt.LIFBoxCell(_box(n[1]), dt=DT)]
    return layers, nt.to_nir(nt.SequentialState(*layers), torch.zeros(1, F, dtype=f64), dt=DT)


@pytest.mark.parametrize("per_neuron", [True, False], ids=["vectors", "scalars"])
def test_norse_lifcell_and_lifboxcell_spike_for_spike(per_neuron):
    layers, ng = _ff(per_neuron)
    assert tuple(ng.nodes["input"].input_type["input"]) == (1, F)  # Norse's batch-leading Input shape
    g = from_nir(ng, DT, convention="norse")
    x = spikes(60, 3, F, rate=0.4, seed=3)
    want = _run_cells(layers, x)
    names = ["1", "3"]
    assert spiking_nodes(g) == names
    for w in want:
        assert 0.02 < w.mean() < 0.8, f"spike rate {w.mean():.3f} does not exercise the reset"
    for target in TARGETS:
        _, got = run_on(target, g, x, names)
        for w, n in zip(want, names):
            assert_same_spikes(got[n], w, f"norse {n} on {target}")
    # NIR's own reading of the same file (current input scaled by dt/tau_syn, tau taken as written) differs
    with pytest.raises(Exception, match="tau"):
        from_nir(ng, DT, convention="nir")


def _cuba_like_norse(p, n: int, spiking: bool):
    """The NIR node Norse's exporter writes for a LIFCell, here also for a LICell (CubaLI)."""
    kw = dict(tau_syn=(DT / p.tau_syn_inv * torch.ones(n, dtype=f64)).numpy(),
              tau_mem=(DT / p.tau_mem_inv * torch.ones(n, dtype=f64)).numpy(), r=np.ones(n),
              v_leak=(p.v_leak * torch.ones(n, dtype=f64)).numpy())
    if spiking:
        return nir.CubaLIF(**kw, v_threshold=(p.v_th * torch.ones(n, dtype=f64)).numpy(), v_reset=np.zeros(n))
    return nir.CubaLI(**kw)


def test_norse_licell_readout_and_recurrent_lifcell():
    cell_p = _lif(H)._replace(v_leak=0.0, v_reset=0.0)  # LIFRecurrentCell's initial state wants plain numbers
    rec = nt.LIFRecurrentCell(F, H, p=cell_p, dt=DT).double()
    with torch.no_grad():
        rec.input_weights.mul_(3.0)
    li_p = nt.LIParameters(tau_syn_inv=_p(O, 150, 250, 7), tau_mem_inv=_p(O, 60, 120, 8), v_leak=_p(O, -0.5, 0.5, 9))
    readout = _linear(H, O, 4, 1.0)
    layers = [rec, readout, nt.LICell(li_p, dt=DT)]
    nodes = {"input": nir.Input(np.array([F])), "fc": nir.Linear(rec.input_weights.detach().numpy()),
             "lif": _cuba_like_norse(cell_p, H, True), "rec": nir.Linear(rec.recurrent_weights.detach().numpy()),
             "ro": nir.Affine(readout.weight.detach().numpy(), readout.bias.detach().numpy()),
             "li": _cuba_like_norse(li_p, O, False), "output": nir.Output(np.array([O]))}
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "ro"), ("ro", "li"), ("li", "output")]
    g = from_nir(nir.NIRGraph(nodes, edges, type_check=False), DT, convention="norse")
    assert isinstance(g.nodes["li"], CubaLI) and "li.syn" not in g.nodes  # NIR's CubaLI is snnc's CubaLI, v_leak its bias
    x = spikes(60, 3, F, rate=0.4, seed=5)
    spk, v = _run_cells(layers, x)
    assert 0.02 < spk.mean() < 0.8
    for target in TARGETS:
        outs, got = run_on(target, g, x, ["lif"])
        assert_same_spikes(got["lif"], spk, f"recurrent LIFCell on {target}")
        np.testing.assert_allclose(outs["li"], v, rtol=1e-9, atol=1e-9, err_msg=f"LICell on {target}")


def test_snnc_export_reads_back_into_norse():
    """IR -> NIR -> norse.from_nir: Norse's importer follows NIR (w_in·dt/tau_syn), so its modules equal snnc's."""
    layers, ng = _ff(True)
    g = from_nir(ng, DT, convention="norse")
    back = nt.from_nir(to_nir(g, DT), dt=DT).double()
    x = spikes(60, 3, F, rate=0.4, seed=6)
    outs, _ = run_on("numpy", g, x, [])
    state, ys = None, []
    with torch.no_grad():
        for t in range(x.shape[0]):
            y, state = back(torch.from_numpy(x[t]), state)
            ys.append(y.numpy().copy())
    assert 0.02 < outs["3"].mean() < 0.8
    assert_same_spikes(np.stack(ys), outs["3"], "Norse's import of snnc's export")
