"""IR: primitives, verify() error messages, .snn round trips and corrupt files, printer and DOT."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest

from conftest import recurrent_graph
from snnc.compiler import (ALIF, LIF, Dense, FileFormatError, Graph, GraphError, Input, PRIMITIVES, PrimitiveError,
                           format_graph, load, save, to_dot, verify)
from snnc.compiler.serialize import from_bytes, to_bytes


def assert_same(g1: Graph, g2: Graph) -> None:
    assert list(g1.nodes) == list(g2.nodes)
    for n in g1.nodes:
        a, b = g1.nodes[n], g2.nodes[n]
        assert type(a) is type(b)
        for k, v in a.params().items():
            w = b.params()[k]
            if isinstance(v, np.ndarray):
                assert v.dtype == w.dtype and v.shape == w.shape and np.array_equal(v, w), (n, k)
            else:
                assert v == w and type(v) is type(w), (n, k)
    assert g1.edges == g2.edges and g1.inputs == g2.inputs and g1.outputs == g2.outputs and g1.meta == g2.meta


@pytest.mark.parametrize("kind", ["LIF", "CubaLIF", "ALIF"])
def test_round_trip_is_exact(tmp_path, kind):
    g = recurrent_graph(kind, seed=3)
    g.meta["note"] = {"nested": [1, 2.5, "x"]}
    save(g, tmp_path / "g.snn")
    assert_same(g, load(tmp_path / "g.snn"))


def test_unknown_dt_round_trips(tmp_path):
    """A traced model without one dt (an LSTM) stores meta.dt = null, and reading it back must accept that."""
    g = recurrent_graph("LIF", seed=1)
    g.meta["dt"] = None
    save(g, tmp_path / "g.snn")
    assert load(tmp_path / "g.snn").meta["dt"] is None


def test_round_trip_keeps_integer_dtypes():
    g = Graph()
    g.add("x", Input(3))
    g.add("d", Dense(np.arange(6, dtype=np.int16).reshape(2, 3), np.array([1, -2], dtype=np.int32)))
    g.connect("x", "d")
    g.outputs = ["d"]
    g2 = from_bytes(to_bytes(g))
    assert g2.nodes["d"].W.dtype == np.int16 and g2.nodes["d"].b.dtype == np.int32
    assert_same(g, g2)


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_every_registered_primitive_round_trips(name):
    """Generic serialization: every registered primitive, built from its example(), survives a round trip."""
    node = PRIMITIVES[name].example(5, np.random.default_rng(1))
    assert type(node).__name__ == name and node.size == 5
    g = Graph()
    g.add("n", node)
    assert_same(g, from_bytes(to_bytes(g)))


def test_load_missing_truncated_corrupt_newer(tmp_path, graph):
    with pytest.raises(FileFormatError, match="no such file"):
        load(tmp_path / "nope.snn")
    data = to_bytes(graph)
    (tmp_path / "trunc.snn").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="truncated or corrupt"):
        load(tmp_path / "trunc.snn")
    (tmp_path / "junk.snn").write_bytes(b"hello, not a zip")
    with pytest.raises(FileFormatError, match="not a valid .snn"):
        load(tmp_path / "junk.snn")
    # a newer format version
    import io
    import json
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buf, "w") as zout:
        for item in zin.namelist():
            content = zin.read(item)
            if item == "graph.json":
                doc = json.loads(content)
                doc["version"] = 99
                content = json.dumps(doc).encode()
            zout.writestr(item, content)
    (tmp_path / "new.snn").write_bytes(buf.getvalue())
    with pytest.raises(FileFormatError, match="newer snnc"):
        load(tmp_path / "new.snn")


def test_save_is_atomic(tmp_path, graph, monkeypatch):
    target = tmp_path / "g.snn"
    import snnc.compiler.serialize as ser
    monkeypatch.setattr(ser, "to_bytes", lambda g: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        save(graph, target)
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


# -- verify --------------------------------------------------------------------------

def _broken(mutate) -> Graph:
    g = recurrent_graph()
    mutate(g)
    return g


@pytest.mark.parametrize("mutate, message", [
    (lambda g: g.connect("fc2", "n1"), r"edge fc2 -> n1.in: shape \(3,\) != \(5,\)"),
    (lambda g: g.connect("ghost", "n1"), r"unknown node 'ghost'"),
    (lambda g: g.outputs.append("nowhere"), r"graph output 'nowhere' is an unknown node"),
    (lambda g: g.connect("n1", "fc2", port="bias"), r"has no port 'bias'"),
    (lambda g: setattr(g, "edges", [e for e in g.edges if e.dst != "out"]), r"node 'out' \(LI\): port 'in' has no incoming edge"),
    (lambda g: setattr(g, "edges", [e if e.delay == 0 else type(e)(e.src, e.dst, e.port, 0) for e in g.edges]),
     r"zero-delay cycle \(algebraic loop\): .*n1.*rec1"),
    (lambda g: g.nodes.__setitem__("fc1", Dense(np.full((5, 6), np.nan), np.zeros(5))), r"node 'fc1' \(Dense\): parameter 'W' has NaN"),
    (lambda g: g.nodes.__setitem__("fc2", Dense(np.full((3, 5), np.inf), np.zeros(3))), r"parameter 'W' has inf"),
    (lambda g: g.connect("x", "fc1", delay=-1), r"delay must be a non-negative integer"),
    (lambda g: g.connect("x", "fc1"), r"appears twice"),
    (lambda g: setattr(g, "inputs", ["fc1"]), r"graph input 'fc1' is a Dense, not an Input"),
])
def test_verify_names_the_fault(mutate, message):
    with pytest.raises(GraphError, match=message):
        verify(_broken(mutate))


def test_verify_kind_mismatch():
    from snnc.compiler.ir import SPIKE, Primitive, primitive

    @primitive
    class SpikeOnly(Primitive):
        """Test primitive whose port only takes spikes."""
        w: np.ndarray
        ports = {"in": SPIKE}
        per_neuron = ("w",)

    try:
        g = recurrent_graph()
        g.add("so", SpikeOnly(np.ones(5)))
        g.connect("fc1", "so")  # fc1 emits graded values
        with pytest.raises(GraphError, match=r"kind mismatch: 'fc1' emits graded values but SpikeOnly 'so' port 'in' takes spike"):
            verify(g)
    finally:
        PRIMITIVES.pop("SpikeOnly", None)


def test_verify_accepts_good_graph(graph):
    assert verify(graph) is graph


def test_primitive_validation_messages():
    with pytest.raises(PrimitiveError, match="reset must be one of zero, subtract, none"):
        LIF(alpha=np.ones(2), gain=1.0, theta=1.0, reset="bogus")
    with pytest.raises(PrimitiveError, match="disagree on the population size"):
        ALIF(alpha=np.ones(3), rho=np.ones(2), b0=0.01, beta=1.8)
    with pytest.raises(PrimitiveError, match="cannot infer the population size"):
        LIF(alpha=0.9, gain=1.0, theta=1.0)
    with pytest.raises(PrimitiveError, match=r"b has shape \(2,\), expected \(3,\)"):
        Dense(np.ones((3, 4)), np.ones(2))


def test_nodes_are_immutable(graph):
    node = graph.nodes["fc1"]
    with pytest.raises(ValueError):
        node.W[0, 0] = 1.0
    with pytest.raises(Exception):
        node.W = np.zeros((5, 6))


def test_schedule_respects_zero_delay_edges(graph):
    order = graph.schedule()
    pos = {n: i for i, n in enumerate(order)}
    for e in graph.edges:
        if e.delay == 0:
            assert pos[e.src] < pos[e.dst], e


def test_printer_and_dot(graph):
    text = format_graph(graph)
    assert "n1" in text and "LIF" in text and "n1 -> rec1.in (delay 1)" in text
    dot = to_dot(graph)
    assert dot.startswith('digraph "snnc" {') and '"n1" -> "rec1" [style=dashed, label="z^-1"];' in dot
    assert '"x" [label="x\\nInput [6] spike"' in dot


def test_duplicate_node_in_file_is_an_error(graph):
    import io
    import json
    data = to_bytes(graph)
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buf, "w") as zout:
        for item in zin.namelist():
            content = zin.read(item)
            if item == "graph.json":
                doc = json.loads(content)
                doc["nodes"].append(doc["nodes"][1])
                content = json.dumps(doc).encode()
            zout.writestr(item, content)
    with pytest.raises(FileFormatError, match="node 'fc1' is defined twice"):
        from_bytes(buf.getvalue(), "dup.snn")
