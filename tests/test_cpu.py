"""The compiled backend beyond the matrix: errors, missing numba, event-driven = dense, AER = dense, threads,
streaming, the disk cache, the CLI."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, recurrent_graph, spikes
from snnc.compiler.errors import LoweringError, SnncError
from snnc.compiler.ir import Graph
from snnc.compiler.primitives import LI, Input
from snnc.compiler.serialize import save
from snnc.runtime.cpu.runtime import CpuRuntime
from snnc.runtime.numpy.runtime import NumpyRuntime


def test_unsupported_step_names_node_primitive_backend(monkeypatch):
    def step(self, ops, p, s, x):
        return ops.erf(x["in"]), {"v": s["v"]}
    monkeypatch.setattr(LI, "step", step, raising=False)
    g = Graph()
    g.add("x", Input(3, "graded"))
    g.add("out", LI(np.full(3, 0.9), np.ones(3)))
    g.connect("x", "out")
    g.outputs = ["out"]
    with pytest.raises(LoweringError, match=r"node 'out' \(LI\): cannot compile its step \(op 'erf' .*backend 'cpu'"):
        CpuRuntime(g, "float64")


def test_primitive_without_step_names_node_primitive_backend(monkeypatch):
    monkeypatch.setattr(LI, "step", None, raising=False)
    g = Graph()
    g.add("x", Input(3, "graded"))
    g.add("ro", LI(np.full(3, 0.9), np.ones(3)))
    g.connect("x", "ro")
    g.outputs = ["ro"]
    with pytest.raises(LoweringError, match=r"node 'ro' \(LI\): no step definition for backend 'cpu'"):
        CpuRuntime(g, "float64")


def test_missing_numba_is_one_line(monkeypatch):
    from snnc.runtime.cpu import kernels
    monkeypatch.setitem(sys.modules, "numba", None)
    with pytest.raises(SnncError, match=r"the cpu target needs numba .*pip install numba=="):
        kernels.require_numba()


def _graded_twin(g):
    """The same graph with its input declared graded: the Dense reads values densely instead of index lists."""
    h = g.copy()
    h.nodes["x"] = Input(h.nodes["x"].size, "graded")
    return h


def test_event_driven_dense_equals_dense_and_numpy():
    g = recurrent_graph("ALIF", sizes=(12, 9, 3))
    x = spikes(30, 3, 12, 0.3, seed=1)
    ev = CpuRuntime(g, "float64")
    y_ev, a_ev = ev.run(x)
    dense = CpuRuntime(_graded_twin(g), "float64")
    y_d, a_d = dense.run(x)
    # which path ran: fc1 (fed by the spike input), rec1 and fc2 (fed by spikes) read index lists in one graph only
    assert ev.program.meta["event_driven"] == ["fc1", "fc2", "rec1"]
    assert dense.program.meta["event_driven"] == ["fc2", "rec1"]
    np.testing.assert_array_equal(y_ev["out"], y_d["out"])  # same sums in the same order: bit for bit
    yn, an = NumpyRuntime(g, "float64").run(x)
    np.testing.assert_allclose(y_ev["out"], yn["out"], rtol=1e-12, atol=1e-12)
    for n in an.nonzero:
        np.testing.assert_array_equal(a_ev.nonzero[n], an.nonzero[n])


def test_index_lists_over_several_blocks_of_64_equal_numpy():
    """Index lists are built from 64-bit masks per block of 64 sources: sizes that are not multiples of 64, a
    source in bit 63 (the sign bit), full and empty blocks, and the activity counts taken from the same lists."""
    g = recurrent_graph("LIF", sizes=(130, 70, 3), seed=3)
    x = spikes(20, 2, 130, 0.3, seed=4)
    x[:5] = 1.0  # every source: full masks
    x[5:8] = 0.0  # none: empty masks
    x[8:11, :, 63] = x[8:11, :, 64] = x[8:11, :, 129] = 1.0
    yn, an = NumpyRuntime(g, "float64").run(x)
    for h in (g, _graded_twin(g)):  # the spike input's list, and the list of a dense input's nonzero sources
        y, a = CpuRuntime(h, "float64").run(x)
        np.testing.assert_allclose(y["out"], yn["out"], rtol=1e-12, atol=1e-12)
        assert a.nonzero["n1"][:5].sum() > 0 and an.nonzero["x"][:5].min() == 130
        for n in an.nonzero:
            np.testing.assert_array_equal(a.nonzero[n], an.nonzero[n])


def test_nan_or_inf_input_is_named_by_the_kernel_and_leaves_the_state():
    """run() and run_events() leave the NaN/inf test of dense inputs to the kernel's pass over the values: the same
    error as the NumPy check, raised after the call, with the streaming state as it was."""
    from snnc.compiler import Dense
    from snnc.compiler.errors import InputError
    g = recurrent_graph("LIF", sizes=(10, 7, 3))
    g.add("y", Input(4, "graded"))
    g.add("fy", Dense.of(np.random.default_rng(5).normal(0, 1, (7, 4))))
    g.connect("y", "fy")
    g.connect("fy", "n1")
    x = {"x": spikes(12, 2, 10, 0.3, seed=6), "y": np.random.default_rng(7).normal(0, 1, (12, 2, 4))}
    rt = CpuRuntime(g, "float64")
    assert rt.program.meta["finite"] == ["x", "y"]  # the kernel tests both (no NumPy pass over them)
    ref = [rt.step({"x": x["x"][t], "y": x["y"][t]})["out"] for t in range(3)]
    rt.reset(2)
    got = [rt.step({"x": x["x"][0], "y": x["y"][0]})["out"]]
    for name, bad in (("x", np.nan), ("y", np.inf), ("y", -np.inf)):
        z = {k: v.copy() for k, v in x.items()}
        z[name][9, 1, 2] = bad
        with pytest.raises(InputError, match=rf"input '{name}': contains NaN or inf"):
            rt.run(z)
    t, b, i = np.nonzero(x["x"])
    y = x["y"].copy()
    y[11, 0, 3] = np.nan
    with pytest.raises(InputError, match=r"input 'y': contains NaN or inf"):
        rt.run_events({"x": (t, b, i)}, T=12, B=2, x={"y": y})
    got += [rt.step({"x": x["x"][k], "y": x["y"][k]})["out"] for k in (1, 2)]  # the stream continues unharmed
    np.testing.assert_array_equal(np.stack(got), np.stack(ref))
    ok, _ = rt.run(x)
    np.testing.assert_allclose(ok["out"], NumpyRuntime(g, "float64").run(x)[0]["out"], rtol=1e-12, atol=1e-12)


def test_aer_input_equals_dense_input():
    g = recurrent_graph("LIF", sizes=(10, 7, 3))
    x = spikes(25, 4, 10, 0.2, seed=2)
    rt = CpuRuntime(g, "float64")
    y, a = rt.run(x)
    t, b, i = np.nonzero(x)
    perm = np.random.default_rng(0).permutation(t.size)  # events in any order
    y2, a2 = rt.run_events({"x": (t[perm], b[perm], i[perm])}, T=25, B=4)
    np.testing.assert_array_equal(y["out"], y2["out"])
    for n in a.nonzero:
        np.testing.assert_array_equal(a.nonzero[n], a2.nonzero[n])
    with pytest.raises(SnncError, match="events 'x': i must lie in"):
        rt.run_events({"x": (t, b, i + 10)}, T=25, B=4)


def test_threads_and_streaming_equal_one_call():
    g = recurrent_graph("CubaLIF", sizes=(8, 6, 3), delay=2)
    x = spikes(20, 5, 8, 0.3, seed=3)
    y1, a1 = CpuRuntime(g, "float64", threads=1).run(x)
    rt = CpuRuntime(g, "float64", threads=2)
    y2, a2 = rt.run(x)
    assert rt.last_threads == 2
    np.testing.assert_array_equal(y1["out"], y2["out"])
    rt.reset(5)
    ys = np.stack([rt.step(x[t])["out"] for t in range(20)])
    np.testing.assert_array_equal(ys, y1["out"])
    np.testing.assert_array_equal(rt.activity().nonzero["n1"], a1.nonzero["n1"])


_SECOND = """
import sys, numpy as np
from snnc.compiler.serialize import load
from snnc.runtime.cpu.runtime import CpuRuntime
rt = CpuRuntime(load(sys.argv[1]), "float64", cache_dir=sys.argv[2])
y, _ = rt.run(np.load(sys.argv[3]))
fn = rt.kernel(rt.program)
print(fn.stats.cache_hits and sum(fn.stats.cache_hits.values()), sum(fn.stats.cache_misses.values()), float(y['out'].sum()),
      "scipy.linalg" in sys.modules)
"""


def test_second_process_loads_the_kernel_from_disk(tmp_path):
    g = recurrent_graph("ALIF", sizes=(6, 5, 3), seed=7)
    save(g, tmp_path / "g.snn")
    x = spikes(10, 2, 6, 0.3, seed=4)
    np.save(tmp_path / "x.npy", x)
    runs = [subprocess.run([sys.executable, "-c", _SECOND, str(tmp_path / "g.snn"), str(tmp_path / "k"),
                            str(tmp_path / "x.npy")], capture_output=True, text=True, cwd=REPO, timeout=600)
            for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    first, second = (r.stdout.split() for r in runs)
    assert first[1] == "1"  # the first process compiled
    assert second[:2] == ["1", "0"]  # the second loaded machine code: one cache hit, no compile
    assert first[2] == second[2]
    assert first[3] == second[3] == "False"  # numba's BLAS probe did not import scipy.linalg (a third of the start)


def test_cli_compile_and_run_cpu_artifact(tmp_path, run_snnc):
    g = recurrent_graph("LIF", sizes=(6, 5, 3), seed=8)
    save(g, tmp_path / "m.snn")
    x = spikes(15, 2, 6, 0.3, seed=5)
    np.save(tmp_path / "x.npy", x)
    p = run_snnc("compile", "m.snn", "-t", "cpu", "-o", "m.cpu", check=True)
    msg = p.stdout + p.stderr
    assert "target cpu" in msg and "JIT compile" in msg
    assert (tmp_path / "m.cpu" / "kernels").is_dir()
    run_snnc("run", "m.cpu", "--input", "x.npy", "-o", "y.npy", check=True)
    y = np.load(tmp_path / "y.npy")
    yn, _ = NumpyRuntime(g, "float32").run(x.astype(np.float32))
    np.testing.assert_allclose(y, yn["out"], rtol=1e-5, atol=1e-5)


def test_every_state_as_an_output_on_the_trained_ecg_fixture():
    """`node.state` graph outputs (the ECG model's own readout is `readout.alif.v`) come back from the compiled
    kernel equal to the NumPy runtime, in float64 and bit for bit after quantize(loihi); none is dropped."""
    import copy

    import torch

    import snnc
    from snnc.compiler.inputkinds import resolve
    from snnc.compiler.passes.quantize import quantize
    from snnc.frontends import zoo
    from snnc.frontends.datasets import load_dataset
    model, _ = zoo.load_pretrained("ecg")
    x, _ = load_dataset("ecg", "test")
    g = copy.deepcopy(resolve(snnc.trace(model, torch.as_tensor(x[:, :1])), "graded"))
    states = [f"{n}.{s}" for n, v in g.nodes.items() for s in getattr(v, "states", ())]
    g.outputs = [*g.outputs, *(s for s in states if s not in g.outputs)]
    assert "readout.alif.v" in g.outputs and len(g.outputs) >= 4
    xs = x[:200, :3].astype(np.float64)
    q = quantize(g, "loihi", calib=load_dataset("ecg", "train")[0][:, :8].astype(np.float64))
    for graph, dtype in ((g, "float64"), (q, "float64")):
        ref, _ = NumpyRuntime(graph, dtype).run(xs)
        got, _ = CpuRuntime(graph, dtype).run(xs)
        assert sorted(got) == sorted(ref) == sorted(graph.outputs)
        for o in graph.outputs:
            assert np.array_equal(got[o], ref[o]), o


def _feed_forward(seed: int = 0, sizes: tuple[int, int, int, int] = (10, 8, 7, 3)) -> Graph:
    """Input -> Dense -> SPSN (deterministic) -> Dense -> CubaLIF -> Dense -> LI: no cycle anywhere."""
    from snnc.compiler.primitives import SPSN, CubaLIF, Dense
    rng = np.random.default_rng(seed)
    n0, n1, n2, n3 = sizes
    g = Graph(meta={"dt": 1.0})
    g.add("x", Input(n0, "spike"))
    g.add("fc1", Dense(rng.normal(0, 1, (n1, n0)), rng.normal(0, 0.1, n1)))
    g.add("spsn", SPSN(rng.uniform(0.5, 0.95, n1), rng.uniform(0.8, 0.99, n1), False))
    g.add("fc2", Dense.of(rng.normal(0, 1, (n2, n1))))
    g.add("cuba", CubaLIF(rng.uniform(0.5, 0.9, n2), rng.uniform(0.8, 0.99, n2), rng.uniform(0.1, 1, n2),
                          rng.uniform(15.0, 30.0, n2), reset="subtract"))
    g.add("fc3", Dense.of(rng.normal(0, 1, (n3, n2))))
    g.add("out", LI(rng.uniform(0.8, 0.99, n3), rng.uniform(0.1, 1, n3)))
    for a, b in (("x", "fc1"), ("fc1", "spsn"), ("spsn", "fc2"), ("fc2", "cuba"), ("cuba", "fc3"), ("fc3", "out")):
        g.connect(a, b)
    g.outputs = ["out"]
    return g


@pytest.mark.parametrize("block", [None, 16])
@pytest.mark.parametrize("case", ["feed-forward", "recurrent"])
def test_node_major_equals_stepwise(case, block, monkeypatch):
    """The node-major kernel (each stage loops over a block of steps, all 40 or 16, 16 and 8) against the
    stepwise one: the same outputs (within 1e-6: a dense product sums in another order), spikes, traces and
    activity in float64, and the states and delay rings it leaves let step() continue the same."""
    from snnc.backends.cpu import stages
    if block:
        monkeypatch.setattr(stages, "BLOCK", block)
    blk = block or 40
    if case == "feed-forward":
        g, stages = _feed_forward(), [["x", "fc1", "spsn"], ["fc2", "cuba"], ["fc3", "out"]]
    else:
        g, stages = recurrent_graph("ALIF", sizes=(9, 6, 3), seed=3, delay=2), [["x", "fc1", "rec1", "n1"],
                                                                                 ["fc2", "out"]]
    x = spikes(40, 3, g.nodes["x"].size, 0.3, seed=6)
    runs = {}
    for mode in (False, True):
        rt = CpuRuntime(g, "float64", record=list(g.nodes), threads=1)
        rt.parallel_time = mode
        y, act = rt.run(x)
        assert rt.last_path["loop"] == ("staged" if mode else "stepwise")
        more = np.stack([rt.step(x[t])["out"] for t in range(5)])  # continues from the state run() left
        runs[mode] = (y, act, more)
    assert rt.last_path["stages"] == stages
    # each Dense reading an earlier stage took one BLAS product over a block where its input was over 1/4
    # nonzero in that sample and block (counted here from the recorded activity), else the event-driven sums;
    # the one reading the graph input took the event-driven sums
    sources = {"fc2": "spsn", "fc3": "cuba"} if case == "feed-forward" else {"fc2": "n1"}
    want = {"fc1": "events"}
    for dense, src in sources.items():
        nz = runs[True][1].nonzero[src]
        per = np.array([nz[s:s + blk].sum(axis=0) * 4 > len(nz[s:s + blk]) * g.nodes[src].size
                        for s in range(0, 40, blk)])
        want[dense] = "dense" if per.all() else "events" if not per.any() else "mixed"
    assert rt.last_path["products"] == want
    if case == "feed-forward":
        assert set(want.values()) == {"dense", "events"}  # both kinds ran
    (y0, a0, m0), (y1, a1, m1) = runs[False], runs[True]
    np.testing.assert_allclose(y1["out"], y0["out"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(m1, m0, rtol=0, atol=1e-6)
    for n in a0.nonzero:
        np.testing.assert_array_equal(a1.nonzero[n], a0.nonzero[n], err_msg=n)  # spikes of every node
        for var, v in a0.traces[n].items():
            np.testing.assert_allclose(a1.traces[n][var], v, rtol=0, atol=1e-6, err_msg=f"{n}.{var}")
    np.testing.assert_array_equal(a1.steps, a0.steps)
    # against the NumPy reference too, and with spike-index input
    yn, _ = NumpyRuntime(g, "float64").run(x)
    np.testing.assert_allclose(y1["out"], yn["out"], rtol=1e-12, atol=1e-12)
    t, b, i = np.nonzero(x)
    ya, _ = rt.run_events({"x": (t, b, i)}, T=40, B=3)
    assert rt.last_path["loop"] == "staged" and rt.last_path["products"] == want
    np.testing.assert_array_equal(ya["out"], y1["out"])


@pytest.mark.parametrize("table", [True, False])
def test_node_major_spike_table_over_several_and_partial_chunks(table, monkeypatch):
    """A dense product over spikes sums table rows (each CHUNK inputs' weight-row sums, stages._table) or, with
    the table off, one BLAS product: layers of 70 and 13 inputs (two 64-input masks, nine chunks of which the
    last is partial, so both the four-chunk and the one-chunk sums run; one chunk and a part) give
    the NumPy reference's spikes exactly and its outputs within 1e-9 in float64, and the same again through
    step() from the states the run left."""
    from snnc.backends.cpu import stages
    if not table:
        monkeypatch.setattr(stages, "TABLE", 0)
    g = _feed_forward(seed=2, sizes=(30, 70, 13, 4))
    x = spikes(60, 2, 30, 0.4, seed=1)
    rt = CpuRuntime(g, "float64", record=list(g.nodes), threads=1)
    y, act = rt.run(x)
    assert rt.last_path["loop"] == "staged" and rt.last_path["products"]["fc2"] in ("dense", "mixed")
    prog = rt._programs[("staged", frozenset())]
    assert ("TB" in prog.source) is table  # the table buffers (TB<value id>) are in the kernel, or BLAS is
    ref = NumpyRuntime(g, "float64", record=list(g.nodes))
    yn, an = ref.run(x)
    for n in ("spsn", "cuba"):
        assert an.nonzero[n].sum() > 0
        np.testing.assert_array_equal(act.nonzero[n], an.nonzero[n], err_msg=n)
    np.testing.assert_allclose(y["out"], yn["out"], rtol=1e-9, atol=1e-9)
    xm = spikes(5, 2, 30, 0.4, seed=9)
    for t in range(5):
        np.testing.assert_allclose(rt.step(xm[t])["out"], ref.step(xm[t])["out"], rtol=1e-9, atol=1e-9)


def test_node_major_nan_or_inf_input_is_found_by_the_kernel():
    """Node-major: the event-driven product over a dense graph input tests its values for NaN and inf while it
    lists the nonzero ones (no NumPy pass over the input); the same error, and the state left as it was."""
    from snnc.compiler.errors import InputError
    g = _feed_forward(2)
    x = spikes(40, 3, 10, 0.3, seed=9)
    rt = CpuRuntime(g, "float64", threads=1)
    ref, _ = rt.run(x)
    assert rt.last_path["loop"] == "staged" and rt.last_path["products"]["fc1"] == "events"
    prog = rt._whole(frozenset())
    assert prog.meta["finite"] == ["x"] and "nf0 |=" in prog.source
    rt.reset(3)
    first = rt.step(x[0])["out"]
    for bad in (np.nan, np.inf, -np.inf):
        z = x.copy()
        z[31, 2, 4] = bad
        with pytest.raises(InputError, match=r"input 'x': contains NaN or inf"):
            rt.run(z)
    assert rt.t == 1  # the stream continues from its one step
    np.testing.assert_allclose(np.stack([first] + [rt.step(x[t])["out"] for t in (1, 2)]), ref["out"][:3], rtol=0,
                               atol=1e-12)


def _sparse_feed_forward() -> Graph:
    """Input(48) -> Dense -> CubaLIF(40) -> Dense -> CubaLIF(30) -> Dense -> LI(5), thresholds high enough that
    under 1/4 of the neurons fire per step."""
    from snnc.compiler.primitives import CubaLIF, Dense
    rng = np.random.default_rng(0)
    g = Graph(meta={"dt": 1.0})
    g.add("x", Input(48, "spike"))
    sizes, prev = (48, 40, 30, 5), "x"
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        g.add(f"fc{k}", Dense(rng.normal(0, 1, (b, a)), rng.normal(0, 0.1, b)))
        g.add(f"n{k}", CubaLIF(rng.uniform(0.5, 0.9, b), rng.uniform(0.8, 0.99, b), rng.uniform(0.5, 1, b),
                               rng.uniform(5.0, 10.0, b), reset="subtract") if k < 2 else
              LI(rng.uniform(0.8, 0.99, b), rng.uniform(0.1, 1, b)))
        g.connect(prev, f"fc{k}")
        g.connect(f"fc{k}", f"n{k}")
        prev = f"n{k}"
    g.outputs = [prev]
    return g


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_node_major_event_products_equal_the_step_loop(dtype):
    """Every whole-sequence product event-driven (a quarter of the inputs, fewer spikes): node-major adds the
    same weight rows in the same order as the step loop (8, 4 and 1 rows per pass over the output), so the
    outputs and spikes are the same bit for bit, in float64 and float32."""
    g = _sparse_feed_forward()
    x = spikes(60, 3, 48, 0.25, seed=1)
    runs = {}
    for mode in (False, True):
        rt = CpuRuntime(g, dtype, record=list(g.nodes), threads=1)
        rt.parallel_time = mode
        runs[mode] = rt.run(x)
    assert rt.last_path["loop"] == "staged"
    assert rt.last_path["products"] == {"fc0": "events", "fc1": "events", "fc2": "events"}
    (y0, a0), (y1, a1) = runs[False], runs[True]
    assert a1.nonzero["x"].max() >= 12  # steps with 8 + 4 rows
    np.testing.assert_array_equal(y1["n2"], y0["n2"])
    t, b, i = np.nonzero(x)
    ya, _ = rt.run_events({"x": (t, b, i)}, T=60, B=3)  # fc0 reads the index lists as given
    assert rt.last_path["loop"] == "staged" and rt.last_path["products"]["fc0"] == "events"
    np.testing.assert_array_equal(ya["n2"], y0["n2"])
    for n in a0.nonzero:
        np.testing.assert_array_equal(a1.nonzero[n], a0.nonzero[n], err_msg=n)
        for var, v in a0.traces[n].items():
            np.testing.assert_array_equal(a1.traces[n][var], v, err_msg=f"{n}.{var}")


def test_node_major_path_choice(monkeypatch):
    """By default a graph without cycles runs node-major and a recurrent one (a delayed edge back) stepwise unless
    its dense inputs exceed STREAMED bytes, each equal to the NumPy reference; False keeps the stepwise loop; a
    graph without a stage cut runs stepwise even when asked."""
    from snnc.runtime.cpu import runtime
    g = _feed_forward(1)
    x = spikes(40, 2, 10, 0.3, seed=7)
    rt = CpuRuntime(g, "float64")
    y, _ = rt.run(x)
    assert rt.last_path["loop"] == "staged" and rt.last_path["stages"] == [["x", "fc1", "spsn"], ["fc2", "cuba"],
                                                                           ["fc3", "out"]]
    np.testing.assert_allclose(y["out"], NumpyRuntime(g, "float64").run(x)[0]["out"], rtol=1e-12, atol=1e-12)
    rt.parallel_time = False
    rt.run(x)
    assert rt.last_path == {"loop": "stepwise", "stages": [list(g.schedule())]}
    rec = recurrent_graph("ALIF", sizes=(9, 6, 3), seed=3, delay=2)
    xr = spikes(40, 2, rec.nodes["x"].size, 0.3, seed=8)
    rt = CpuRuntime(rec, "float64")
    y, _ = rt.run(xr)
    assert rt.last_path["loop"] == "stepwise"
    yn = NumpyRuntime(rec, "float64").run(xr)[0]["out"]
    np.testing.assert_array_equal(y["out"], yn)
    monkeypatch.setattr(runtime, "STREAMED", xr.nbytes - 1)  # an input that streams from memory: node-major
    y, _ = rt.run(xr)
    assert rt.last_path["loop"] == "staged"
    np.testing.assert_array_equal(y["out"], yn)
    t, b, i = np.nonzero(xr)
    rt.run_events({"x": (t, b, i)}, T=40, B=2)  # index lists: no dense input streams
    assert rt.last_path["loop"] == "stepwise"
    rt.parallel_time = False
    rt.run(xr)
    assert rt.last_path["loop"] == "stepwise"
    monkeypatch.setattr(runtime, "STREAMED", 16 << 20)
    rt.parallel_time = True  # it has stage cuts: node-major when asked
    rt.run(xr)
    assert rt.last_path["loop"] == "staged"
    single = Graph()
    single.add("x", Input(3, "graded"))
    single.add("out", LI(np.full(3, 0.9), np.ones(3)))
    single.connect("x", "out")
    single.outputs = ["out"]
    rt = CpuRuntime(single, "float64")
    rt.parallel_time = True
    rt.run(np.ones((40, 1, 3)))
    assert rt.last_path["loop"] == "stepwise"
