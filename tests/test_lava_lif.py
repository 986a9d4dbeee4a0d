"""LIF generality on Lava: per-neuron parameters on Lava's own LIF, the node's own step (NodeStep) for reset subtract/none.

Zoo models (lif-srnn: per-neuron alpha, reset subtract; cuba: CubaLIF + IF) go through
compile -t loihi and a real Lava run, against the NumPy runtime in float64 and, after
quantize(loihi), bit for bit against its integer mode. Sizes are shrunk to keep Lava fast.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from factories_lava import spikes
from snnc.backends.lava import target as lava_target
from snnc.compiler.ir import SPIKE, Graph
from snnc.compiler.passes.quantize import quantize
from snnc.compiler.primitives import LI, LIF, CubaLIF, Dense, Input
from snnc.runtime.lava.runner import lava_python
from snnc.runtime.numpy.runtime import NumpyRuntime


@pytest.fixture(scope="module", autouse=True)
def lava_env():
    """Fails (never skips) with the setup message when the Lava environment is missing."""
    return lava_python()


def _zoo(name: str, config: dict, boost: dict[str, float]) -> Graph:
    """A traced zoo model; `boost` scales Dense weights so the untrained model spikes enough to compare."""
    import torch  # the zoo needs torch: these tests run in the main environment

    from snnc.frontends import trace, zoo
    module, cfg = zoo.build(name, config)
    g = trace(module, torch.zeros(2, 1, cfg["sizes"][0], dtype=torch.float64))
    for n, k in boost.items():
        g.nodes[n] = g.nodes[n].replace(W=g.nodes[n].W * k)
    return g


def _paths(out) -> dict[str, str]:
    doc = json.loads((out / "network.json").read_text())
    return {n: p["kind"] for n, p in doc["procs"].items() if "impl" in p}  # the LIF-family populations


def _compile_run(g: Graph, x: np.ndarray, tmp_path):
    """compile -t loihi, check the summary names each LIF's path, run the artifact recording every node."""
    out = tmp_path / "m.lava"
    msg = lava_target.compile_artifact(g, out, {})
    for n, kind in _paths(out).items():
        label = {"lif": "Lava LIF", "step": "snnc NodeStep"}[kind]
        assert f"LIF {n}: {label}" in msg, msg
        assert f"LIF {n}:" in lava_target.inspect_artifact(out, {})
    _, act = lava_target.run_artifact(out, x, {"record": list(g.nodes), "dtype": "float64"})
    return _paths(out), act


def _float_agree(g: Graph, x: np.ndarray, tmp_path) -> tuple[dict, dict]:
    _, ract = NumpyRuntime(g, "float64", record=True).run(x)
    paths, act = _compile_run(g, x, tmp_path)
    for n, node in g.nodes.items():
        r, y = ract.traces[n]["out"], act.traces[n]["out"]
        if node.out_kind == SPIKE:
            assert np.mean(r == y) >= 0.999, f"{n}: {np.mean(r == y):.4%} of spikes agree"
        else:
            np.testing.assert_allclose(y, r, rtol=1e-9, atol=1e-9, err_msg=n)
    return paths, {n: int(ract.nonzero[n].sum()) for n in g.nodes}


def _fixed_exact(q: Graph, x: np.ndarray, tmp_path) -> tuple[dict, dict]:
    _, ract = NumpyRuntime(q, "float64", record=True).run(x)
    paths, act = _compile_run(q, x, tmp_path)
    for n in q.nodes:
        for var, r in ract.traces[n].items():
            assert np.array_equal(np.asarray(act.traces[n][var], np.int64), np.asarray(r, np.int64)), f"{n}.{var} differs"
    return paths, {n: int(ract.nonzero[n].sum()) for n in q.nodes}


def lif_srnn() -> Graph:
    return _zoo("lif-srnn", {"sizes": [24, 12, 4]}, {"layer1.fc": 25.0, "layer1.rec": 5.0})


def cuba_none() -> Graph:
    return _zoo("cuba", {"sizes": [16, 12, 10, 4], "reset": "none"}, {})


def per_neuron_zero(seed: int = 7) -> Graph:
    """Zero-reset LIF and CubaLIF with per-neuron decays and thresholds: Lava's own LIF takes them as arrays."""
    rng = np.random.default_rng(seed)
    g = Graph()
    g.add("x", Input(8, "spike"))
    g.add("fc1", Dense.of(rng.normal(0.4, 0.6, (6, 8)), rng.normal(0.05, 0.05, 6)))
    g.add("lif1", LIF(rng.uniform(0.7, 0.95, 6), rng.uniform(0.8, 1.2, 6), rng.uniform(0.6, 1.0, 6)))
    g.add("rec1", Dense.of(rng.normal(0, 0.4, (6, 6))))
    g.add("fc2", Dense.of(rng.normal(0.4, 0.6, (5, 6))))
    g.add("c2", CubaLIF(rng.uniform(0.4, 0.8, 5), rng.uniform(0.8, 0.95, 5), np.full(5, 1.0), rng.uniform(0.5, 0.9, 5)))
    g.add("fc3", Dense.of(rng.normal(0, 0.8, (3, 5))))
    g.add("out", LI(np.full(3, 0.8), np.full(3, 0.5)))
    for s, d, dl in [("x", "fc1", 0), ("fc1", "lif1", 0), ("lif1", "rec1", 1), ("rec1", "lif1", 0),
                     ("lif1", "fc2", 0), ("fc2", "c2", 0), ("c2", "fc3", 0), ("fc3", "out", 0)]:
        g.connect(s, d, delay=dl)
    g.outputs = ["out", "c2"]
    return g


def test_zoo_lif_srnn_float_on_the_step_process(tmp_path):
    g = lif_srnn()
    assert np.ptp(g.nodes["layer1.lif"].alpha) > 0 and g.nodes["layer1.lif"].reset == "subtract"
    paths, spk = _float_agree(g, spikes(30, 2, 24, rate=0.3), tmp_path)
    assert paths == {"layer1.lif": "step"}  # reset subtract: LIF's own step in snnc's NodeStep
    assert spk["layer1.lif"] > 50


def test_zoo_lif_srnn_fixed_bit_exact(tmp_path):
    q = quantize(lif_srnn(), "loihi")
    assert type(q.nodes["layer1.lif"]).__name__ == "LoihiLIF" and q.nodes["layer1.lif"].reset == "subtract"
    paths, spk = _fixed_exact(q, spikes(30, 2, 24, rate=0.3), tmp_path)
    assert paths == {"layer1.lif": "step"}  # reset subtract: LoihiLIF's integer step in NodeStep's fixed_pt model
    assert spk["layer1.lif"] > 50


def test_zoo_cuba_reset_none_float(tmp_path):
    paths, spk = _float_agree(cuba_none(), spikes(30, 2, 16, rate=0.3, seed=1), tmp_path)
    assert paths == {"layer1.cuba": "step", "layer2.if": "lif"}  # IF resets to zero: Lava's own LIF
    assert spk["layer1.cuba"] > 50 and spk["layer2.if"] > 20


def test_zoo_cuba_reset_none_fixed_bit_exact(tmp_path):
    q = quantize(cuba_none(), "loihi")
    assert np.ptp(q.nodes["layer1.cuba"].dv) > 0  # per-neuron decays reach the fixed-point NodeStep
    paths, spk = _fixed_exact(q, spikes(30, 2, 16, rate=0.3, seed=1), tmp_path)
    assert paths == {"layer1.cuba": "step", "layer2.if": "lif"}
    assert spk["layer1.cuba"] > 50 and spk["layer2.if"] > 20


def test_per_neuron_zero_reset_stays_on_lava_lif_float(tmp_path):
    paths, spk = _float_agree(per_neuron_zero(), spikes(25, 2, 8, seed=2), tmp_path)
    assert paths == {"lif1": "lif", "c2": "lif"}
    assert spk["lif1"] > 20 and spk["c2"] > 10


def test_per_neuron_zero_reset_stays_on_lava_lif_fixed(tmp_path):
    q = quantize(per_neuron_zero(), "loihi")
    assert np.ptp(q.nodes["lif1"].dv) > 0 and np.ptp(q.nodes["c2"].du) > 0
    paths, spk = _fixed_exact(q, spikes(25, 2, 8, seed=2), tmp_path)
    assert paths == {"lif1": "lif", "c2": "lif"}
    assert spk["lif1"] > 20 and spk["c2"] > 10


# -- one sample: Lava's own Dense (a batch swaps in Sparse block diagonals) ------------------

_WHICH_DENSE = """
import json, sys
from pathlib import Path
import numpy as np
from snnc.runtime.lava.worker import Built
d = Path(sys.argv[1])
doc = json.loads((d / "network.json").read_text())
with np.load(d / "weights.npz", allow_pickle=False) as z:
    arrays = dict(z)
src = {p["node"]: p["size"] for p in doc["procs"].values() if p["kind"] == "source"}
out = {}
for B in (1, 2):  # the classes the worker builds for one sample and for a batch
    b = Built(doc, arrays, {n: np.zeros((2, B, k)) for n, k in src.items()}, 2, set())
    out[B] = {n: type(p).__module__ + "." + type(p).__name__ for n, p in b.procs.items() if doc["procs"][n]["kind"] == "dense"}
print(json.dumps(out))
"""


def test_single_sample_fixed_bit_exact_on_lavas_own_dense_and_lif(tmp_path):
    import subprocess

    q = quantize(per_neuron_zero(), "loihi")
    paths, spk = _fixed_exact(q, spikes(40, 1, 8, seed=3), tmp_path)  # B = 1
    assert paths == {"lif1": "lif", "c2": "lif"}
    assert spk["lif1"] > 50 and spk["c2"] > 50
    r = subprocess.run([str(lava_python()), "-c", _WHICH_DENSE, str(tmp_path / "m.lava")], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    used = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(used["1"]) >= {"fc1", "rec1", "fc2", "fc3"}
    assert set(used["1"].values()) == {"lava.proc.dense.process.Dense"}, used["1"]
    assert set(used["2"].values()) == {"lava.proc.sparse.process.Sparse"}, used["2"]


# -- what the user is told ------------------------------------------------------------------

def test_int8_graph_on_loihi_says_use_quantize_loihi(tmp_path):
    from snnc.compiler.errors import LoweringError
    with pytest.raises(LoweringError, match=r"node 'fc1' \(Int8Dense\):.*compile with --quantize loihi"):
        lava_target.compile_artifact(quantize(per_neuron_zero(), "int8"), tmp_path / "m.lava", {})
    assert not (tmp_path / "m.lava").exists()


def test_compile_warns_about_delays_beyond_loihis_limit(tmp_path):
    import dataclasses
    g = per_neuron_zero()
    g.edges = [dataclasses.replace(e, delay=70) if (e.src, e.dst) == ("c2", "fc3") else e for e in g.edges]
    msg = lava_target.compile_artifact(g, tmp_path / "m.lava", {})
    first = msg.splitlines()[0]
    assert "warning: 1 delay process(es) exceed Loihi's 62-step limit" in first and "a Loihi chip could not" in first, msg
    long = [p["params"]["delay"] for p in json.loads((tmp_path / "m.lava" / "network.json").read_text())["procs"].values()
            if p["kind"] == "delay"]
    assert max(long) > 62 and f"{max(long)} steps" in first
    assert "warning" not in lava_target.compile_artifact(per_neuron_zero(), tmp_path / "ok.lava", {})


def test_timeout_error_names_the_cli_option():
    from snnc.runtime.lava.runner import LavaError
    with pytest.raises(LavaError, match=r"timed out after 0\.3 s.*--timeout SECONDS"):
        lava_target.run_graph(per_neuron_zero(), spikes(5, 1, 8), {"timeout": 0.3})
