"""Lowering IR -> a Lava network description (DESIGN §5): processes, connections, arrays; no code.

`RULES[PrimitiveType]` (native rules here and in lif_rules) maps a node onto Lava's own
objects; any other node with a step, float or Loihi integer, becomes snnc's generic
`NodeStep` process (`Lowerer.step_node`) running that step; Dense nodes
become Lava `Dense` processes (one copy per distinct input gain of the Lava LIFs
they feed, since Lava's LIF has no gain); `lava_retime` decides the compensating
`Delay` processes. Floating-point Dense biases enter as graded `RingBuffer`
sources that start when the reference bias would first arrive, so retimed
populations stay silent until their step 0. The worker (runtime/lava_worker.py)
builds the processes from the description inside the Lava environment.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from snnc.backends.lava import lif_rules
from snnc.backends.lava.retime import Timing, retime
from snnc.compiler.errors import LoweringError
from snnc.compiler.ir import GRADED, Edge, Graph, Primitive
from snnc.compiler.primitives import Dense, Input, LoihiDense
from snnc.compiler.verify import verify

BACKEND = "loihi"
DENSE = (Dense, LoihiDense)
GRADED_BITS = 24  # num_message_bits for graded messages (Loihi 2 graded spikes carry up to 24 bits)


def _unmappable(kind: str) -> str:
    """Why a primitive has no Lava lowering, and what to do instead."""
    if kind == "EarlyExit":
        return ("early exit needs the runtime's per-sample freezing of a batch, which a Lava network has no form for; "
                "compile it for the numpy or onnx target instead")
    if kind == "LSTM":
        return "Loihi cannot run it (no neuromorphic mapping); compile it for the numpy or onnx target instead"
    if kind == "Int8Dense":
        return ("int8 quantization has no Loihi mapping; for the loihi target compile with --quantize loihi "
                "(Loihi's 8-bit mantissa + exponent fixed point), or run the int8 graph on the numpy or onnx target")
    return "no Lava lowering rule; compile it for the numpy or onnx target instead"


NO_STEP_PROCESS = ("LSTM", "EarlyExit", "Int8Dense")  # refused on Lava even though they define a step (_unmappable)


def steps_on_lava(node: Primitive) -> bool:
    """Whether a node runs on Lava as snnc's generic NodeStep process (float or integer primitives with a step)."""
    return (node.step is not None and type(node).__name__ not in NO_STEP_PROCESS
            and all(node.in_size(p) == node.size for p in node.ports))


@dataclass
class LavaNet:
    """A Lava network description: process specs, connections and the arrays they reference."""

    mode: str  # "float" (floating_pt models) or "fixed" (fixed_pt models)
    procs: dict[str, dict] = field(default_factory=dict)
    conns: list[list[str]] = field(default_factory=list)  # [src proc, src port, dst proc, dst port]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: dict[str, int] = field(default_factory=dict)  # graph input -> features
    taps: dict[str, dict] = field(default_factory=dict)  # IR node -> where its output is observed in Lava
    outputs: list[str] = field(default_factory=list)
    latency: dict[str, int] = field(default_factory=dict)

    def array(self, key: str, a: Any) -> dict:
        self.arrays[key] = np.ascontiguousarray(a)
        return {"array": key}

    def doc(self) -> dict:
        """The JSON part of the description."""
        return {"mode": self.mode, "procs": self.procs, "conns": self.conns, "inputs": self.inputs,
                "taps": self.taps, "outputs": self.outputs, "latency": self.latency}


Rule = Callable[["Lowerer", str, Primitive], None]


class Lowerer:
    """Walks the graph once; Dense copies and delays are created on demand and cached."""

    backend = BACKEND

    def __init__(self, graph: Graph):
        self.g = graph
        ints = {n for n, v in graph.nodes.items() if v.integer}
        # a fixed-point graph's input encoders x·2^q (quantize_inputs.py) run on the host, in the input's source
        self.encoders = {n: src for n in graph.nodes if (src := encoded_input(graph, n))} if ints else {}
        neurons = [n for n, v in graph.nodes.items() if not isinstance(v, Input) and n not in self.encoders]
        if ints and len(ints) != len(neurons):
            floats = sorted(set(neurons) - ints)
            raise LoweringError(floats[0], type(graph.nodes[floats[0]]).__name__, BACKEND,
                                "a quantized graph mixes fixed-point and floating-point nodes")
        self.net = LavaNet("fixed" if ints else "float")
        self.fixed = bool(ints)
        self.gain: dict[str, np.ndarray | None] = {}  # Lava LIF node -> gain folded into its input weights
        self._copies: dict[tuple[str, bytes], str] = {}
        self._delays: dict[tuple[str, str, int], str] = {}
        # (node, IR port) -> Lava in-port of its process, for ports other than "in" (e.g. SPSN noise -> u_in)
        self.in_ports: dict[tuple[str, str], str] = {}
        self.timing: Timing | None = None
        self.alias: dict[str, str] = {}  # encoder node -> the source process that sends its output

    # -- hops for the retiming --------------------------------------------------
    def hops(self, e: Edge) -> int:
        if isinstance(self.g.nodes[e.dst], DENSE):
            return 1
        if self._diag(e) is not None:
            return 1
        return 0

    def _diag(self, e: Edge) -> np.ndarray | None:
        """The gain of a Lava LIF fed directly (not by a Dense): it needs a diagonal Dense carrying it."""
        g = self.gain.get(e.dst)
        if g is None or isinstance(self.g.nodes[e.src], DENSE) or np.all(g == 1):
            return None
        return g

    # -- building -------------------------------------------------------------
    def proc(self, name: str, kind: str, size: int, node: str | None, **params: Any) -> str:
        self.net.procs[name] = {"kind": kind, "size": int(size), "node": node, "params": params}
        return name

    def connect(self, src: tuple[str, str], dst: tuple[str, str]) -> None:
        self.net.conns.append([src[0], src[1], dst[0], dst[1]])

    def out_port(self, name: str, scale: np.ndarray | None = None) -> tuple[str, str]:
        """The Lava port carrying node `name`'s output (times `scale` for Dense copies feeding a LIF)."""
        node = self.g.nodes[name]
        if name in self.alias:
            return (self.alias[name], "s_out")
        if not isinstance(node, DENSE):
            return (name, "s_out")
        key = (name, b"" if scale is None else np.asarray(scale, float).tobytes())
        if key not in self._copies:
            n_copies = sum(1 for k in self._copies if k[0] == name)
            pname = name if n_copies == 0 else f"{name}@{n_copies}"
            self._copies[key] = pname
            W = node.W if scale is None else np.asarray(scale)[:, None] * node.W
            graded = any(self.g.nodes[e.src].out_kind == GRADED for e in self.g.in_edges(name))
            extra = {}
            if self.fixed:
                extra = {"weight_exp": int(node.weight_exp), "num_weight_bits": int(node.num_weight_bits),
                         "sign_mode": node.sign_mode}
            self.proc(pname, "dense", node.size, name, weights=self.net.array(f"{pname}/weights", W),
                      num_message_bits=GRADED_BITS if graded else 0, **extra)
            for e in self.g.in_edges(name):
                self.wire(e, (pname, "s_in"))
        return (self._copies[key], "a_out")

    def wire(self, e: Edge, dst: tuple[str, str]) -> None:
        """Realize IR edge `e` into Lava port `dst`: source port, diagonal gain, compensating delay, bias."""
        scale = self.gain.get(e.dst) if isinstance(self.g.nodes[e.src], DENSE) else None
        src = self.out_port(e.src, scale)
        diag = self._diag(e)
        if diag is not None:
            pname = f"{e.src}->{e.dst}:gain"
            if pname not in self.net.procs:
                graded = self.g.nodes[e.src].out_kind == GRADED
                self.proc(pname, "dense", len(diag), None, weights=self.net.array(f"{pname}/weights", np.diag(diag)),
                          num_message_bits=GRADED_BITS if graded else 0)
                self.connect(src, (pname, "s_in"))
            src = (pname, "a_out")
        k = self.timing.extra[e]
        if k:
            key = (src[0], src[1], k)
            if key not in self._delays:
                self._delays[key] = self.proc(f"{src[0]}:delay{k}", "delay", self.g.nodes[e.src].size, None, delay=k)
                self.connect(src, (self._delays[key], "a_in"))
            src = (self._delays[key], "s_out")
        self.connect(src, dst)
        self.bias_source(e, dst, scale)

    def bias_source(self, e: Edge, dst: tuple[str, str], scale: np.ndarray | None) -> None:
        """A float Dense bias reaches `dst` from the reference step e.delay on: a graded source that starts then."""
        node = self.g.nodes[e.src]
        if self.fixed or not isinstance(node, Dense) or not np.any(node.b):
            return
        b = node.b if scale is None else np.asarray(scale) * node.b
        pname = f"{e.src}->{dst[0]}:bias{len(self.net.procs)}"
        start = self.timing.latency[e.dst] + e.delay
        self.proc(pname, "bias", node.size, None, values=self.net.array(f"{pname}/values", b), start=int(start))
        self.connect((pname, "s_out"), dst)

    def tap(self, name: str) -> None:
        node = self.g.nodes[name]
        t = {"latency": int(self.timing.latency[name]), "kind": node.out_kind, "size": node.size}
        if isinstance(node, Input):
            t["input"] = name
        else:
            copies = [(k, p) for k, p in self._copies.items() if k[0] == name]
            if isinstance(node, DENSE) and copies and not any(k[1] == b"" for k, _ in copies):
                (key, _), = copies[:1]
                t["scale"] = self.net.array(f"{name}/tapscale", np.frombuffer(key[1]))
                port = self.out_port(name, np.frombuffer(key[1]))
            else:
                port = self.out_port(name)
            t["proc"], t["port"] = port
            if isinstance(node, Dense) and np.any(node.b):
                t["bias"] = self.net.array(f"{name}/tapbias", node.b)
            t["states"] = self.net.procs[name].get("states", {}) if name in self.net.procs else {}
        self.net.taps[name] = t

    def arr(self, name: str, field_: str, a: Any) -> dict:
        """Array `a` of node `name` in the description, as `<name>/<field>`."""
        return self.net.array(f"{name}/{field_}", a)

    def step_node(self, name: str, node: Primitive) -> None:
        """A node without a native Lava object: snnc's generic NodeStep process running the primitive's `step`."""
        arrays = {f: getattr(node, f) for f in node.array_fields()}
        fields = {f: (v.item() if hasattr(v, "item") else v) for f, v in node.params().items() if f not in arrays}
        init = node.initial_state()
        # flat parameters, as the description's schema has them (backends/lava/artifact.py): JSON strings,
        # array:<field> and init:<state> array references; the worker's NodeStep unpacks them (procs/step.py)
        self.proc(name, "step", node.size, name, primitive=type(node).__name__, fields=json.dumps(fields),
                  dtypes=json.dumps({f: str(a.dtype) for f, a in arrays.items()}), states=json.dumps(list(node.states)),
                  **{f"array:{f}": self.arr(name, f, a) for f, a in arrays.items()},
                  **{f"init:{k}": self.arr(name, f"init_{k}", a) for k, a in init.items()})
        # a state is row j of NodeStep's packed Var `state` [k, B·n]: "state:j"
        self.net.procs[name]["states"] = {k: [f"state:{j}", None] for j, k in enumerate(node.states)}
        for port in node.ports:
            if port == "noise":  # uniform noise from a graph Input, on NodeStep's u_in
                self.in_ports[(name, port)] = "u_in"
                edges = self.g.in_edges(name, port)
                if len(edges) != 1 or not isinstance(self.g.nodes[edges[0].src], Input):
                    raise LoweringError(name, type(node).__name__, BACKEND,
                                        "its noise port must be fed by exactly one graph Input (uniform noise in [0, 1))")
                self.net.procs[name]["params"]["noise_input"] = edges[0].src
            elif port != "in":
                raise LoweringError(name, type(node).__name__, BACKEND, f"port '{port}' has no Lava in-port")

    def lower(self) -> LavaNet:
        g = self.g
        for name, node in g.nodes.items():
            fn = _encode if name in self.encoders else rule_for(node)
            if fn is None:
                why = _unmappable(type(node).__name__)
                raise LoweringError(name, type(node).__name__, BACKEND, why)
            fn(self, name, node)
        for enc, src in self.encoders.items():
            self.net.procs[src]["params"]["encode"] = self.arr(enc, "scale", g.nodes[enc].scale)
        self.timing = retime(g, self.hops)
        self.net.latency = {n: int(v) for n, v in self.timing.latency.items()}
        for name, node in g.nodes.items():
            spec = self.net.procs.get(name)
            if spec is not None and spec["kind"] != "dense":
                spec["t_start"] = self.net.latency[name]
                for e in g.in_edges(name):
                    self.wire(e, (name, self.in_ports.get((name, e.port), "a_in")))
        for name in g.nodes:
            self.tap(name)
        for o in g.outputs:  # a state output is recorded from the node's process (runtime/lava/worker.py)
            node, var = g.output_ref(o)
            if var is not None and var not in self.net.taps[node].get("states", {}):
                raise LoweringError(node, type(g.nodes[node]).__name__, BACKEND,
                                    f"graph output '{o}': its Lava process does not expose state '{var}'")
        self.net.outputs = list(g.outputs)
        return self.net


# -- rules ------------------------------------------------------------------------

def _input(lw: Lowerer, name: str, node: Input) -> None:
    lw.net.inputs[name] = node.size
    lw.proc(name, "source", node.size, name)


def encoded_input(graph: Graph, name: str) -> str | None:
    """The graph Input that node `name` encodes for a fixed-point graph (an Affine x·2^q right after it, with no
    shift: quantize_inputs.py), else None."""
    node = graph.nodes[name]
    ins = graph.in_edges(name)
    if type(node).__name__ != "Affine" or len(ins) != 1 or ins[0].delay or np.any(node.shift):
        return None
    q = np.log2(np.asarray(node.scale, float))
    return ins[0].src if isinstance(graph.nodes[ins[0].src], Input) and np.array_equal(q, np.rint(q)) else None


def _encode(lw: Lowerer, name: str, node: Primitive) -> None:
    """An input encoder of a fixed-point graph: the input's source sends trunc(x·2^q) (runtime/lava/worker.py)."""
    src = lw.encoders[name]
    others = [e.dst for e in lw.g.out_edges(src) if e.dst != name]
    if others:
        raise LoweringError(name, type(node).__name__, BACKEND, f"the input '{src}' it encodes also feeds "
                            f"{', '.join(others)} directly; an encoded input must feed only its encoder")
    lw.alias[name] = src


def _dense(lw: Lowerer, name: str, node: Primitive) -> None:
    pass  # Dense copies are made on demand by Lowerer.out_port, one per gain of the LIFs they feed


# the native rules, by primitive; everything else with a step (float or Loihi integer) runs in NodeStep (rule_for)
RULES: dict[type, Rule] = {Input: _input, Dense: _dense, LoihiDense: _dense, **lif_rules.RULES}


def rule_for(node: Primitive) -> Rule | None:
    """The node's Lava rule: a native one from RULES, else the generic NodeStep process, else None."""
    return RULES.get(type(node)) or (Lowerer.step_node if steps_on_lava(node) else None)


def lower(graph: Graph) -> LavaNet:
    """Verify `graph`, retime it for Lava and describe its Lava process network."""
    verify(graph)
    return Lowerer(graph).lower()
