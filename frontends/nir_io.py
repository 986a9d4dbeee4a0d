"""NIR interoperability: `from_nir(nir_graph, dt) -> Graph` and `to_nir(graph, dt) -> nir.NIRGraph`.

NIR (neuroir.org) states neurons as continuous-time ODEs and leaves discretization
to each simulator. snnc's convention, with dt the step, r and v_leak as in NIR:

- decay: alpha = 1 − dt/tau (forward Euler, the default: what snnTorch and Norse
  use for NIR) or alpha = exp(−dt/tau) (`discretization="exact"`, zero-order hold,
  as snnc's own layers); tau = inf is alpha = 1.
- LI / LIF: v = alpha·v + (1 − alpha)·(R·I + v_leak), so gain = (1 − alpha)·R and
  v_leak is a bias (1 − alpha)·v_leak (LIF with v_leak ≠ 0 imports as CubaLIF with
  alpha_syn = 0, the IR's LIF with a bias). I / IF: v = v + dt·R·I (alpha 1, gain dt·R).
- CubaLIF: i = alpha_syn·i + w_in·I (an input is a jump of the current, as snnTorch's
  Synaptic and Norse do), then v as LIF with this step's i.
- spikes: s = H(v − v_threshold), strict; NIR resets to v_reset, and only v_reset = 0
  (snnc reset "zero") exists in snnc. snnc's resets "none" and "subtract" export as a
  subgraph named after the neuron: [synapse LI ->] membrane LI (or I) -> Threshold,
  and for "subtract" a Linear diag(−alpha·theta/gain) from the Threshold back into the
  membrane: v' = alpha·v' + gain·(I − alpha·theta/gain·s⁻) is exactly the pre-reset
  membrane of v − theta·s, so any NIR simulator gets the same spikes. Import knows
  that subgraph by its shape and numbers (not its name) and rebuilds the neuron.
- delays: NIR edges carry none. Every cycle gets one delay-1 edge: the edge leaving
  the cycle's spiking neuron (the first by name if several), i.e. a neuron's
  spike of step t−1 reaches its recurrent synapses at t — s⁻ of DESIGN §3, snnTorch's
  RLeaky/RSynaptic and snnc's traced graphs. Other delays are nir.Delay nodes of d·dt.
- initial states: NIR has none; exported neurons must start at zero.
- metadata: to_nir stores each node's exact snnc parameters under metadata["snnc"];
  from_nir takes them only where they agree (rtol 1e-9) with the values derived from
  the NIR fields, so the fields alone define the model and IR -> NIR -> IR is exact.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from snnc.compiler.errors import FileFormatError, GraphError, SnncError
from snnc.compiler.ir import SPIKE, Graph, Primitive
from snnc.compiler.primitives import LI, LIF, CubaLIF, Dense, Input

DISCRETIZATIONS = ("euler", "exact")
HINT = "snnc"  # metadata key of the exact snnc parameters


def require_nir():
    """The nir module, or one clear error saying how to install it."""
    try:
        import nir
    except ModuleNotFoundError:
        raise SnncError("NIR support needs the Python package 'nir', which is not installed; "
                        "pip install 'snnc[nir]' or run 'make setup'") from None
    return nir


def _f(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def decay(tau: Any, dt: float, method: str) -> np.ndarray:
    """alpha for time constant tau: 1 − dt/tau (euler) or exp(−dt/tau) (exact)."""
    with np.errstate(divide="ignore"):
        return 1.0 - dt / _f(tau) if method == "euler" else np.exp(-dt / _f(tau))


def time_constant(alpha: Any, dt: float, method: str) -> np.ndarray:
    """The inverse of `decay`; alpha = 1 gives tau = inf."""
    a = _f(alpha)
    with np.errstate(divide="ignore"):
        tau = dt / (1.0 - a) if method == "euler" else dt / -np.log(a)
    return np.where(a == 1.0, np.inf, tau)


def _hint(nnode: Any, key: str, derived: np.ndarray) -> np.ndarray:
    """The exact snnc value stored in metadata when it agrees with the value derived from NIR fields."""
    h = (getattr(nnode, "metadata", None) or {}).get(HINT)
    if isinstance(h, dict) and key in h:
        v = np.asarray(h[key])
        if v.shape == np.shape(derived) and v.dtype.kind in "fiu" and np.allclose(v, derived, rtol=1e-9, atol=1e-12):
            return v.astype(np.float64)
    return derived


def _str_hint(nnode: Any, key: str, default: str, allowed: tuple[str, ...]) -> str:
    h = (getattr(nnode, "metadata", None) or {}).get(HINT)
    v = h.get(key) if isinstance(h, dict) else None
    v = v.decode() if isinstance(v, bytes) else v
    return v if v in allowed else default


# -- import: NIR -> IR -------------------------------------------------------------

def _membrane(name: str, n: Any, dt: float, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alpha, gain, bias) of an NIR LI, LIF, I or IF membrane."""
    nir = require_nir()
    r = _f(n.r)
    if isinstance(n, (nir.I, nir.IF)):
        alpha, gain, bias = np.ones_like(r), dt * r, np.zeros_like(r)
    else:
        alpha = decay(n.tau, dt, method)
        gain, bias = (1.0 - alpha) * r, (1.0 - alpha) * _f(n.v_leak)
    return _hint(n, "alpha", alpha), _hint(n, "gain", gain), _hint(n, "bias", bias)


def _zero_reset(name: str, n: Any) -> None:
    if np.any(_f(n.v_reset) != 0):
        raise SnncError(f"NIR node '{name}' ({type(n).__name__}): v_reset != 0 has no snnc counterpart (reset to zero only)")


def _spiking(alpha, gain, bias, theta, reset: str) -> Primitive:
    """LIF, or CubaLIF with alpha_syn = 0 (i = I) when the membrane has a bias."""
    if np.any(bias != 0):
        return CubaLIF(np.zeros_like(alpha), alpha, gain, theta, bias, reset)
    return LIF(alpha, gain, theta, reset)


def _imp_li(name, n, dt, method):
    alpha, gain, bias = _membrane(name, n, dt, method)
    if np.any(bias != 0):
        raise SnncError(f"NIR node '{name}' ({type(n).__name__}): v_leak != 0 on a leaky integrator has no snnc counterpart")
    return LI(alpha, gain)


def _imp_lif(name, n, dt, method):
    _zero_reset(name, n)
    alpha, gain, bias = _membrane(name, n, dt, method)
    return _spiking(alpha, gain, bias, _hint(n, "theta", _f(n.v_threshold)), "zero")


def _imp_cuba(name, n, dt, method):
    _zero_reset(name, n)
    a_syn = _hint(n, "alpha_syn", decay(n.tau_syn, dt, method))
    a_mem = _hint(n, "alpha", decay(n.tau_mem, dt, method))
    gain = _hint(n, "gain", (1.0 - a_mem) * _f(n.r) * _f(n.w_in))
    bias = _hint(n, "bias", (1.0 - a_mem) * _f(n.v_leak))
    return CubaLIF(a_syn, a_mem, gain, _hint(n, "theta", _f(n.v_threshold)), bias, "zero")


def _weight(name: str, W: Any) -> np.ndarray:
    W = _f(W)
    if W.ndim != 2:
        raise SnncError(f"NIR node '{name}': weight of shape {W.shape} is not a matrix [out, in]; only 1-D signals are supported")
    return W


def _import_rules() -> dict[type, Callable[..., Primitive]]:
    nir = require_nir()
    return {
        nir.Affine: lambda name, n, dt, m: Dense(_weight(name, n.weight), _f(n.bias)),
        nir.Linear: lambda name, n, dt, m: Dense.of(_weight(name, n.weight)),
        nir.Scale: lambda name, n, dt, m: Dense.of(np.diag(_f(n.scale).reshape(-1))),
        nir.LI: _imp_li, nir.I: _imp_li,
        nir.LIF: _imp_lif, nir.IF: _imp_lif,
        nir.CubaLIF: _imp_cuba,
    }


def _template(sg: Any, dt: float, method: str) -> Primitive | None:
    """The snnc neuron of an exported reset-none/subtract subgraph, or None if `sg` is not one."""
    nir = require_nir()
    nodes, edges = sg.nodes, [tuple(e) for e in sg.edges]
    pred = {k: [s for s, d in edges if d == k] for k in nodes}
    succ = {k: [d for s, d in edges if s == k] for k in nodes}
    kinds = lambda t: [k for k, v in nodes.items() if isinstance(v, t)]  # noqa: E731
    ins, outs, thr = kinds(nir.Input), kinds(nir.Output), kinds(nir.Threshold)
    if not (len(ins) == len(outs) == len(thr) == 1) or pred[thr[0]][:1] == [] or len(pred[thr[0]]) != 1:
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
    if syn is None and feeds != ins:
        return None
    if set(nodes) != {ins[0], outs[0], t, mem, *resets, *([syn] if syn else [])}:
        return None
    alpha, gain, bias = _membrane(mem, nodes[mem], dt, method)
    theta = _hint(sg, "theta", _f(nodes[t].threshold))
    reset = "none"
    if resets:
        W = nodes[resets[0]]
        if not isinstance(W, nir.Linear) or pred[resets[0]] != [t] or succ[resets[0]] != [mem]:
            return None
        W = _f(W.weight)
        if W.ndim != 2 or np.any(gain == 0) or np.any(W != np.diag(np.diag(W))):
            return None
        if not np.allclose(np.diag(W), -alpha * theta / gain, rtol=1e-9, atol=1e-12):
            return None
        reset = "subtract"
    alpha, gain, bias = _hint(sg, "alpha", alpha), _hint(sg, "gain", gain), _hint(sg, "bias", bias)
    if syn is None:
        return _spiking(alpha, gain, bias, theta, reset)
    a_syn, g_syn, _ = _membrane(syn, nodes[syn], dt, method)
    # i' = a_syn·i' + g_syn·I is g_syn times snnc's i, so g_syn folds into the membrane gain
    return CubaLIF(_hint(sg, "alpha_syn", a_syn), alpha, _hint(sg, "cuba_gain", gain * g_syn), theta, bias, reset)


def _flatten(ng: Any, prefix: str, dt: float, method: str, top: bool, nodes: dict, edges: list) -> None:
    """Collect nodes (NIR nodes, snnc primitives from templates, ('wire', delay)) and edges, inlining subgraphs."""
    nir = require_nir()
    ports: dict[str, tuple[str, str]] = {}  # subgraph name -> (its inner input, its inner output)
    for k, n in ng.nodes.items():
        name = prefix + k
        if isinstance(n, nir.NIRGraph):
            prim = _template(n, dt, method)
            if prim is not None:
                nodes[name] = prim
                continue
            ins, outs = list(n.inputs), list(n.outputs)
            if len(ins) != 1 or len(outs) != 1:
                raise SnncError(f"NIR subgraph '{name}': {len(ins)} inputs and {len(outs)} outputs; snnc inlines subgraphs with one of each")
            ports[name] = (f"{name}.{ins[0]}", f"{name}.{outs[0]}")
            _flatten(n, name + ".", dt, method, False, nodes, edges)
        elif isinstance(n, nir.Delay):
            d = _f(n.delay).reshape(-1) / dt
            if d.size == 0 or np.any(d != d[0]) or abs(d[0] - round(d[0])) > 1e-9 or d[0] < 0:
                raise SnncError(f"NIR node '{name}' (Delay): delays {_f(n.delay).reshape(-1)[:4]} are not one whole number of steps of dt={dt}")
            nodes[name] = ("wire", int(round(d[0])))
        elif not top and isinstance(n, (nir.Input, nir.Output)):
            nodes[name] = ("wire", 0)
        else:
            nodes[name] = n
    for s, d in ng.edges:
        s, d = prefix + str(s), prefix + str(d)
        edges.append((ports.get(s, (s, s))[1], ports.get(d, (d, d))[0]))


def _contract(nodes: dict, edges: list) -> list[list]:
    """Edges between real nodes as [src, dst, delay], walking through wires (pass-throughs and Delay nodes)."""
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    for s, d in edges:
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


def break_cycles(order: list[str], edges: list[list], spiking: set[str]) -> list[list]:
    """Give one edge of each zero-delay cycle delay 1: the edge leaving the cycle's spiking node first by name.

    By name, not by position: NIR's HDF5 files list nodes alphabetically, so the
    rule must not depend on the order a graph was built in.
    """
    order = sorted(order)
    rank = {n: i for i, n in enumerate(order)}
    edges = [list(e) for e in edges]
    while True:
        cyc = _find_cycle(order, edges)
        if not cyc:
            return edges
        spk = [i for i in cyc if edges[i][0] in spiking]
        if not spk:
            path = " -> ".join([edges[i][0] for i in cyc] + [edges[cyc[0]][0]])
            raise GraphError(f"NIR graph: cycle {path} has no spiking neuron to carry its one-step delay (an algebraic loop)")
        edges[min(spk, key=lambda i: rank[edges[i][0]])][2] = 1


def _find_cycle(order: list[str], edges: list[list]) -> list[int]:
    """Indices of the edges of one zero-delay cycle ([] if none), searching in node order."""
    out: dict[str, list[int]] = {n: [] for n in order}
    for i, (s, d, delay) in enumerate(edges):
        if delay == 0:
            out[s].append(i)
    color, stack_edges = dict.fromkeys(order, 0), []
    for root in order:
        if color[root]:
            continue
        color[root], it = 1, [(root, iter(out[root]))]
        while it:
            node, rest = it[-1]
            i = next(rest, None)
            if i is None:
                color[node] = 2
                it.pop()
                if stack_edges:
                    stack_edges.pop()
                continue
            d = edges[i][1]
            if color[d] == 1:  # back edge: the cycle is the path from d to here plus this edge
                path = stack_edges + [i]
                start = next(k for k, j in enumerate(path) if edges[j][0] == d)
                return path[start:]
            if color[d] == 0:
                color[d] = 1
                stack_edges.append(i)
                it.append((d, iter(out[d])))
    return []


def from_nir(ng: Any, dt: float | None = None, discretization: str = "euler") -> Graph:
    """The IR graph of NIR graph `ng` at time step `dt` (default: the dt snnc's exporter stored, else 1.0)."""
    nir = require_nir()
    if discretization not in DISCRETIZATIONS:
        raise SnncError(f"NIR discretization must be one of {', '.join(DISCRETIZATIONS)}, got {discretization!r}")
    gmeta = ng.metadata.get(HINT, {}) if isinstance(ng.metadata, dict) else {}
    if dt is None:
        dt = float(gmeta["dt"]) if isinstance(gmeta, dict) and "dt" in gmeta else 1.0
    if not dt > 0:
        raise SnncError(f"NIR import: dt must be positive, got {dt}")
    nodes: dict[str, Any] = {}
    raw: list = []
    _flatten(ng, "", dt, discretization, True, nodes, raw)
    edges = _contract(nodes, raw)
    prims: dict[str, Primitive] = {}
    rules = _import_rules()
    # a Threshold after a membrane that feeds nothing else is one LIF with reset none
    for t, n in nodes.items():
        if not isinstance(n, nir.Threshold):
            continue
        ins = [e for e in edges if e[1] == t]
        m = ins[0][0] if len(ins) == 1 and ins[0][2] == 0 else None
        if m is None or not isinstance(nodes[m], (nir.LI, nir.I)) or any(e[0] == m and e[1] != t for e in edges):
            raise SnncError(f"NIR node '{t}' (Threshold): snnc supports a Threshold only right after an LI or I node that feeds nothing else")
        alpha, gain, bias = _membrane(m, nodes[m], dt, discretization)
        prims[t] = _spiking(alpha, gain, bias, _hint(n, "theta", _f(n.threshold)), "none")
        nodes[m] = ("fused", t)
        edges = [[t if s == m else s, d, dl] for s, d, dl in edges if not (s == m and d == t)]
        edges = [[s, t if d == m else d, dl] for s, d, dl in edges]
    g = Graph(meta={"dt": dt, "source": "nir", "nir_discretization": discretization})
    outputs = []
    for name, n in nodes.items():
        if isinstance(n, tuple) and n[0] == "fused":
            continue
        if name in prims or isinstance(n, Primitive):
            g.add(name, prims.get(name, n))
        elif isinstance(n, nir.Input):
            shape = np.asarray(n.input_type["input"]).reshape(-1)
            if shape.size != 1:
                raise SnncError(f"NIR node '{name}' (Input): shape {tuple(shape)} is not 1-D; snnc takes [T, B, features] inputs")
            g.add(name, Input(int(shape[0]), _str_hint(n, "kind", "graded", ("spike", "graded"))))
        elif isinstance(n, nir.Output):
            outputs.append(name)
        elif type(n) in rules:
            g.add(name, rules[type(n)](name, n, dt, discretization))
        elif not isinstance(n, tuple):
            raise SnncError(f"NIR node '{name}' ({type(n).__name__}) has no snnc counterpart; supported: "
                            "Input, Output, Affine, Linear, Scale, LI, I, LIF, IF, CubaLIF, Threshold after LI/I, Delay, subgraphs")
    for o in outputs:
        srcs = [e for e in edges if e[1] == o]
        if len(srcs) != 1 or srcs[0][2] != 0:
            raise SnncError(f"NIR node '{o}' (Output): expected one undelayed source, got {len(srcs)}")
        g.outputs.append(srcs[0][0])
    edges = [e for e in edges if e[1] not in outputs]
    spiking = {k for k, p in g.nodes.items() if p.out_kind == SPIKE}
    for s, d, delay in break_cycles(list(g.nodes), edges, spiking):
        g.connect(s, d, "in", delay)
    order = gmeta.get("order") if isinstance(gmeta, dict) else None
    try:  # HDF5 lists nodes alphabetically; snnc's exporter keeps the graph's own order in metadata
        order = json.loads(order.decode() if isinstance(order, bytes) else order) if order is not None else None
    except (TypeError, ValueError):
        order = None
    if isinstance(order, list) and sorted(order) == sorted(g.nodes):
        g.nodes = {k: g.nodes[k] for k in order}
        g.inputs = [k for k in order if k in g.inputs]
    return g


def read_nir(path: str | Path, dt: float | None = None, discretization: str = "euler") -> Graph:
    """Read a .nir file into a verified IR graph; unreadable files give one line naming the file."""
    nir = require_nir()
    p = Path(path)
    if not p.exists():
        raise FileFormatError(f"{p}: no such file")
    ng, msg = None, ""
    for type_check in (True, False):  # nir's type inference rejects some valid older files; snnc's verify checks shapes
        try:
            ng = nir.read(str(p), type_check=type_check)
            break
        except Exception as e:  # h5py and nir raise many types (OSError, KeyError, ValueError, AssertionError)
            msg = msg or (str(e).splitlines()[0] if str(e) else type(e).__name__)  # the type-checked read says most
    if ng is None:
        raise FileFormatError(f"{p}: not a readable NIR file ({msg})")
    from snnc.compiler.verify import verify
    g = from_nir(ng, dt, discretization)
    g.meta["source"] = f"nir:{p.name}"
    return verify(g)


from snnc.frontends.nir_export import to_nir, write_nir  # noqa: E402,F401  (export lives beside, to keep files short)
