"""Robust .nir loading and writing: every malformed file is one line naming the file and the node or edge at fault,
HDF5 links out of the file are refused, writes are atomic, and the CLI needs a dt and lists any NIR graph."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import h5py
import nir
import numpy as np
import pytest

from snnc.compiler.errors import SnncError
from snnc.frontends.nir_file import read_nir_graph, write_nir_graph
from snnc.frontends.nir_io import read_nir


def _graph(**over) -> nir.NIRGraph:
    """input(3) -> fc -> lif(2) -> output, with any node replaced by keyword."""
    nodes = {"input": nir.Input(np.array([3])), "fc": nir.Affine(np.full((2, 3), 0.5), np.zeros(2)),
             "lif": nir.LIF(np.array([0.02, 0.04]), np.ones(2), np.zeros(2), np.array([0.5, 0.5])),
             "output": nir.Output(np.array([2]))}
    nodes.update(over)
    return nir.NIRGraph(nodes, [("input", "fc"), ("fc", "lif"), ("lif", "output")], type_check=False)


def _write(tmp_path, ng, edit=None) -> str:
    p = tmp_path / "m.nir"
    nir.write(p, ng)
    if edit:
        with h5py.File(p, "r+") as f:
            edit(f["node"])
    return p


def _error(p, **kw) -> str:
    with pytest.raises(SnncError) as e:
        read_nir(p, **{"dt": 1e-3, **kw})
    msg = str(e.value)
    assert "\n" not in msg and "m.nir" in msg and "Traceback" not in msg, msg
    return msg


def _put(key, data):
    """An edit that replaces dataset `key` of the top graph group."""
    def edit(g):
        if key in g:
            del g[key]
        g[key] = data
    return edit


@pytest.mark.parametrize("case, edit, words", [
    ("dangling edge", _put("edges", np.array([[b"input", b"fc"], [b"fc", b"ghost"]])),
     ["fc -> ghost", "no node 'ghost'"]),
    ("unknown type", _put("nodes/lif/type", "Foo"), ["'lif'", "unknown node type 'Foo'"]),
    ("missing field", lambda g: g["nodes/lif"].__delitem__("tau"), ["'lif' (LIF)", "missing field 'tau'"]),
    ("no type", lambda g: g["nodes/lif"].__delitem__("type"), ["'lif'", "no 'type'"]),
    ("inconsistent parameters", _put("nodes/lif/r", np.ones(3)),
     ["'lif' (LIF)", "same shape"]),
    ("NaN weight", lambda g: g["nodes/fc/weight"].__setitem__((0, 0), np.nan), ["'fc' (Affine)", "'weight'", "non-finite"]),
    ("inf bias", lambda g: g["nodes/fc/bias"].__setitem__(0, np.inf), ["'fc' (Affine)", "'bias'", "non-finite"]),
    ("string where a number goes", _put("nodes/lif/tau", np.array([b"a", b"b"])),
     ["'lif' (LIF)", "'tau'", "not numeric"]),
    ("one string where a number goes", _put("nodes/lif/tau", "fast"), ["'lif' (LIF)", "'tau'", "a string"]),
    ("complex numbers", _put("nodes/fc/bias", np.array([1j, 2j])), ["'fc' (Affine)", "'bias'", "not numeric"]),
    ("numeric type", _put("nodes/lif/type", 3.0), ["'lif'", "'type' is not a string"]),
    ("unknown field", _put("nodes/lif/colour", np.ones(2)), ["'lif' (LIF)", "unknown field 'colour'"]),
    ("metadata as a dataset", _put("nodes/fc/metadata", 1.0), ["'fc' (Affine)", "'metadata' is not a group"]),
    ("nodes as a dataset", _put("nodes", np.ones(3)), ["'nodes' is not a group"]),
    ("numeric edges", _put("edges", np.arange(6).reshape(3, 2)), ["edges of shape (3, 2)", "not pairs of node names"]),
    ("a field as a group", lambda g: (g["nodes/lif"].__delitem__("r"), g["nodes/lif"].create_group("r")),
     ["'lif' (LIF)", "'r' is a group"]),
    ("a node as a dataset", _put("nodes/fc", np.ones(2)), ["'fc' is a dataset"]),
    ("declared 8 TB", lambda g: (g["nodes/fc"].__delitem__("weight"),
                                 g["nodes/fc"].create_dataset("weight", shape=(10**6, 10**6), dtype="f8", chunks=(1, 512))),
     ["/node/nodes/fc/weight", "above the limit", "array_bytes"]),
    ("Input kind metadata as numbers", lambda g: g["nodes/input"].create_group("metadata/snnc").create_dataset(
        "kind", data=np.zeros(0)), None),
])
def test_malformed_files_name_the_node_or_edge(tmp_path, case, edit, words):
    if words is None:  # malformed metadata is ignored, the fields alone define the model
        assert read_nir(_write(tmp_path, _graph(), edit), dt=1e-3).nodes["input"].kind == "graded"
        return
    msg = _error(_write(tmp_path, _graph(), edit))
    assert all(w in msg for w in words), f"{case}: {msg}"


def test_a_flipped_string_length_is_refused_before_h5py_allocates_it(tmp_path):
    """A vlen string's heap id starts with its length: 0x7fffffff there made h5py allocate 2 GB before failing."""
    p = _write(tmp_path, _graph())
    with h5py.File(p, "r") as f:
        off = f["node/nodes/lif/type"].id.get_offset()
    b = bytearray(p.read_bytes())
    b[off:off + 4] = (0x7FFFFFFF).to_bytes(4, "little")
    p.write_bytes(bytes(b))
    msg = _error(p)
    assert "/node/nodes/lif/type" in msg and "length of its strings" in msg and "above the limit" in msg, msg


def test_shape_mismatch_between_nodes_names_the_edge(tmp_path):
    msg = _error(_write(tmp_path, _graph(fc=nir.Affine(np.ones((4, 3)), np.zeros(4)))))
    assert "fc -> lif" in msg and "(4,)" in msg and "(2,)" in msg, msg


def test_time_constants_at_or_below_dt_name_the_node(tmp_path):
    p = _write(tmp_path, _graph())
    assert "'lif'" in _error(p, dt=0.03) and "dt" in _error(p, dt=0.03)  # tau 0.02 <= dt under Euler
    read_nir(p, dt=0.03, discretization="exact")  # exp(-dt/tau) is a valid decay for any dt
    bad = _write(tmp_path, _graph(lif=nir.LIF(np.array([0.02, -1.0]), np.ones(2), np.zeros(2), np.ones(2))))
    assert "'lif'" in _error(bad) and "not positive" in _error(bad)
    with pytest.raises(SnncError, match="no time step.*--dt"):
        read_nir(p)


def test_nested_graph_without_input_output_is_named(tmp_path):
    sub = nir.NIRGraph({"lif": _graph().nodes["lif"]}, [], type_check=False)
    ng = nir.NIRGraph({"input": nir.Input(np.array([3])), "fc": _graph().nodes["fc"], "s": sub,
                       "output": nir.Output(np.array([2]))}, [("input", "fc"), ("fc", "s"), ("s", "output")], type_check=False)
    msg = _error(_write(tmp_path, ng))
    assert "subgraph 's'" in msg and "Input" in msg, msg


def test_batch_leading_input_shape_is_features(tmp_path):
    g = read_nir(_write(tmp_path, _graph(input=nir.Input(np.array([1, 3])))), dt=1e-3)
    assert g.nodes["input"].size == 3
    msg = _error(_write(tmp_path, _graph(input=nir.Input(np.array([2, 3])))))
    assert "input -> fc" in msg and "(6,)" in msg, msg  # a real second axis is not silently dropped


def test_hdf5_links_out_of_the_file_are_refused(tmp_path):
    secret = tmp_path / "other.h5"
    with h5py.File(secret, "w") as f:
        f["w"] = np.ones((2, 3))

    def link(g):
        del g["nodes/fc/weight"]
        g["nodes/fc/weight"] = h5py.ExternalLink(str(secret), "/w")
    msg = _error(_write(tmp_path, _graph(), link))
    assert "external HDF5 link" in msg and "fc" in msg, msg

    def external(g):
        del g["nodes/fc/weight"]
        g["nodes/fc"].create_dataset("weight", (2, 3), "f8", external=[(str(secret), 0, 48)])
    msg = _error(_write(tmp_path, _graph(), external))
    assert "external or virtual" in msg, msg


def test_write_is_atomic_and_a_full_disk_is_one_line(tmp_path):
    out = tmp_path / "m.nir"
    write_nir_graph(_graph(), out)
    assert read_nir_graph(out).nodes["lif"].tau.tolist() == [0.02, 0.04]
    before = out.read_bytes()
    code = ("import sys; from snnc.frontends.nir_file import write_nir_graph; sys.path.insert(0, 'tests');"
            "from test_nir_loading import _graph; import numpy as np, nir;"
            "g = _graph(fc=nir.Affine(np.random.default_rng(0).random((2, 3000)), np.zeros(2)),"
            " input=nir.Input(np.array([3000])));"
            "from snnc.compiler.errors import SnncError\n"
            "try: write_nir_graph(g, sys.argv[1])\nexcept SnncError as e: print(e, file=sys.stderr); sys.exit(1)")

    def small_disk():  # a file-size limit makes the write fail as a full disk does (EFBIG instead of a signal)
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    p = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, preexec_fn=small_disk,
                       cwd=os.path.dirname(os.path.dirname(__file__)), timeout=300)
    assert p.returncode == 1 and p.stderr.startswith("cannot write") and len(p.stderr.splitlines()) == 1, p.stderr
    assert out.read_bytes() == before and sorted(x.name for x in tmp_path.iterdir()) == ["m.nir"]


def test_cli_needs_dt_and_inspect_lists_uncompilable_nodes(run_snnc, tmp_path):
    ng = _graph()
    ng.nodes["th"] = nir.Threshold(np.ones(2))  # a Threshold after an Affine: NIR, but nothing snnc compiles
    ng.nodes["fc2"] = nir.Affine(np.ones((2, 2)), np.zeros(2))
    ng.edges += [("fc", "fc2"), ("fc2", "th")]
    nir.write(tmp_path / "m.nir", ng)
    np.save(tmp_path / "x.npy", np.zeros((5, 1, 3), np.float32))
    p = run_snnc("run", "m.nir", "--input", "x.npy")
    assert p.returncode == 1 and "give --dt" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
    p = run_snnc("inspect", "m.nir", "--dt", "1e-3")
    assert p.returncode == 0, p.stderr
    line = next(ln for ln in p.stdout.splitlines() if ln.split()[:1] == ["th"])
    assert "Threshold" in line and "cannot compile" in line and "snnc cannot compile this graph" in p.stdout, p.stdout
    assert next(ln for ln in p.stdout.splitlines() if ln.split()[:1] == ["lif"]).count("cannot") == 0
    p = run_snnc("run", "m.nir", "--input", "x.npy", "--dtyp", "float64", "--dt", "1e-3")  # no abbreviations
    assert p.returncode == 2 and "--dtyp" in p.stderr, p.stderr


def test_zero_conv_stride_and_huge_input_shapes_are_named(tmp_path):
    conv = nir.Conv2d(np.array([5, 5]), np.ones((2, 1, 3, 3)), 1, 0, 1, 1, np.zeros(2))
    ng = nir.NIRGraph({"x": nir.Input(np.array([1, 5, 5])), "c": conv, "y": nir.Output(np.array([18]))},
                      [("x", "c"), ("c", "y")], type_check=False)
    msg = _error(_write(tmp_path, ng, _put("nodes/c/stride", np.array([0, 1]))))
    assert "'c' (Conv2d)" in msg and "'stride' must be >= 1" in msg, msg  # nir itself divides by it (an inf shape)
    msg = _error(_write(tmp_path, _graph(input=nir.Input(np.array([2**20, 2**20])))))
    assert "'input' (Input)" in msg and "above the limit" in msg, msg
