"""The `onnx` target: the artifact is an `.onnx` ModelProto, executed by onnxruntime.

Options: "opset" (int, default 17), "onnx_mode" ("loop" | "step"), "dtype"
("float32" | "float64"), "progress" (bool), "activity" ("spikes" | "all" | "none"),
"threads" (onnxruntime intra-op threads).

The artifact carries its IR graph: metadata_props key `snnc.graph` holds the
graph's .snn file (compiler/serialize.py), base64-encoded, so `load_graph(path)`
(and with it `snnc report m.onnx`) gets back the exact graph the model was
lowered from. onnx.checker and onnxruntime ignore metadata, so the model stays
a plain ONNX model; the cost is one extra copy of the weights (+33 %) in the file.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from snnc.compiler.errors import FileFormatError, SnncError
from snnc.compiler.files import atomic_path
from snnc.compiler.ir import Graph

# ops that do one arithmetic operation per output element (the rest move or reshape data)
GRAPH_KEY = "snnc.graph"  # metadata_props key: base64 of the graph's .snn bytes

ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Greater", "Less", "Equal", "NotEqual", "Where", "Sigmoid", "Tanh",
               "Relu", "Exp", "Neg", "Abs", "Max", "Min", "Clip", "Not", "And", "Or", "Pow", "Sqrt", "Cast"}


def _require() -> None:
    """One clear error when the onnx extra is not installed (e.g. in the Lava environment)."""
    import importlib.util

    for pkg in ("onnx", "onnxruntime"):
        if importlib.util.find_spec(pkg) is None:
            raise SnncError(f"target 'onnx' needs the Python package '{pkg}', which is not installed; run 'make setup'")


def _lower(graph: Graph, options: dict):
    _require()
    from snnc.backends.onnx.lower import lower

    return lower(graph, opset=options.get("opset") or 17, mode=options.get("onnx_mode") or "loop",
                 dtype=options.get("dtype") or "float32", activity=options.get("activity") or "spikes")


def compile_artifact(graph: Graph, out: Path, options: dict) -> str:
    import onnx

    model = _lower(graph, options)
    embed_graph(model, graph)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as e:  # a backend bug, but say so in one line
        raise SnncError(f"onnx backend produced an invalid model: {' '.join(str(e).split())}") from None
    with atomic_path(out) as tmp:
        onnx.save(model, str(tmp))
    body = _step_graph(model)
    mode = options.get("onnx_mode") or "loop"
    return (f"wrote {out} ({len(model.graph.node)} ONNX nodes, {len(body.node)} per step, opset "
            f"{model.opset_import[0].version}, {mode} mode, target onnx)")


def embed_graph(model, graph: Graph) -> None:
    """Store `graph` in `model` (metadata key snnc.graph, base64 .snn bytes), replacing an earlier copy."""
    import base64

    from snnc.compiler.serialize import to_bytes

    for i in reversed(range(len(model.metadata_props))):
        if model.metadata_props[i].key == GRAPH_KEY:
            del model.metadata_props[i]
    prop = model.metadata_props.add()
    prop.key, prop.value = GRAPH_KEY, base64.b64encode(to_bytes(graph)).decode("ascii")


def load_graph(path: Path) -> Graph:
    """The IR graph embedded in an snnc ONNX model (metadata key snnc.graph)."""
    meta = {p.key: p.value for p in _load(path).metadata_props}
    return embedded_graph(meta, path)


def embedded_graph(meta: dict, path) -> Graph:
    """The IR graph in an snnc ONNX model's metadata (verified like a .snn file)."""
    import base64
    import binascii

    from snnc.compiler.serialize import from_bytes

    if GRAPH_KEY not in meta:
        raise FileFormatError(f"{path}: the ONNX model carries no snnc graph (metadata '{GRAPH_KEY}'); "
                              "recompile it with this snnc, or use the .snn graph")
    try:
        data = base64.b64decode(meta[GRAPH_KEY], validate=True)
    except (binascii.Error, ValueError) as e:
        raise FileFormatError(f"{path}: metadata '{GRAPH_KEY}' is not valid base64 ({e})") from None
    return from_bytes(data, where=f"{path} (metadata {GRAPH_KEY})", verified=True)


def run_graph(graph: Graph, x, options: dict):
    """Lower and run; nodes in options["record"] become extra scanned outputs, returned as activity traces."""
    from snnc.runtime.onnx.runtime import OnnxRuntime

    record = [n for n in options.get("record") or [] if n in graph.nodes]
    probes = [n for n in record if n not in graph.outputs]
    g = graph
    if probes:  # probes are plain graph outputs of the lowered model: whole [T, B, n] sequences, measured
        g = graph.copy()
        g.outputs = list(graph.outputs) + probes
    rt = OnnxRuntime(_lower(g, options), threads=options.get("threads"), where="onnx model",
                     noise_seed=options.get("noise_seed", 0))
    outs, act = rt.run(x, progress=options.get("progress", False))
    for n in record:
        act.traces.setdefault(n, {})["out"] = outs.pop(n) if n in probes else outs[n]
    return outs, act


def run_artifact(path: Path, x, options: dict):
    _require()
    from snnc.runtime.onnx.runtime import OnnxRuntime

    model = _load(path)
    rt = OnnxRuntime(model, threads=options.get("threads"), where=str(path), noise_seed=options.get("noise_seed", 0))
    return rt.run(x, progress=options.get("progress", False))


def _load(path: Path):
    """The ModelProto at `path`, validated (check_artifact) before anything uses it."""
    _require()
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception as e:  # protobuf's DecodeError and friends
        raise FileFormatError(f"{path}: not a readable ONNX model ({' '.join(str(e).split())[:300]})") from None
    from snnc.backends.onnx.artifact import check_artifact
    check_artifact(model, str(path))
    return model


def _step_graph(model):
    """The graph that runs once per time step: the Loop body, or the whole step model."""
    for n in model.graph.node:
        if n.op_type == "Loop":
            return next(a.g for a in n.attribute if a.name == "body")
    return model.graph


def op_counts(model) -> dict[str, tuple[int, int]]:
    """Static per step and sample: op type -> (ONNX nodes, MACs for MatMul / element ops otherwise)."""
    from onnx import shape_inference

    model = shape_inference.infer_shapes(model)
    body = _step_graph(model)
    inits = {i.name: tuple(i.dims) for i in model.graph.initializer}
    shapes: dict[str, list] = {}
    for v in list(body.input) + list(body.output) + list(body.value_info):
        shapes[v.name] = [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]

    def per_sample(name: str) -> int:
        # batch (and any other symbolic) dims are left out: the count is per sample
        return int(np.prod([d for d in shapes.get(name, []) if d is not None]))

    out: dict[str, tuple[int, int]] = {}
    for n in body.node:
        nodes, work = out.get(n.op_type, (0, 0))
        if n.op_type == "MatMul" and n.input[1] in inits:
            work += int(np.prod(inits[n.input[1]]))
        elif n.op_type in ELEMENTWISE:
            work += per_sample(n.output[0])
        elif n.op_type.startswith("Reduce"):
            work += per_sample(n.input[0])
        out[n.op_type] = (nodes + 1, work)
    return out


def inspect_artifact(path: Path, options: dict) -> str:
    model = _load(path)
    meta = {p.key: p.value for p in model.metadata_props}
    mode = meta.get("snnc.mode", "not an snnc model")
    body = _step_graph(model)

    def shape(v) -> str:
        return "[" + ", ".join(d.dim_param or str(d.dim_value) for d in v.type.tensor_type.shape.dim) + "]"

    n_params = sum(int(np.prod(i.dims)) for i in model.graph.initializer)
    lines = [f"{Path(path).name}: {mode} model, opset {model.opset_import[0].version}, IR version {model.ir_version}, "
             f"dtype {meta.get('snnc.dtype', '?')}, producer {model.producer_name or '?'}",
             "inputs:  " + ", ".join(f"{v.name} {shape(v)}" for v in model.graph.input),
             "outputs: " + ", ".join(f"{v.name} {shape(v)}" for v in model.graph.output),
             f"ONNX nodes: {len(model.graph.node)} in the main graph" + (f", {len(body.node)} in the loop body (per step, independent of T)"
                                                                       if body is not model.graph else ""),
             f"initializers: {len(model.graph.initializer)} ({n_params:,} values)",
             f"IR graph: {'embedded' if GRAPH_KEY in meta else 'not embedded'} (metadata {GRAPH_KEY}; used by snnc report)"]
    counts = op_counts(model)
    lines.append("per step and sample (static, from the ONNX step graph):")
    lines.append(f"  {'op':<12}{'nodes':>7}{'work':>14}")
    macs = elem = 0
    for op, (k, w) in sorted(counts.items(), key=lambda kv: -kv[1][1]):
        unit = "MACs" if op == "MatMul" else ("element ops" if op in ELEMENTWISE or op.startswith("Reduce") else "")
        lines.append(f"  {op:<12}{k:>7}{w:>14,} {unit}".rstrip())
        macs += w if op == "MatMul" else 0
        elem += w if op != "MatMul" else 0
    lines.append(f"  total: {macs:,} MACs, {elem:,} elementwise/reduce ops per sample-step")
    states = json.loads(meta.get("snnc.states", "[]"))  # check_artifact validated it
    if states:
        lines.append(f"states ({len(states)}): " + ", ".join(f"{s['input']}[{', '.join(map(str, s['shape']))}]" for s in states))
    return "\n".join(lines)


def is_artifact(path: Path) -> bool:
    path = Path(path)
    if path.suffix == ".onnx":
        return True
    if path.suffix in (".snn", ".npz", ".npy", ".pt", ".nir") or not path.is_file():
        return False
    try:  # an ONNX model under another name: it must parse and carry snnc metadata
        import onnx
        return any(p.key == "snnc.mode" for p in onnx.load(str(path), load_external_data=False).metadata_props)
    except Exception:
        return False
