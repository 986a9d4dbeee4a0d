"""Convolutional NIR graphs: a spiking CNN built in snnTorch, exported to NIR, compiled by snnc and compared spike
for spike with snnTorch's forward pass on numpy and onnx; the conv and pool primitives against PyTorch's own ops."""
from __future__ import annotations

import nir
import numpy as np
import pytest
import snntorch as snn
import torch
from snntorch.export_nir import export_to_nir

from nir_frameworks import assert_same_spikes, run_on, spikes
from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives import Input
from snnc.compiler.primitives.conv import AvgPool2d, Conv1d, Conv2d, SumPool2d
from snnc.frontends.nir_io import from_nir

f64 = torch.float64


def _heaviside(x: torch.Tensor) -> torch.Tensor:
    return (x > 0).to(x.dtype)  # snnTorch's forward spike in float64 (its surrogates return float32)


def _leaky(shape: tuple, seed: int, thr: float) -> snn.Leaky:
    g = torch.Generator().manual_seed(seed)
    beta = 0.8 + 0.15 * torch.rand(shape, generator=g, dtype=f64)
    return snn.Leaky(beta=beta, threshold=torch.full(shape, thr, dtype=f64), init_hidden=True, spike_grad=_heaviside)


def _cnn() -> torch.nn.Sequential:
    """conv(1->4, pad 1) -> LIF -> avg pool 2 -> conv(4->6, stride 1) -> LIF -> flatten -> linear -> LIF."""
    torch.manual_seed(4)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), _leaky((4, 8, 8), 1, 0.5), torch.nn.AvgPool2d(2),
                              torch.nn.Conv2d(4, 6, 3), _leaky((6, 2, 2), 2, 0.3), torch.nn.Flatten(),
                              torch.nn.Linear(24, 5), _leaky((5,), 3, 0.3)).double()
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        net[3].weight.mul_(3.0)
        net[6].weight.mul_(3.0)
    return net


def _snntorch_run(net: torch.nn.Sequential, x: np.ndarray) -> list[np.ndarray]:
    """snnTorch's forward pass over time, the flattened spikes of every Leaky layer [T, B, n]."""
    for m in net:
        if isinstance(m, snn.Leaky):
            m.mem = torch.zeros(0, dtype=f64)
    rec: list[list[np.ndarray]] = [[], [], []]
    with torch.no_grad():
        for t in range(x.shape[0]):
            h, k = torch.from_numpy(x[t]).reshape(-1, 1, 8, 8), 0
            for m in net:
                h = m(h)
                if isinstance(m, snn.Leaky):
                    rec[k].append(h.reshape(h.shape[0], -1).numpy().copy())
                    k += 1
    return [np.stack(r) for r in rec]


def test_snntorch_spiking_cnn_compiles_spike_for_spike():
    net = _cnn()
    ng = export_to_nir(net, torch.zeros(1, 1, 8, 8, dtype=f64), ignore_dims=[0])
    g = from_nir(ng, convention="snntorch")  # its default subtract reset
    kinds = {k: type(v).__name__ for k, v in g.nodes.items()}
    assert kinds["0"] == "Conv2d" and kinds["2"] == "AvgPool2d" and kinds["3"] == "Conv2d" and "5" not in kinds, kinds
    x = spikes(30, 3, 64, rate=0.3, seed=9)
    want = _snntorch_run(net, x)
    for w in want:
        assert 0.02 < w.mean() < 0.8, f"spike rate {w.mean():.3f}"
    for target in ("numpy", "onnx"):
        _, got = run_on(target, g, x, ["1", "4", "7"])
        for w, n in zip(want, ["1", "4", "7"]):
            assert_same_spikes(got[n], w, f"cnn {n} on {target}")


@pytest.mark.parametrize("target", ["numpy", "onnx", "onnx-float32"])
def test_conv_and_pool_primitives_match_pytorch(target):
    """float64 ONNX runs conv/pool as one unrolled MatMul (onnxruntime has no float64 Conv); float32 its Conv."""
    rng = np.random.default_rng(2)
    cases = [
        (Conv2d(rng.normal(size=(6, 2, 3, 2)), rng.normal(size=6), np.array([9, 8]), np.array([2, 1]), np.array([0, 1]),
                np.array([1, 2]), 2), (4, 9, 8),
         lambda t, p: torch.nn.functional.conv2d(t, torch.from_numpy(p.W), torch.from_numpy(p.b), (2, 1), (0, 1), (1, 2), 2)),
        (Conv1d(rng.normal(size=(3, 2, 3)), rng.normal(size=3), np.array([11]), np.array([2]), np.array([1]),
                np.array([2]), 1), (2, 11),
         lambda t, p: torch.nn.functional.conv1d(t, torch.from_numpy(p.W), torch.from_numpy(p.b), 2, 1, 2)),
        (AvgPool2d(np.array([3, 7, 6]), np.array([3, 2]), np.array([2, 2]), np.array([1, 0])), (3, 7, 6),
         lambda t, p: torch.nn.functional.avg_pool2d(t, (3, 2), (2, 2), (1, 0), count_include_pad=True)),
        (SumPool2d(np.array([3, 6, 6]), np.array([2, 2]), np.array([2, 2]), np.array([0, 0])), (3, 6, 6),
         lambda t, p: torch.nn.functional.avg_pool2d(t, 2, 2) * 4),
    ]
    for prim, shape, ref in cases:
        g = Graph(meta={"dt": 1.0})
        g.add("x", Input(int(np.prod(shape))))
        g.add("c", prim)
        g.connect("x", "c")
        g.outputs = ["c"]
        x = rng.normal(size=(3, 2, int(np.prod(shape))))
        if target == "onnx-float32":
            from snnc.backends.onnx.lower import lower
            from snnc.runtime.onnx.runtime import OnnxRuntime
            model = lower(g, dtype="float32")
            body = [m for n in model.graph.node for a in n.attribute if a.name == "body" for m in a.g.node]
            assert {m.op_type for m in [*model.graph.node, *body]} & {"Conv", "AveragePool"}, "native ops in float32"
            outs = OnnxRuntime(model).run(x.astype(np.float32))[0]
        else:
            outs, _ = run_on(target, g, x, [])
        tol = 1e-5 if target == "onnx-float32" else 1e-12
        want = ref(torch.from_numpy(x.reshape(6, *shape)), prim).numpy().reshape(3, 2, -1)
        assert outs["c"].shape == want.shape and prim.size == want.shape[-1], type(prim).__name__
        np.testing.assert_allclose(outs["c"], want, rtol=tol, atol=tol, err_msg=f"{type(prim).__name__} on {target}")


def test_conv_nodes_without_shapes_and_bad_padding_are_named():
    conv = nir.Conv2d(None, np.ones((2, 1, 3, 3)), 1, 1, 1, 1, np.zeros(2))
    ng = nir.NIRGraph({"x": nir.Input(np.array([20])), "c": conv, "y": nir.Output(np.array([8]))},
                      [("x", "c"), ("c", "y")], type_check=False)
    with pytest.raises(SnncError, match="'c' \\(Conv2d\\): input shape"):
        from_nir(ng, dt=1.0)
    ng.nodes["x"] = nir.Input(np.array([1, 4, 5]))
    assert from_nir(ng, dt=1.0).nodes["c"].size == 2 * 4 * 5
    ng.nodes["c"] = nir.Conv2d(None, np.ones((2, 1, 2, 2)), 1, "same", 1, 1, np.zeros(2))
    with pytest.raises(SnncError, match="'c'.*same"):
        from_nir(ng, dt=1.0)


def test_lava_says_conv_is_not_mapped():
    g = Graph(meta={"dt": 1.0})
    g.add("x", Input(2 * 4 * 5))
    g.add("c", Conv2d(np.ones((2, 2, 3, 3)), np.zeros(2), np.array([4, 5]), np.ones(2, int), np.zeros(2, int),
                      np.ones(2, int), 1))
    g.connect("x", "c")
    g.outputs = ["c"]
    from snnc.backends.lava.lower import lower
    with pytest.raises(SnncError, match="'c' \\(Conv2d\\)"):
        lower(g)


def test_cli_compiles_the_snntorch_cnn_to_numpy_and_onnx(run_snnc, tmp_path):
    """Issue 13's "done when": the snnTorch CNN's .nir file, `snnc compile -t numpy/onnx` then `snnc run`, equals
    snnTorch's output spikes; without a dt the file is refused in one line."""
    net = _cnn()
    nir.write(tmp_path / "cnn.nir", export_to_nir(net, torch.zeros(1, 1, 8, 8, dtype=f64), ignore_dims=[0]))
    x = spikes(25, 2, 64, rate=0.3, seed=11)
    np.save(tmp_path / "x.npy", x)
    want = _snntorch_run(net, x)[-1]
    assert 0.02 < want.mean() < 0.8
    p = run_snnc("compile", "cnn.nir", "-t", "numpy", "-o", "m.snn")
    assert p.returncode == 1 and "give --dt" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
    for target, art in (("numpy", "m.snn"), ("onnx", "m.onnx")):
        run_snnc("compile", "cnn.nir", "-t", target, "-o", art, "--dt", "1e-4", "--nir-reset", "snntorch", check=True)
        run_snnc("run", art, "--input", "x.npy", "--dtype", "float64", "-o", f"{art}.y.npy", check=True)
        assert_same_spikes(np.load(tmp_path / f"{art}.y.npy"), want, f"snnc compile -t {target} of the snnTorch CNN")
