"""NIR import: `from_nir(nir_graph, dt, ...) -> Graph` and `read_nir(path, ...)`; conventions in docs/nir.md.

The neuron equations, discretizations, framework conventions and resets are in
nir_neurons; safe file reading in nir_file (its schema in nir_schema); export in
nir_export; conv shapes in nir_shapes; the cycle rule in nir_cycles. Graph rules:

- subgraphs are inlined (names joined by '.'); snnc's own exported reset-none /
  subtract subgraphs are recognised by shape and numbers and rebuilt as one neuron;
  an LI/I followed only by a Threshold is one LIF with reset none.
- delays: NIR edges carry none. Every cycle gets one delay-1 edge: the edge leaving
  the cycle's spiking neuron (the first by name if several), i.e. a neuron's spike of
  step t−1 reaches its recurrent synapses at t (snnTorch's RLeaky/RSynaptic). Other
  delays are nir.Delay nodes of d·dt.
- sizes: a node's IR size is the product of its NIR shape, so an Input shaped (1, F),
  as Norse writes it, is F features.
- metadata: snnc's exporter stores each node's exact parameters under metadata["snnc"];
  they are used only where they agree (rtol 1e-9) with the values derived from the
  NIR fields, so the fields alone define the model and IR -> NIR -> IR is exact.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler import limits
from snnc.compiler.errors import FileFormatError, GraphError, PrimitiveError, SnncError
from snnc.compiler.ir import SPIKE, Graph, Primitive
from snnc.compiler.primitives import Dense, Input
from snnc.frontends.nir_cycles import break_cycles
from snnc.frontends.nir_shapes import convert_conv, shapes, size_neurons
from snnc.frontends.nir_neurons import (CONVENTION_DT, DEFAULT_RESET, DISCRETIZATIONS, Fragment, Settings,
                                        f64, membrane, rules, spiking)

HINT = "snnc"  # metadata key of the exact snnc parameters
__all__ = ["from_nir", "read_nir", "to_nir", "write_nir", "settings", "break_cycles", "DISCRETIZATIONS", "HINT"]


def require_nir():
    """The nir module, or one clear error saying how to install it."""
    try:
        import nir
    except ModuleNotFoundError:
        raise SnncError("NIR support needs the Python package 'nir', which is not installed; "
                        "pip install 'snnc[nir]' or run 'make setup'") from None
    return nir


def time_constant(alpha: Any, dt: float, method: str) -> np.ndarray:
    """tau for decay alpha (the inverse of nir_neurons.decay); alpha = 1 gives tau = inf."""
    a = f64(alpha)
    with np.errstate(divide="ignore"):
        tau = dt / (1.0 - a) if method == "euler" else dt / -np.log(a)
    return np.where(a == 1.0, np.inf, tau)


def _meta(n: Any) -> dict:
    h = (getattr(n, "metadata", None) or {}).get(HINT)
    return h if isinstance(h, dict) else {}


def _hinted(prim: Primitive, n: Any) -> Primitive:
    """`prim` with the exact parameters snnc's exporter stored, where they agree with the derived ones."""
    h, changes = _meta(n), {}
    for k, v in prim.params().items():
        if k in h and isinstance(v, np.ndarray):
            w = np.asarray(h[k])
            if w.shape == v.shape and w.dtype.kind in "fiu" and np.allclose(w, v, rtol=1e-9, atol=1e-12):
                changes[k] = w.astype(np.float64)
    return prim.replace(**changes) if changes else prim


def settings(ng: Any, dt: float | None, discretization: str = "euler", convention: str = "nir",
             reset: str | None = None) -> Settings:
    """Import settings; dt from the argument, the file's metadata, or the convention, else a clear error."""
    meta = ng.metadata if isinstance(getattr(ng, "metadata", None), dict) else {}
    if dt is None:
        for src in (_meta(ng), meta):
            if "dt" in src:
                try:
                    dt = float(np.asarray(src["dt"]).reshape(-1)[0])
                except (TypeError, ValueError, IndexError):
                    raise SnncError(f"NIR graph metadata: dt {src['dt']!r} is not a number") from None
                break
    if dt is None:
        dt = CONVENTION_DT.get(convention)
    if dt is None:
        raise SnncError("NIR graph has no time step: give --dt (the dt the file was exported at; its time constants "
                        "are in those units; Norse exports at 1e-3, snnTorch at 1e-4 = --nir-convention snntorch)")
    return Settings(float(dt), discretization, convention, reset or DEFAULT_RESET[convention])


# -- snnc's own reset subgraphs ----------------------------------------------------

def _template(sg: Any, st: Settings) -> Primitive | None:
    """The snnc neuron of an exported reset-none/subtract subgraph, or None if `sg` is not one."""
    nir = require_nir()
    nodes, edges = sg.nodes, [tuple(e) for e in sg.edges]
    pred = {k: [s for s, d in edges if d == k] for k in nodes}
    succ = {k: [d for s, d in edges if s == k] for k in nodes}
    kinds = lambda t: [k for k, v in nodes.items() if isinstance(v, t)]  # noqa: E731
    ins, outs, thr = kinds(nir.Input), kinds(nir.Output), kinds(nir.Threshold)
    if not (len(ins) == len(outs) == len(thr) == 1) or len(pred.get(thr[0], [])) != 1:
        return None
    t, mem = thr[0], pred[thr[0]][0]
    if not isinstance(nodes[mem], (nir.LI, nir.I)) or succ[mem] != [t] or pred[outs[0]] != [t]:
        return None
    resets = [k for k in succ[t] if k != outs[0]]
    feeds = [k for k in pred[mem] if k not in resets]
    if len(resets) > 1 or len(feeds) != 1:
        return None
    syn = feeds[0] if isinstance(nodes[feeds[0]], (nir.LI, nir.I)) else None
    if syn is not None and (pred[syn] != ins or succ[syn] != [mem] or np.any(getattr(nodes[syn], "v_leak", 0) != 0)):
        return None
    if (syn is None and feeds != ins) or set(nodes) != {ins[0], outs[0], t, mem, *resets, *([syn] if syn else [])}:
        return None
    alpha, gain, bias = membrane(mem, nodes[mem], st)
    theta = f64(nodes[t].threshold)
    reset = "none"
    if resets:
        W = nodes[resets[0]]
        if not isinstance(W, nir.Linear) or pred[resets[0]] != [t] or succ[resets[0]] != [mem]:
            return None
        W = f64(W.weight)
        if W.ndim != 2 or W.shape != (theta.size, theta.size) or np.any(gain == 0) or np.any(W != np.diag(np.diag(W))):
            return None
        if not np.allclose(np.diag(W), -alpha * theta / gain, rtol=1e-9, atol=1e-12):
            return None
        reset = "subtract"
    # a synapse LI i' = a·i' + g·I is g times snnc's i, so g folds into the membrane gain
    syn_ab = membrane(syn, nodes[syn], st)[:2] if syn is not None else None
    return _hinted(spiking(t, alpha, gain, bias, theta, st, reset, syn_ab), sg)  # reset is never snntorch here


# -- flattening: subgraphs inlined, wires (pass-throughs, Delay) contracted ----------

def _flatten(ng: Any, prefix: str, st: Settings, top: bool, nodes: dict, edges: list) -> None:
    """Collect nodes (NIR nodes, snnc primitives from templates, ('wire', delay)) and edges, inlining subgraphs."""
    nir = require_nir()
    ports: dict[str, tuple[str, str]] = {}  # subgraph name -> (its inner input, its inner output)
    for k, n in ng.nodes.items():
        name = prefix + k
        if isinstance(n, nir.NIRGraph):
            prim = _template(n, st)
            if prim is not None:
                nodes[name] = prim
                continue
            ins = [a for a, v in n.nodes.items() if isinstance(v, nir.Input)]
            outs = [a for a, v in n.nodes.items() if isinstance(v, nir.Output)]
            if len(ins) != 1 or len(outs) != 1:
                raise SnncError(f"NIR subgraph '{name}': {len(ins)} Input and {len(outs)} Output nodes; snnc inlines "
                                "subgraphs with exactly one of each (they say where the outer edges attach)")
            ports[name] = (f"{name}.{ins[0]}", f"{name}.{outs[0]}")
            _flatten(n, name + ".", st, False, nodes, edges)
        elif isinstance(n, nir.Delay):
            d = f64(n.delay).reshape(-1) / st.dt
            if d.size == 0 or np.any(d != d[0]) or abs(d[0] - round(d[0])) > 1e-9 or d[0] < 0:
                raise SnncError(f"NIR node '{name}' (Delay): delays {f64(n.delay).reshape(-1)[:4]} are not one whole "
                                f"number of steps of dt={st.dt}")
            nodes[name] = ("wire", int(round(d[0])))
        elif (not top and isinstance(n, (nir.Input, nir.Output))) or isinstance(n, nir.Flatten):
            nodes[name] = ("wire", 0)  # snnc's values are flat already: a Flatten moves nothing
        else:
            nodes[name] = n
    for s, d in ng.edges:
        s, d = prefix + str(s), prefix + str(d)
        edges.append((ports.get(s, (s, s))[1], ports.get(d, (d, d))[0]))


def _contract(nodes: dict, edges: list) -> list[list]:
    """Edges between real nodes as [src, dst, delay], walking through wires (pass-throughs and Delay nodes)."""
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    for s, d in edges:
        for end in (s, d):
            if end not in nodes:
                raise SnncError(f"NIR edge {s} -> {d}: no node '{end}'")
        succ[s].append(d)
    out = []
    for src, n in nodes.items():
        if isinstance(n, tuple):
            continue
        stack, seen = [(d, 0) for d in succ[src]], set()
        while stack:
            d, delay = stack.pop()
            if isinstance(nodes[d], tuple):
                if (d, delay) not in seen and delay < 10_000:
                    seen.add((d, delay))
                    stack += [(x, delay + nodes[d][1]) for x in succ[d]]
            else:
                out.append([src, d, delay])
    return out


# -- node conversion ---------------------------------------------------------------

def _weight(name: str, W: Any) -> np.ndarray:
    W = f64(W)
    if W.ndim != 2:
        raise SnncError(f"NIR node '{name}': weight of shape {W.shape} is not a matrix [out, in]")
    return W


def _affine(name: str, n: Any) -> Dense:
    W, b = _weight(name, n.weight), f64(n.bias).reshape(-1)
    if b.shape != (W.shape[0],):
        raise SnncError(f"NIR node '{name}' (Affine): bias of shape {f64(n.bias).shape} does not match weight {W.shape}")
    return Dense(W, b)


def _shape_size(name: str, shape: Any) -> int:
    s = np.asarray(shape).reshape(-1)
    if s.size == 0 or s.dtype.kind not in "iuf" or np.any(s < 1) or np.any(s != np.round(s)):
        raise SnncError(f"NIR node '{name}' (Input): shape {tuple(s.tolist())} is not a list of positive sizes")
    n = math.prod(int(v) for v in s)  # Python ints: no int64 wrap-around on a crafted shape
    if n > limits.get("neurons"):
        raise SnncError(f"NIR node '{name}' (Input): {n:,} features, above the limit of {limits.get('neurons'):,} "
                        "(raise it with --limit neurons=N or SNNC_MAX_NEURONS)")
    return n


def convert(name: str, n: Any, st: Settings, fed: tuple | None = None) -> Primitive | Fragment:
    """The IR primitive (or fragment) of one NIR node fed a value of shape `fed`; unsupported nodes name themselves."""
    nir = require_nir()
    if isinstance(n, Primitive):
        return n
    if isinstance(n, (nir.Conv1d, nir.Conv2d, nir.SumPool2d, nir.AvgPool2d)):
        return convert_conv(name, n, fed)
    if isinstance(n, nir.Input):
        kind = _meta(n).get("kind")
        return Input(_shape_size(name, n.input_type["input"]), kind if isinstance(kind, str) and kind in ("spike", "graded")
                     else "graded")
    if isinstance(n, nir.Affine):
        return _affine(name, n)
    if isinstance(n, nir.Linear):
        return Dense.of(_weight(name, n.weight))
    if isinstance(n, nir.Scale):
        return Dense.of(np.diag(f64(n.scale).reshape(-1)))
    rule = rules().get(type(n))
    if rule is None:
        raise SnncError(f"NIR node '{name}' ({type(n).__name__}) has no snnc counterpart; supported: Input, Output, "
                        "Affine, Linear, Scale, Conv1d, Conv2d, SumPool2d, AvgPool2d, Flatten, LI, I, LIF, IF, CubaLIF, "
                        "CubaLI, Threshold after LI/I, Delay, subgraphs")
    out = rule(name, n, st)
    return _hinted(out, n) if isinstance(out, Primitive) else out


def _fuse_thresholds(nodes: dict, edges: list, st: Settings) -> list:
    """A Threshold after a membrane that feeds nothing else is one LIF with reset none, named after the Threshold."""
    nir = require_nir()
    for t, n in list(nodes.items()):
        if not isinstance(n, nir.Threshold):
            continue
        ins = [e for e in edges if e[1] == t]
        m = ins[0][0] if len(ins) == 1 and ins[0][2] == 0 else None
        if m is None or not isinstance(nodes[m], (nir.LI, nir.I)) or any(e[0] == m and e[1] != t for e in edges):
            raise SnncError(f"NIR node '{t}' (Threshold): snnc supports a Threshold only right after an LI or I node "
                            "that feeds nothing else")
        alpha, gain, bias = membrane(m, nodes[m], st)
        nodes[t] = _hinted(spiking(t, alpha, gain, bias, f64(n.threshold), st, "none"), n)
        nodes[m] = ("fused", t)
        edges = [[t if s == m else s, d, dl] for s, d, dl in edges if not (s == m and d == t)]
        edges = [[s, t if d == m else d, dl] for s, d, dl in edges]
    return edges


def from_nir(ng: Any, dt: float | None = None, discretization: str = "euler", convention: str = "nir",
             reset: str | None = None) -> Graph:
    """The IR graph of NIR graph `ng`; dt from the argument, the file's metadata or the convention."""
    nir = require_nir()
    st = settings(ng, dt, discretization, convention, reset)
    nodes: dict[str, Any] = {}
    raw: list = []
    _flatten(ng, "", st, True, nodes, raw)
    edges = _contract(nodes, raw)
    shp = shapes(nodes, edges)  # before neurons are flattened: a conv after a neuron needs its (C, H, W)
    size_neurons(nodes, (*rules(), nir.Threshold), shp)
    edges = _fuse_thresholds(nodes, edges, st)
    fed = {d: shp.get(s) for s, d, _ in reversed(edges)}
    g = Graph(meta={"dt": st.dt, "source": "nir", "nir_discretization": st.method, "nir_convention": st.convention,
                    "nir_reset": st.reset})
    outputs, entry, exit_, inner = [], {}, {}, []
    for name, n in nodes.items():
        if isinstance(n, tuple):
            continue
        if isinstance(n, nir.Output):
            outputs.append(name)
            continue
        try:
            prim = convert(name, n, st, fed.get(name))
        except PrimitiveError as e:
            raise SnncError(f"NIR node '{name}' ({type(n).__name__}): {e}") from None
        if isinstance(prim, Fragment):
            for suffix, p in prim.nodes.items():
                g.add(name + suffix, p)
            inner += [[name + s, name + d, delay] for s, d, delay in prim.edges]
            entry[name], exit_[name] = name + prim.entry, name + prim.exit
        else:
            g.add(name, prim)
    for o in outputs:
        srcs = [e for e in edges if e[1] == o]
        if len(srcs) != 1 or srcs[0][2] != 0:
            raise SnncError(f"NIR node '{o}' (Output): expected one undelayed source, got {len(srcs)}")
        g.outputs.append(exit_.get(srcs[0][0], srcs[0][0]))
    edges = inner + [[exit_.get(s, s), entry.get(d, d), dl] for s, d, dl in edges if d not in outputs]
    spiking_nodes = {k for k, p in g.nodes.items() if p.out_kind == SPIKE}
    for s, d, delay in break_cycles(list(g.nodes), edges, spiking_nodes):
        g.connect(s, d, "in", delay)
    _restore_order(g, _meta(ng).get("order"))
    return g


def node_problems(ng: Any, st: Settings) -> dict[str, str]:
    """Why snnc cannot compile each node that it cannot, by flattened name, each converted in the graph's context."""
    nir = require_nir()
    nodes: dict[str, Any] = {}
    raw: list = []
    try:
        _flatten(ng, "", st, True, nodes, raw)
        edges = _contract(nodes, raw)
        shp = shapes(nodes, edges)
        size_neurons(nodes, (*rules(), nir.Threshold), shp)
    except SnncError as e:
        return {"": str(e)}
    fed = {d: shp.get(s) for s, d, _ in reversed(edges)}
    out = {}
    for name, n in nodes.items():
        if isinstance(n, (tuple, nir.Output, nir.Threshold)):
            continue
        try:
            convert(name, n, st, fed.get(name))
        except (SnncError, PrimitiveError) as e:
            out[name] = str(e).split("): ", 1)[-1]
    return out


def _restore_order(g: Graph, order: Any) -> None:
    """HDF5 lists nodes alphabetically; snnc's exporter keeps the graph's own order in metadata."""
    try:
        order = json.loads(order.decode() if isinstance(order, bytes) else order) if order is not None else None
    except (TypeError, ValueError):
        return
    if isinstance(order, list) and sorted(order) == sorted(g.nodes):
        g.nodes = {k: g.nodes[k] for k in order}
        g.inputs = [k for k in order if k in g.inputs]


def read_nir(path: str | Path, dt: float | None = None, discretization: str = "euler", convention: str = "nir",
             reset: str | None = None) -> Graph:
    """Read a .nir file into a verified IR graph; every problem is one line naming the file and the node or edge."""
    require_nir()
    from snnc.compiler.verify import verify
    from snnc.frontends.nir_file import read_nir_graph

    p = Path(path)
    ng = read_nir_graph(p)
    try:
        g = verify(from_nir(ng, dt, discretization, convention, reset))
    except FileFormatError:
        raise
    except SnncError as e:
        raise (GraphError if isinstance(e, GraphError) else SnncError)(f"{p}: {e}") from None
    g.meta["source"] = f"nir:{p.name}"
    return g


def to_nir(graph: Graph, dt: float | None = None, discretization: str = "euler") -> Any:
    """IR -> nir.NIRGraph; export lives in frontends/nir_export.py (imported here when called: it imports this module)."""
    from snnc.frontends import nir_export
    return nir_export.to_nir(graph, dt, discretization)


def write_nir(graph: Graph, path: str | Path, dt: float | None = None, discretization: str = "euler") -> Any:
    """to_nir, then write the NIR file (frontends/nir_export.py)."""
    from snnc.frontends import nir_export
    return nir_export.write_nir(graph, path, dt, discretization)
