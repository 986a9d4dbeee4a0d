"""NIR export: `to_nir(graph, dt) -> nir.NIRGraph`, the inverse of nir_io.from_nir (conventions there)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import SPIKE, Graph, Primitive
from snnc.compiler.primitives import LI, LIF, CubaLI, CubaLIF, Dense, Input
from snnc.frontends.nir_io import DISCRETIZATIONS, HINT, break_cycles, require_nir, time_constant


class _Ctx:
    """Export settings and the names already taken in the NIR graph."""

    def __init__(self, dt: float, method: str) -> None:
        self.dt, self.method = dt, method


def _meta(**params: Any) -> dict:
    return {"metadata": {HINT: {k: np.asarray(v) if not isinstance(v, str) else v for k, v in params.items()}}}


def _zero_state(name: str, node: Primitive, *fields: str) -> None:
    for f in fields:
        if np.any(getattr(node, f) != 0):
            raise SnncError(f"node '{name}' ({type(node).__name__}): initial state {f} != 0 has no NIR counterpart "
                            "(NIR neurons start at rest)")


def _membrane(name: str, alpha, gain, bias, ctx: _Ctx, theta=None, **meta) -> Any:
    """An NIR LI/LIF (alpha < 1) or I/IF (alpha = 1) node for v = alpha·v + gain·I + bias [, spikes at theta]."""
    nir = require_nir()
    alpha, gain, bias = (np.asarray(a, np.float64) for a in (alpha, gain, bias))
    if np.all(alpha == 1):
        if np.any(bias != 0):
            raise SnncError(f"node '{name}': a bias without leak (alpha = 1) has no NIR counterpart")
        r = gain / ctx.dt
        return nir.I(r, **meta) if theta is None else nir.IF(r, np.asarray(theta, np.float64), np.zeros_like(r), **meta)
    if np.any(alpha == 1):
        raise SnncError(f"node '{name}': mixes alpha = 1 and alpha < 1 across neurons; NIR needs one node type per population")
    if np.any((alpha < 0) | (alpha > 1)):
        raise SnncError(f"node '{name}': alpha outside [0, 1] has no NIR time constant")
    tau, r, v_leak = time_constant(alpha, ctx.dt, ctx.method), gain / (1 - alpha), bias / (1 - alpha)
    if theta is None:
        return nir.LI(tau, r, v_leak, **meta)
    return nir.LIF(tau, r, v_leak, np.asarray(theta, np.float64), np.zeros_like(r), **meta)


def _neuron_graph(name: str, n: Primitive, ctx: _Ctx, alpha, gain, bias, a_syn=None) -> Any:
    """Reset none/subtract as a subgraph: [synapse ->] membrane -> Threshold [-> Linear reset -> membrane]."""
    nir = require_nir()
    size = n.size
    nodes: dict[str, Any] = {"input": nir.Input(np.array([size]))}
    edges = []
    if a_syn is not None:  # a synapse LI with gain 1: i = a_syn·i + I
        nodes["synapse"] = _membrane(name, a_syn, np.ones(size), np.zeros(size), ctx)
        edges += [("input", "synapse"), ("synapse", "membrane")]
    else:
        edges.append(("input", "membrane"))
    nodes["membrane"] = _membrane(name, alpha, gain, bias, ctx)
    nodes["threshold"] = nir.Threshold(np.asarray(n.theta, np.float64))
    nodes["output"] = nir.Output(np.array([size]))
    edges += [("membrane", "threshold"), ("threshold", "output")]
    if n.reset == "subtract":
        if np.any(gain == 0):
            raise SnncError(f"node '{name}' ({type(n).__name__}): subtractive reset with gain 0 has no NIR form")
        # v' = alpha·v' + gain·(I − alpha·theta/gain·s⁻) is the membrane before v − theta·s
        nodes["reset"] = nir.Linear(np.diag(-alpha * n.theta / gain))
        edges += [("threshold", "reset"), ("reset", "membrane")]
    hints = dict(alpha=alpha, gain=gain, theta=n.theta) if a_syn is None else \
        dict(alpha_syn=a_syn, alpha_mem=alpha, gain=gain, bias=bias, theta=n.theta)
    return nir.NIRGraph(nodes, edges, **_meta(**hints))


def _x_input(name: str, n: Input, ctx: _Ctx) -> Any:
    return require_nir().Input(np.array([n.size]), **_meta(kind=n.kind))


def _x_dense(name: str, n: Dense, ctx: _Ctx) -> Any:
    nir = require_nir()
    return nir.Linear(np.array(n.W)) if not np.any(n.b) else nir.Affine(np.array(n.W), np.array(n.b))


def _x_li(name: str, n: LI, ctx: _Ctx) -> Any:
    _zero_state(name, n, "v0")
    return _membrane(name, n.alpha, n.gain, np.zeros(n.size), ctx, **_meta(alpha=n.alpha, gain=n.gain))


def _x_lif(name: str, n: LIF, ctx: _Ctx) -> Any:
    _zero_state(name, n, "v0")
    if n.reset != "zero":
        return _neuron_graph(name, n, ctx, n.alpha, n.gain, np.zeros(n.size))
    return _membrane(name, n.alpha, n.gain, np.zeros(n.size), ctx, n.theta, **_meta(alpha=n.alpha, gain=n.gain, theta=n.theta))


def _x_cuba(name: str, n: CubaLIF, ctx: _Ctx) -> Any:
    nir = require_nir()
    _zero_state(name, n, "v0", "i0")
    if n.reset != "zero":
        return _neuron_graph(name, n, ctx, n.alpha_mem, n.gain, n.bias, n.alpha_syn)
    if np.all(n.alpha_syn == 0) and np.any(n.bias != 0):  # i = I: the IR's LIF with a bias, NIR's LIF with v_leak
        return _membrane(name, n.alpha_mem, n.gain, n.bias, ctx, n.theta,
                         **_meta(alpha_syn=n.alpha_syn, alpha_mem=n.alpha_mem, gain=n.gain, bias=n.bias, theta=n.theta))
    if np.any(n.alpha_mem == 1) or np.any((n.alpha_mem < 0) | (n.alpha_mem > 1)):
        raise SnncError(f"node '{name}' (CubaLIF): alpha_mem must be in [0, 1) for an NIR CubaLIF")
    if np.any((n.alpha_syn < 0) | (n.alpha_syn >= 1)):
        raise SnncError(f"node '{name}' (CubaLIF): alpha_syn must be in [0, 1) for an NIR CubaLIF")
    one = 1 - n.alpha_mem
    # NIR's i = a·i + (1 − a)·w_in·I is snnc's i = a·i + I when w_in = 1/(1 − a) (as snnTorch's exporter writes)
    return nir.CubaLIF(time_constant(n.alpha_syn, ctx.dt, ctx.method), time_constant(n.alpha_mem, ctx.dt, ctx.method),
                       n.gain / one, n.bias / one, np.array(n.theta), np.zeros(n.size), 1.0 / (1.0 - n.alpha_syn),
                       **_meta(alpha_syn=n.alpha_syn, alpha_mem=n.alpha_mem, gain=n.gain, bias=n.bias, theta=n.theta))


def _x_cuba_li(name: str, n: CubaLI, ctx: _Ctx) -> Any:
    nir = require_nir()
    _zero_state(name, n, "v0", "i0")
    hints = _meta(alpha_syn=n.alpha_syn, alpha_mem=n.alpha_mem, gain=n.gain, bias=n.bias)
    if np.all(n.alpha_syn == 0):  # i = I: NIR's LI with v_leak
        return _membrane(name, n.alpha_mem, n.gain, n.bias, ctx, **_meta(alpha=n.alpha_mem, gain=n.gain, bias=n.bias))
    if np.any(n.alpha_mem == 1) or np.any((n.alpha_mem < 0) | (n.alpha_mem > 1)):
        raise SnncError(f"node '{name}' (CubaLI): alpha_mem must be in [0, 1) for an NIR CubaLI")
    if np.any((n.alpha_syn <= 0) | (n.alpha_syn >= 1)):
        raise SnncError(f"node '{name}' (CubaLI): alpha_syn must be in (0, 1) for an NIR CubaLI (or 0 for every neuron)")
    one = 1 - n.alpha_mem
    # as for CubaLIF: w_in = 1/(1 − a_syn) makes NIR's i = a·i + (1 − a)·w_in·I snnc's i = a·i + I
    return nir.CubaLI(time_constant(n.alpha_syn, ctx.dt, ctx.method), time_constant(n.alpha_mem, ctx.dt, ctx.method),
                      n.gain / one, n.bias / one, 1.0 / (1.0 - n.alpha_syn), **hints)


EXPORT: dict[type, Callable[[str, Any, _Ctx], Any]] = {Input: _x_input, Dense: _x_dense, LI: _x_li, LIF: _x_lif,
                                                       CubaLIF: _x_cuba, CubaLI: _x_cuba_li}


def _plain_delays(graph: Graph) -> set[int]:
    """Indices of delay-1 edges NIR can leave implicit: those the importer's cycle rule gives back exactly."""
    spiking = {k for k, p in graph.nodes.items() if p.out_kind == SPIKE}
    cand = {i for i, e in enumerate(graph.edges) if e.delay == 1 and e.src in spiking}
    while cand:
        trial = [[e.src, e.dst, 0 if i in cand else e.delay] for i, e in enumerate(graph.edges)]
        got = break_cycles(list(graph.nodes), trial, spiking)
        wrong = {i for i, (e, g) in enumerate(zip(graph.edges, got)) if e.delay != g[2]}
        if not wrong:
            return cand
        # a candidate off every cycle needs its explicit Delay; if the rule picked another edge, keep all explicit
        cand = cand - wrong if wrong <= cand else set()
    return cand


def to_nir(graph: Graph, dt: float | None = None, discretization: str = "euler") -> Any:
    """The NIR graph of IR graph `graph` at step dt (default graph.meta['dt'], else 1.0)."""
    nir = require_nir()
    if discretization not in DISCRETIZATIONS:
        raise SnncError(f"NIR discretization must be one of {', '.join(DISCRETIZATIONS)}, got {discretization!r}")
    dt = float(dt if dt is not None else graph.meta.get("dt") or 1.0)
    ctx = _Ctx(dt, discretization)
    nodes: dict[str, Any] = {}
    for name, n in graph.nodes.items():
        rule = EXPORT.get(type(n))
        if rule is None:
            raise SnncError(f"node '{name}' ({type(n).__name__}) has no NIR counterpart; NIR export supports "
                            "Input, Dense, LIF, CubaLIF, LI and CubaLI")
        nodes[name] = rule(name, n, ctx)
    taken = set(nodes)

    def fresh(base: str) -> str:
        name, i = base, 1
        while name in taken:
            i += 1
            name = f"{base}_{i}"
        taken.add(name)
        return name

    edges: list[tuple[str, str]] = []
    plain = _plain_delays(graph)
    delays: dict[tuple[str, int], str] = {}
    for i, e in enumerate(graph.edges):
        if e.port != "in":
            raise SnncError(f"edge {e}: port '{e.port}' has no NIR counterpart (NIR nodes have one input)")
        src = e.src
        if e.delay and i not in plain:
            if (e.src, e.delay) not in delays:  # one Delay node per source and delay, shared by its targets
                d = delays[(e.src, e.delay)] = fresh(f"{e.src}.delay{e.delay}")
                nodes[d] = nir.Delay(np.full(graph.nodes[e.src].size, e.delay * dt))
                edges.append((e.src, d))
            src = delays[(e.src, e.delay)]
        if (src, e.dst) in edges:
            raise SnncError(f"edge {e}: a second edge {src} -> {e.dst}; NIR allows one edge per pair of nodes")
        edges.append((src, e.dst))
    for k, o in enumerate(graph.outputs):
        if o not in graph.nodes:
            raise SnncError(f"graph output '{o}' is a state of node '{graph.output_ref(o)[0]}'; NIR outputs are node outputs")
        name = fresh("output" if len(graph.outputs) == 1 else f"output{k}")
        nodes[name] = nir.Output(np.array([graph.nodes[o].size]))
        edges.append((o, name))
    from snnc import __version__
    import json
    meta = {HINT: {"dt": dt, "discretization": discretization, "snnc_version": __version__, "order": json.dumps(list(graph.nodes))}}
    try:
        return nir.NIRGraph(nodes, edges, metadata=meta)
    except (ValueError, AssertionError) as e:  # nir's own type check: a bug in the rules above, said in one line
        raise SnncError(f"NIR export produced an invalid graph: {' '.join(str(e).split())}") from None


def write_nir(graph: Graph, path: str | Path, dt: float | None = None, discretization: str = "euler") -> Any:
    """Write `graph` as a .nir file atomically; returns the NIR graph."""
    from snnc.frontends.nir_file import write_nir_graph

    ng = to_nir(graph, dt, discretization)
    write_nir_graph(ng, path)
    return ng
