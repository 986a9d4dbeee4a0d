"""A readable text listing of a Graph and a Graphviz DOT export."""
from __future__ import annotations

import numpy as np

from snnc.compiler.ir import Graph, Primitive


def _summary(a: np.ndarray) -> str:
    if a.size == 0:
        return f"{a.dtype}[0]"
    shape = "x".join(map(str, a.shape)) or "scalar"
    if a.dtype.kind == "b":
        return f"{shape} bool"
    lo, hi = a.min(), a.max()
    if lo == hi:
        return f"{shape} all={lo:.6g}" if a.dtype.kind == "f" else f"{shape} all={lo}"
    rng = f"[{lo:.4g}, {hi:.4g}]" if a.dtype.kind == "f" else f"[{lo}, {hi}]"
    return f"{shape} {a.dtype} {rng}"


def describe(node: Primitive) -> str:
    """One line of a node's parameters."""
    parts = []
    for k, v in node.params().items():
        parts.append(f"{k}={_summary(v)}" if isinstance(v, np.ndarray) else f"{k}={v!r}")
    return " ".join(parts)


def format_graph(graph: Graph, name: str = "graph") -> str:
    """The text listing: header, nodes in schedule order with shape/kind/params, then edges."""
    meta = graph.meta
    head = [f"{name}: {len(graph.nodes)} nodes, {len(graph.edges)} edges"]
    for k in ("dt", "source", "snnc_version"):
        if k in meta:
            head.append(f"{k}={meta[k]}")
    lines = ["  ".join(head)]
    lines.append("inputs:  " + ", ".join(f"{n}[{graph.nodes[n].size}]" for n in graph.inputs if n in graph.nodes))
    lines.append("outputs: " + ", ".join(f"{n}[{graph.output_size(n)}]" for n in graph.outputs
                                         if graph.output_ref(n)[0] in graph.nodes))
    try:
        order = graph.schedule()
    except Exception:  # a broken graph still prints, in insertion order
        order = list(graph.nodes)
    w = max((len(n) for n in graph.nodes), default=4)
    lines.append("nodes (evaluation order):")
    for n in order:
        node = graph.nodes[n]
        ins = ", ".join(f"{p}[{node.in_size(p)}]" for p in node.ports)
        lines.append(f"  {n:<{w}}  {type(node).__name__:<9} {ins or '-':>10} -> {node.size:<5} {node.out_kind:<6}  {describe(node)}")
        extra = meta.get("node_meta", {}).get(n)
        if extra:
            lines.append(f"  {'':<{w}}  meta: " + ", ".join(f"{k}={v}" for k, v in extra.items()))
    lines.append("edges:")
    for e in graph.edges:
        lines.append(f"  {e}")
    if meta.get("passes"):
        from snnc.compiler.pipeline import report  # what each pass did: formats, errors, placement
        lines.append("passes:")
        lines += ["  " + line for line in report(graph).splitlines()]
    return "\n".join(lines)


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: Graph, name: str = "snnc") -> str:
    """Graphviz DOT: one box per node (type, size, kind), delayed edges dashed and labelled."""
    shapes = {"Input": "invhouse", "Dense": "box"}
    lines = [f"digraph {_q(name)} {{", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    for n, node in graph.nodes.items():
        t = type(node).__name__
        label = f"{n}\n{t} [{node.size}] {node.out_kind}"
        shape = shapes.get(t, "ellipse")
        extra = ", peripheries=2" if n in graph.outputs else ""
        lines.append(f"  {_q(n)} [label={_q(label)}, shape={shape}{extra}];")
    for e in graph.edges:
        attrs = []
        if e.port != "in":
            attrs.append(f"headlabel={_q(e.port)}")
        if e.delay:
            attrs += ["style=dashed", f"label={_q(f'z^-{e.delay}')}"]
        lines.append(f"  {_q(e.src)} -> {_q(e.dst)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"
