"""The neuron-graph IR: named primitive nodes joined by explicit, possibly delayed edges.

A `Graph` is like NIR's: nodes in a dict, edges as a list, cycles are just edges
with a delay. At every step t the nodes are evaluated in topological order of
the graph with all delay>=1 edges removed (DESIGN §3); an edge with delay d
delivers its source's output from step t-d (zeros before the first step), and
several edges into one port add up.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator

import numpy as np

from snnc.compiler.errors import GraphError, PrimitiveError

PRIMITIVES: dict[str, type["Primitive"]] = {}

SPIKE, GRADED, ANY = "spike", "graded", "any"


class Primitive:
    """Base of every IR node: a frozen dataclass whose numpy-array fields are its parameters.

    Subclasses declare their input ports (port -> accepted kind), the kind of
    their output, and their state variables (state -> field holding its
    per-neuron initial value, or None for zeros).
    """

    ports: ClassVar[dict[str, str]] = {"in": ANY}
    states: ClassVar[dict[str, str | None]] = {}
    # fields that hold one value per neuron; 0-d values are broadcast to the population
    per_neuron: ClassVar[tuple[str, ...]] = ()
    # True for fixed-point primitives (after quantize): the NumPy runtime keeps their states as int64
    integer: ClassVar[bool] = False
    # states that are linear recurrences s_t = a·s_{t−1} + u_t (u_t not reading s), with the field holding a,
    # in dependency order: parallel-in-time executors solve them for the whole sequence (runtime/numpy/parallel.py)
    linear_states: ClassVar[tuple[tuple[str, str], ...]] = ()
    # True: the step is elementwise per neuron and sample (every port as wide as the node, per-neuron parameters):
    # an executor may lay [B, n] out flat as [B·n] (the NumPy runtime's node-major loop does, runtime/numpy/parallel.py)
    elementwise: ClassVar[bool] = False

    @property
    def out_kind(self) -> str:
        return GRADED

    @property
    def size(self) -> int:
        """Number of output features (neurons) per sample."""
        return int(np.shape(getattr(self, self.per_neuron[0]))[0])

    def in_size(self, port: str) -> int:
        """Number of features this node expects on `port`."""
        return self.size

    def check(self) -> None:
        """Structural validation beyond the generic per-neuron broadcast; raise PrimitiveError."""

    # The primitive's one definition of a time step (the contract is in compiler/primitives/ops.py):
    #     def step(self, ops, p, s, x) -> tuple[output, dict[state, new value]]
    # None: the primitive has no step (yet); an executor then needs a rule of its own or fails naming it.
    step: ClassVar[Any] = None

    def prepare(self) -> dict[str, Any]:
        """Parameters derived once at lowering (before the cast to the program dtype), added to the step's `p`."""
        return {}

    @classmethod
    def example(cls, n: int = 4, rng: np.random.Generator | None = None) -> "Primitive":
        """A valid instance with `n` outputs and random parameters (tests are parametrised over these)."""
        raise NotImplementedError(f"primitive {cls.__name__} has no example(); every primitive needs one for the tests")

    # -- generic machinery -------------------------------------------------
    @classmethod
    def array_fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if f.type in ("np.ndarray", "Array"))

    def params(self) -> dict[str, Any]:
        """All fields, arrays and scalars, by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def replace(self, **changes: Any) -> "Primitive":
        return dataclasses.replace(self, **changes)

    def initial_state(self) -> dict[str, np.ndarray]:
        """Per-neuron initial values of every state variable (shape (size,))."""
        out = {}
        for var, fname in self.states.items():
            out[var] = np.zeros(self.size) if fname is None else np.broadcast_to(getattr(self, fname), (self.size,))
        return out

    def _normalize(self) -> None:
        name = type(self).__name__
        for fname in self.array_fields():
            a = np.array(getattr(self, fname))  # a copy: the node owns its parameters
            if a.dtype.kind in "fc" or a.dtype == object:
                try:
                    a = a.astype(np.float64)
                except (TypeError, ValueError) as e:
                    raise PrimitiveError(f"{name}: parameter '{fname}' is not numeric ({e})") from None
            elif a.dtype.kind not in "iub":
                raise PrimitiveError(f"{name}: parameter '{fname}' has unsupported dtype {a.dtype}")
            object.__setattr__(self, fname, a)
        if self.per_neuron:
            shapes = {f: getattr(self, f).shape for f in self.per_neuron}
            sizes = {s[0] for s in shapes.values() if len(s) == 1}
            bad = {f: s for f, s in shapes.items() if len(s) > 1}
            if bad:
                f, s = next(iter(bad.items()))
                raise PrimitiveError(f"{name}: per-neuron parameter '{f}' must be a scalar or 1-D, got shape {s}")
            if len(sizes) > 1:
                raise PrimitiveError(f"{name}: per-neuron parameters disagree on the population size: "
                                     + ", ".join(f"{f}{s}" for f, s in shapes.items()))
            if not sizes:
                raise PrimitiveError(f"{name}: cannot infer the population size; give at least one of "
                                     f"{', '.join(self.per_neuron)} as an array of shape (n,)")
            n = sizes.pop()
            for f in self.per_neuron:
                a = getattr(self, f)
                if a.ndim == 0:
                    object.__setattr__(self, f, np.full(n, a.item(), dtype=a.dtype))
        for fname in self.array_fields():
            getattr(self, fname).setflags(write=False)
        self.check()

    def __post_init__(self) -> None:
        self._normalize()


class Synapse(Primitive):
    """Base of weight-matrix primitives: W is [out, in]; the output size is out, the input size in."""

    ports: ClassVar[dict[str, str]] = {"in": ANY}

    @property
    def size(self) -> int:
        return int(self.W.shape[0])

    def in_size(self, port: str) -> int:
        return int(self.W.shape[1])


def primitive(cls: type) -> type:
    """Class decorator: make `cls` a frozen dataclass and register it as an IR primitive by name."""
    if cls.__name__ in PRIMITIVES and PRIMITIVES[cls.__name__].__module__ != cls.__module__:
        raise PrimitiveError(f"primitive name '{cls.__name__}' is already registered by {PRIMITIVES[cls.__name__].__module__}")
    dc = dataclass(frozen=True, eq=False)(cls)
    PRIMITIVES[cls.__name__] = dc
    return dc


@dataclass(frozen=True)
class Edge:
    """src's output into dst's `port`, delivered `delay` steps later (zeros before)."""

    src: str
    dst: str
    port: str = "in"
    delay: int = 0

    def __str__(self) -> str:
        d = f" (delay {self.delay})" if self.delay else ""
        return f"{self.src} -> {self.dst}.{self.port}{d}"


@dataclass
class Graph:
    """Named nodes, explicit edges, ordered graph inputs (Input nodes) and outputs (any nodes)."""

    nodes: dict[str, Primitive] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    # -- building ------------------------------------------------------------
    def add(self, name: str, node: Primitive) -> str:
        """Add a node; an Input node also becomes a graph input. Returns its name."""
        if not isinstance(name, str) or not name:
            raise GraphError(f"node names must be non-empty strings, got {name!r}")
        if name in self.nodes:
            raise GraphError(f"node '{name}' already exists")
        if not isinstance(node, Primitive):
            raise GraphError(f"node '{name}': {type(node).__name__} is not an IR primitive")
        self.nodes[name] = node
        if type(node).__name__ == "Input":
            self.inputs.append(name)
        return name

    def connect(self, src: str, dst: str, port: str = "in", delay: int = 0) -> Edge:
        e = Edge(src, dst, port, delay)
        self.edges.append(e)
        return e

    def copy(self) -> "Graph":
        """A new Graph sharing the (immutable) nodes; lists and meta are copied."""
        import copy
        return Graph(dict(self.nodes), list(self.edges), list(self.inputs), list(self.outputs), copy.deepcopy(self.meta))

    # -- queries ---------------------------------------------------------------
    def in_edges(self, name: str, port: str | None = None) -> list[Edge]:
        return [e for e in self.edges if e.dst == name and (port is None or e.port == port)]

    def out_edges(self, name: str) -> list[Edge]:
        return [e for e in self.edges if e.src == name]

    def __iter__(self) -> Iterator[tuple[str, Primitive]]:
        return iter(self.nodes.items())

    def schedule(self) -> list[str]:
        """Node names in evaluation order: topological over zero-delay edges, ties by insertion order."""
        order = {n: i for i, n in enumerate(self.nodes)}
        indeg = {n: 0 for n in self.nodes}
        succ: dict[str, list[str]] = {n: [] for n in self.nodes}
        for e in self.edges:
            if e.delay == 0 and e.src in self.nodes and e.dst in self.nodes:
                indeg[e.dst] += 1
                succ[e.src].append(e.dst)
        import heapq
        ready = [(order[n], n) for n, d in indeg.items() if d == 0]
        heapq.heapify(ready)
        out = []
        while ready:
            _, n = heapq.heappop(ready)
            out.append(n)
            for m in succ[n]:
                indeg[m] -= 1
                if indeg[m] == 0:
                    heapq.heappush(ready, (order[m], m))
        if len(out) != len(self.nodes):
            from snnc.compiler.verify import find_zero_delay_cycle
            cyc = find_zero_delay_cycle(self)
            raise GraphError("zero-delay cycle (algebraic loop): " + " -> ".join(cyc + cyc[:1]))
        return out

    def output_ref(self, output: str) -> tuple[str, str | None]:
        """(node, None) for an output that is a node's output, (node, state) for `node.state` (e.g. `out.v`)."""
        if output in self.nodes:
            return output, None
        node, _, var = output.rpartition(".")
        if node in self.nodes and var in self.nodes[node].states:
            return node, var
        if node in self.nodes:
            states = ", ".join(self.nodes[node].states) or "none"
            raise GraphError(f"graph output '{output}': {type(self.nodes[node]).__name__} '{node}' has no state '{var}' "
                             f"(states: {states})")
        raise GraphError(f"graph output '{output}' is an unknown node")

    def output_size(self, output: str) -> int:
        """Features per sample of a graph output (a state has one value per neuron)."""
        return self.nodes[self.output_ref(output)[0]].size

    def output_kind(self, output: str) -> str:
        """spike or graded: a node output has its node's kind, a state is graded (the spike state s⁻ is 0/1)."""
        node, var = self.output_ref(output)
        if var is None:
            return self.nodes[node].out_kind
        return "spike" if var == "s" else "graded"

    def max_delay(self, name: str) -> int:
        """Largest delay on any edge leaving `name` (how much history of its output is needed)."""
        return max((e.delay for e in self.out_edges(name)), default=0)
