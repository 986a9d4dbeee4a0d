"""The equivalence matrix: every registered primitive × every backend, against the NumPy float64 reference.

Each primitive runs in a small graph built from its `example()`: x -> fc (a Dense) -> node, plus a noise
input where the node has a noise port (an Input alone; a Dense fed by x directly). Every cell either
agrees with the reference or is listed in UNSUPPORTED with the reason; a newly registered primitive
without an entry in FAMILIES fails, so no backend can miss one silently. The Lava cells run every
primitive's component of one graph in a single Lava launch per mode (a launch costs 1-2 s).
"""
from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.ir import PRIMITIVES, SPIKE, Graph
from snnc.compiler.passes.quantize import quantize
from snnc.compiler.primitives import Dense, Input
from snnc.compiler.fixedpoint import lava_weights
from snnc.compiler.primitives.loihi_dense import LoihiDense
from snnc.runtime.numpy.runtime import NumpyRuntime

CELLS = ("numpy-float32", "numpy-float64", "onnx", "lava-float", "lava-fixed")
T, B, N = 30, 2, 4
F = N + 2  # the synapse examples take N + 2 inputs
SYNAPSES = ("Dense", "LoihiDense", "Int8Dense")

# every registered primitive and how it is exercised: "float" (a float primitive; lava-fixed runs its
# quantize(loihi) form), "integer" (a Loihi fixed-point primitive: the reference is the NumPy integer run)
FAMILIES = {
    "Input": "float", "Dense": "float", "LIF": "float", "CubaLIF": "float", "ALIF": "float", "LI": "float",
    "CubaLI": "float", "LTC": "float", "LTCReadout": "float", "AHP": "float", "SPSN": "float", "LSTM": "float",
    "EarlyExit": "float", "Affine": "float", "Int8Dense": "float",
    "LoihiDense": "integer", "LoihiLIF": "integer", "LoihiLI": "integer", "LoihiALIF": "integer",
    "LoihiAHP": "integer", "LoihiSPSN": "integer", "LoihiLTC": "integer", "LoihiLTCReadout": "integer",
    "Conv1d": "float", "Conv2d": "float", "SumPool2d": "float", "AvgPool2d": "float",
}
_NO_LOIHI = "an LSTM cannot run on Loihi (no neuromorphic mapping)"
_INTEGER_ONNX = "Loihi fixed-point arithmetic (24-bit wrap-around, shifts) is not lowered to ONNX"
_INTEGER_FLOAT = "n/a: an integer primitive has no floating-point form; its Lava cell is lava-fixed"
UNSUPPORTED = {
    ("LSTM", "lava-float"): _NO_LOIHI, ("LSTM", "lava-fixed"): _NO_LOIHI,
    ("EarlyExit", "lava-float"): "early exit freezes decided samples of a batch: no Lava form",
    ("EarlyExit", "lava-fixed"): "early exit freezes decided samples of a batch: no Lava form",
    ("Int8Dense", "lava-float"): "int8 quantization has no Loihi mapping (use quantize loihi)",
    ("Int8Dense", "lava-fixed"): "int8 quantization has no Loihi mapping (use quantize loihi)",
    ("Affine", "lava-fixed"): "quantize(loihi) has no fixed-point Affine (fuse folds it into Dense first)",
    ("CubaLI", "lava-fixed"): "quantize(loihi) has no fixed-point CubaLI yet",
    **{(n, c): why for n in ("Conv1d", "Conv2d", "SumPool2d", "AvgPool2d") for c, why in (
        ("lava-fixed", "quantize(loihi) has no fixed-point convolution or pooling"),
        ("lava-float", "not mapped to Lava's Conv process; NodeStep runs only size-preserving nodes"))},
    ("Dense", "lava-fixed"): "n/a: quantize(loihi) maps a Dense with the neuron it feeds; every neuron's cell runs one",
    **{(n, c): why for n, f in FAMILIES.items() if f == "integer"
       for c, why in (("onnx", _INTEGER_ONNX), ("lava-float", _INTEGER_FLOAT))},
}
LAVA_MODES = {"lava-float": "float", "lava-fixed": "fixed"}


def component(name: str, prefix: str = "", rng: np.random.Generator | None = None) -> Graph:
    """x -> fc -> node (noise input where needed), node names prefixed; the output is the node."""
    rng = rng or np.random.default_rng(sum(map(ord, name)))
    node = PRIMITIVES[name].example(N, rng)
    g = Graph(meta={"dt": 1.0})
    x = g.add("x", Input(F, SPIKE))  # shared by all components of a Lava launch: it connects them
    if name == "Input":
        g.outputs = [x]
        return g
    g.add(prefix + "node", node)
    src = x  # a synapse takes x itself (its example has F inputs); a neuron gets a Dense (LoihiDense) first
    if name not in SYNAPSES:
        m = node.in_size("in")
        if FAMILIES[name] == "integer":
            fc = LoihiDense(lava_weights(rng.integers(-200, 200, (m, F)), "mixed", 8), 2)
        else:
            # (no Dense bias into CubaLIF: Loihi adds biases to the voltage, so quantize(loihi) refuses it)
            fc = Dense(rng.normal(0.3, 0.8, (m, F)), rng.normal(0.1, 0.1, m) * (name != "CubaLIF"))
        src = g.add(prefix + "fc", fc)
        g.connect(x, src)
    g.connect(src, prefix + "node")
    if "noise" in node.ports:
        g.add(prefix + "noise", Input(node.size))
        g.connect(prefix + "noise", prefix + "node", port="noise")
    g.outputs = [prefix + "node"]
    return g


def inputs(g: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    """Spikes on x (the same in every component), uniform noise on a noise input."""
    x = {"x": (np.random.default_rng(seed).random((T, B, F)) < 0.4).astype(np.float64)}
    for n in g.inputs:
        if n != "x":
            x[n] = np.random.default_rng(seed + 1).random((T, B, g.nodes[n].size))
    return x


def union(parts: dict[str, Graph]) -> Graph:
    """The components in one graph joined at their shared input x (Lava runs one connected network)."""
    g = Graph(meta={"dt": 1.0})
    for part in parts.values():
        for n, node in part.nodes.items():
            if n not in g.nodes:
                g.add(n, node)
        g.edges += part.edges
        g.outputs += part.outputs
    return g


def reference(name: str) -> tuple[Graph, dict, dict]:
    g = component(name)
    x = inputs(g)
    return g, x, NumpyRuntime(g, "float64").run(x)[0]


def fixed_form(name: str) -> Graph:
    """The graph the lava-fixed cell runs: the integer component itself, or quantize(loihi) of the float one."""
    return component(name) if FAMILIES[name] == "integer" else quantize(component(name), "loihi")


_LAVA: dict[str, dict] = {}  # cell -> {primitive: outputs or the exception building its component raised}


def lava_run(cell: str, name: str) -> dict[str, np.ndarray]:
    """The outputs of `name`'s component from the Lava launch of `cell`: every primitive's component of one
    mode runs in one launch, made at the first cell of that mode that asks."""
    if cell not in _LAVA:
        from snnc.backends.lava.target import run_graph
        from snnc.runtime.lava.runner import lava_python

        lava_python()  # fails (never skips) with the setup message when the Lava environment is missing
        parts, res = {}, {}
        for n in FAMILIES:
            if (n, cell) in UNSUPPORTED or n not in PRIMITIVES:
                continue
            try:
                parts[n] = _prefixed(fixed_form(n) if cell == "lava-fixed" else component(n), f"{n}/")
            except Exception as e:  # reported by that primitive's cell only
                res[n] = e
        x = {k: v for n, p in parts.items() for k, v in _prefixed_inputs(n, p).items()}
        out, _ = run_graph(union(parts), x, {"dtype": "float64"})
        for n, p in parts.items():
            res[n] = {(o if o == "x" else o[len(n) + 1:]): out[o] for o in p.outputs}
        _LAVA[cell] = res
    got = _LAVA[cell][name]
    if isinstance(got, Exception):
        raise got
    return got


def _prefixed(g: Graph, prefix: str) -> Graph:
    from snnc.compiler.ir import Edge

    def rename(n: str) -> str:
        return n if n == "x" else prefix + n

    h = Graph(meta=dict(g.meta))
    for n, node in g.nodes.items():
        h.add(rename(n), node)
    h.edges = [Edge(rename(e.src), rename(e.dst), e.port, e.delay) for e in g.edges]
    h.outputs = [rename(o) for o in g.outputs]
    return h


def _prefixed_inputs(name: str, g: Graph) -> dict[str, np.ndarray]:
    x = inputs(component(name))
    return {(k if k == "x" else f"{name}/{k}"): v for k, v in x.items()}


def _agree(got: np.ndarray, want: np.ndarray, kind: str, exact: bool, what: str) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if kind == SPIKE:
        agree = float((got == want).mean())
        assert agree >= (1.0 if exact else 0.97), f"{what}: {agree:.2%} of spikes agree"
    elif exact:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9, err_msg=what)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=what)


def test_every_registered_primitive_has_an_entry():
    missing = sorted(set(PRIMITIVES) - set(FAMILIES))
    assert not missing, f"primitives missing from the equivalence matrix (tests/test_matrix.py FAMILIES): {missing}"


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_cell(name: str, cell: str) -> None:
    if (name, cell) in UNSUPPORTED:
        if not UNSUPPORTED[name, cell].startswith("n/a:"):  # (a cell that does not exist has nothing to refuse)
            _check_refused(name, cell)
        return
    g, x, ref = reference(name)
    o = g.outputs[0]
    kind = g.nodes[o].out_kind
    if cell.startswith("numpy"):
        got = NumpyRuntime(g, cell[6:]).run(x)[0]
        _agree(got[o], ref[o], kind, cell == "numpy-float64" or FAMILIES[name] == "integer", f"{name} {cell}")
    elif cell == "onnx":
        from snnc.backends.onnx.lower import lower
        from snnc.runtime.onnx.runtime import OnnxRuntime

        got = OnnxRuntime(lower(g, dtype="float64")).run(x)[0]
        _agree(got[o], ref[o], kind, True, f"{name} onnx float64")
        for k in (o + ":decision", o + ":time"):
            if k in ref:
                np.testing.assert_array_equal(got[k], ref[k])
    else:
        got = lava_run(cell, name)[o]
        if cell == "lava-fixed":  # against the NumPy integer run of the same fixed-point graph: bit for bit
            q = fixed_form(name)
            want = NumpyRuntime(q, "float64").run(x)[0][o]
            _agree(got, want, q.nodes[o].out_kind, True, f"{name} lava fixed_pt")
        else:
            _agree(got, ref[o], kind, True, f"{name} lava floating_pt")


def _check_refused(name: str, cell: str) -> None:
    """An unsupported cell is refused with one clear error naming the primitive, not silently wrong."""
    from snnc.compiler.errors import SnncError

    node = PRIMITIVES[name].example(N, np.random.default_rng(0))
    g = Graph()
    g.add("x", Input(node.in_size("in") if name != "Input" else N, node.ports.get("in", SPIKE).replace("any", SPIKE)))
    if name != "Input":  # the node alone, so the error is about it
        g.add("node", node)
        g.connect("x", "node")
        for port in set(node.ports) - {"in"}:
            g.add(port, Input(node.size))
            g.connect(port, "node", port=port)
    g.outputs = [g.nodes and list(g.nodes)[-1]]
    with pytest.raises(SnncError, match=rf"node 'node' \({name}\)" if cell != "lava-fixed" else "."):
        if cell == "onnx":
            from snnc.backends.onnx.lower import lower
            lower(g)
        elif cell == "lava-float":
            from snnc.backends.lava.lower import lower
            lower(g)
        else:
            from snnc.backends.lava.lower import lower
            lower(quantize(g, "loihi") if FAMILIES[name] == "float" else g)
