"""`verify(graph)`: check names, shapes, kinds, parameters and causality; errors name the fault."""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir import ANY, PRIMITIVES, Graph, Primitive


def find_zero_delay_cycle(graph: Graph) -> list[str]:
    """One cycle made only of zero-delay edges, as a list of node names ([] if none).

    A depth-first search by hand: networkx costs a few tenths of a second to import, at every process start.
    """
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        if e.delay == 0 and e.src in graph.nodes and e.dst in graph.nodes:
            succ[e.src].append(e.dst)
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    for root in graph.nodes:
        if root in state:
            continue
        path, its = [root], [iter(succ[root])]
        state[root] = 1
        while path:
            nxt = next(its[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                its.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                its.append(iter(succ[nxt]))
    return []


def _check_params(name: str, node: Primitive) -> None:
    for f in node.array_fields():
        a = getattr(node, f)
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            bad = np.argwhere(~np.isfinite(a))[0]
            what = "NaN" if np.isnan(a[tuple(bad)]) else "inf"
            raise GraphError(f"node '{name}' ({type(node).__name__}): parameter '{f}' has {what} at index {tuple(int(i) for i in bad)}")


# per-step decays of the float neurons (DESIGN §3): a factor above 1 makes a state grow, below 0 oscillate, and 0 is
# exp(-dt/tau) of a time constant tau <= 0 (a memoryless neuron only by accident). LTC's decays are gates computed
# each step (always in (0, 1)) and the Loihi integer decays du/dv/dr are checked by their own 12-bit ranges.
DECAYS = {"LIF": ("alpha",), "CubaLIF": ("alpha_syn", "alpha_mem"), "ALIF": ("alpha", "rho"), "LI": ("alpha",),
          "CubaLI": ("alpha_syn", "alpha_mem"), "AHP": ("alpha", "alpha_aux"), "SPSN": ("alpha", "beta")}
OPT_OUT = "--limit check_decays=0 or SNNC_MAX_CHECK_DECAYS=0 accepts it"


def check_decays(name: str, node: Primitive) -> None:
    """Decay factors in (0, 1] (1: no leak), unless the limit check_decays is 0."""
    from snnc.compiler import limits

    if not limits.get("check_decays"):
        return
    for f in DECAYS.get(type(node).__name__, ()):
        a = np.asarray(getattr(node, f), dtype=np.float64)
        if f == "alpha_syn" and np.all(a == 0):
            continue  # i = I in every neuron: no synaptic time constant, the bias form of LIF/LI (NIR's v_leak)
        bad = np.argwhere(~((a > 0) & (a <= 1)))
        if bad.size:
            i = tuple(int(k) for k in bad[0])
            raise GraphError(f"node '{name}' ({type(node).__name__}): decay '{f}' must lie in (0, 1], got {float(a[i])} "
                             f"at index {', '.join(map(str, i))}; a time constant <= 0 gives such a decay ({OPT_OUT})")


def check_time_constants(where: str | None, **taus) -> None:
    """Time constants (tensors or arrays, in steps or seconds) must be finite and > 0; `where` prefixes the error."""
    from snnc.compiler import limits

    if not limits.get("check_decays"):
        return
    for k, t in taus.items():
        if t is None:
            continue
        a = np.asarray(t.detach().cpu().numpy() if hasattr(t, "detach") else t, dtype=np.float64)
        bad = np.argwhere(~(np.isfinite(a) & (a > 0)))
        if bad.size:
            i = tuple(int(j) for j in bad[0])
            raise GraphError((f"{where}: " if where else "") + f"time constant '{k}' must be positive and finite, "
                             f"got {float(a[i])}" + (f" at index {', '.join(map(str, i))}" if i else "")
                             + f" ({OPT_OUT})")


def verify(graph: Graph) -> Graph:
    """Raise GraphError naming the first fault; return the graph unchanged when it is well formed."""
    if not graph.nodes:
        raise GraphError("graph has no nodes")
    for name, node in graph.nodes.items():
        if not isinstance(name, str) or not name:
            raise GraphError(f"invalid node name {name!r}")
        if not isinstance(node, Primitive) or type(node).__name__ not in PRIMITIVES:
            raise GraphError(f"node '{name}': {type(node).__name__} is not a registered primitive")
        _check_params(name, node)
        check_decays(name, node)
    if not graph.inputs:
        raise GraphError("graph has no inputs")
    for n in graph.inputs:
        if n not in graph.nodes:
            raise GraphError(f"graph input '{n}' is an unknown node")
        if type(graph.nodes[n]).__name__ != "Input":
            raise GraphError(f"graph input '{n}' is a {type(graph.nodes[n]).__name__}, not an Input node")
    stray = [n for n, v in graph.nodes.items() if type(v).__name__ == "Input" and n not in graph.inputs]
    if stray:
        raise GraphError(f"Input node '{stray[0]}' is not listed among the graph inputs")
    if not graph.outputs:
        raise GraphError("graph has no outputs")
    for n in graph.outputs:
        graph.output_ref(n)  # a node, or `node.state` for one of its states
    if len(set(graph.outputs)) != len(graph.outputs):
        raise GraphError(f"graph outputs list an output twice: {graph.outputs}")

    seen = set()
    for e in graph.edges:
        for end in (e.src, e.dst):
            if end not in graph.nodes:
                raise GraphError(f"edge {e}: unknown node '{end}' (dangling edge)")
        if not isinstance(e.delay, (int, np.integer)) or e.delay < 0:
            raise GraphError(f"edge {e}: delay must be a non-negative integer, got {e.delay!r}")
        from snnc.compiler import limits
        if e.delay > limits.get("delay"):
            raise GraphError(f"edge {e}: delay {e.delay:,} is above the limit of {limits.get('delay'):,} steps "
                             "(raise it with --limit delay=N or SNNC_MAX_DELAY)")
        src, dst = graph.nodes[e.src], graph.nodes[e.dst]
        if e.port not in dst.ports:
            ports = ", ".join(dst.ports) or "none"
            raise GraphError(f"edge {e}: {type(dst).__name__} '{e.dst}' has no port '{e.port}' (ports: {ports})")
        want = dst.in_size(e.port)
        if src.size != want:
            raise GraphError(f"edge {e}: shape ({src.size},) != ({want},) expected by {type(dst).__name__} '{e.dst}' port '{e.port}'")
        accepts = dst.ports[e.port]
        if accepts != ANY and src.out_kind != accepts:
            raise GraphError(f"edge {e}: kind mismatch: '{e.src}' emits {src.out_kind} values but "
                             f"{type(dst).__name__} '{e.dst}' port '{e.port}' takes {accepts}")
        key = (e.src, e.dst, e.port, e.delay)
        if key in seen:
            raise GraphError(f"edge {e} appears twice")
        seen.add(key)

    for name, node in graph.nodes.items():
        for port in node.ports:
            if not graph.in_edges(name, port):
                raise GraphError(f"node '{name}' ({type(node).__name__}): port '{port}' has no incoming edge (dangling input)")

    cyc = find_zero_delay_cycle(graph)
    if cyc:
        raise GraphError("zero-delay cycle (algebraic loop): " + " -> ".join(cyc + cyc[:1])
                         + "; give one edge of the cycle a delay >= 1")
    return graph
