"""The benchmark's peers: each a ready `call()` (one whole sequence, or T single-step calls) and its output."""
from __future__ import annotations

import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from report import CPU, CPU_NODE_MAJOR, CPU_STEPWISE, NUMPY_STAGED, NUMPY_STEPWISE


@dataclass
class Peer:
    call: Callable[[], object] | None = None
    output: np.ndarray | None = None  # [T, B, O] of the first graph output
    error: str | None = None  # why the peer did not run (printed, never hidden)
    setup_s: float = 0.0  # compile / build time
    note: str = ""
    checked: bool = True  # False: not the reference model (no output comparison, no ratio)
    extra: dict = field(default_factory=dict)


def _peer(build: Callable[[], Peer]) -> Peer:
    t0 = time.perf_counter()
    try:
        p = build()
    except Exception as e:  # a missing optional engine is reported in the table, not hidden
        last = traceback.extract_tb(e.__traceback__)[-1]
        return Peer(error=f"{type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''} "
                          f"({last.filename.rsplit('/', 1)[-1]}:{last.lineno})")
    p.setup_s = p.setup_s or time.perf_counter() - t0
    return p


def build_peers(arch: str, cfg: dict, x: np.ndarray, mode: str, skip: list[str],
                compile_torch: bool = False) -> tuple[dict[str, Peer], dict]:
    import torch

    from snnc.frontends import trace, zoo

    module, full = zoo.build(arch, cfg)
    module.eval()
    T, B, F = x.shape
    xt = torch.from_numpy(x)
    t0 = time.perf_counter()
    graph = trace(module, xt[:4, :1])
    trace_s = time.perf_counter() - t0
    out = graph.outputs[0]
    with torch.no_grad():
        ref = module(xt).numpy()
    stream = mode == "stream"
    peers: dict[str, Peer] = {}

    def add(name: str, build: Callable[[], Peer]) -> None:
        if not any(s.lower() in name.lower() for s in skip):
            peers[name] = _peer(build)

    # -- PyTorch ---------------------------------------------------------------
    def zoo_module() -> Peer:
        def call():
            with torch.no_grad():
                return module(xt)
        return Peer(call, call().numpy())
    if not stream:
        add("PyTorch eager, zoo module", zoo_module)

    def torch_loop() -> Callable[[], Peer]:
        def build() -> Peer:
            from engines import torch_stepper
            init, step = torch_stepper(graph)
            xs = [{graph.inputs[0]: xt[t]} for t in range(T)]

            def call():
                with torch.no_grad():
                    st, ys = init(B), []
                    for t in range(T):
                        st, y = step(st, xs[t])
                        ys.append(y[out])
                    return torch.stack(ys)
            return Peer(call, call().numpy())
        return build
    add("PyTorch eager, minimal loop" + (" (step calls)" if stream else ""), torch_loop())

    def compiled_module() -> Peer:
        cm = torch.compile(module)

        def call():
            with torch.no_grad():
                return cm(xt)
        t0 = time.perf_counter()
        y = call().numpy()
        return Peer(call, y, setup_s=time.perf_counter() - t0)
    if not stream and compile_torch:
        add("torch.compile (zoo module, whole loop)", compiled_module)

    # -- JAX --------------------------------------------------------------------
    def jax_scan() -> Peer:
        import jax
        from engines import jax_stepper
        jax.config.update("jax_default_matmul_precision", "highest")  # float32 sums as the reference computes them
        init, step = jax_stepper(graph)
        xj = jax.numpy.asarray(x)
        if stream:
            jstep = jax.jit(step)

            def call():
                st, ys = init(B), []
                for t in range(T):
                    st, y = jstep(st, {graph.inputs[0]: xj[t]})
                    ys.append(y[out])
                return np.stack([np.asarray(v) for v in ys])
        else:
            @jax.jit
            def seq(xj):
                def body(st, xt_):
                    st, y = step(st, {graph.inputs[0]: xt_})
                    return st, y[out]
                return jax.lax.scan(body, init(B), xj)[1]

            def call():
                return seq(xj).block_until_ready()
        t0 = time.perf_counter()
        y = np.asarray(call())
        return Peer(call, y, setup_s=time.perf_counter() - t0)
    add("JAX jit(step)" if stream else "JAX jit(lax.scan)", jax_scan)

    if arch == "srnn" and not stream:
        add("Spyx 1.0 recurrent LIF", lambda: _spyx(full["sizes"], x))

    # -- snnc ---------------------------------------------------------------------
    def runtime_peer(rt) -> Peer:
        """An snnc runtime timed as the mode asks: one call per step (from reset) or one run of the sequence."""
        if stream:
            def call():
                rt.reset(B)
                return np.stack([rt.step(x[t])[out] for t in range(T)])
            return Peer(call, call())
        return Peer(lambda: rt.run(x), rt.run(x)[0][out])

    def onnx_peer() -> Peer:
        from snnc.backends.onnx.lower import lower
        from snnc.runtime.onnx.runtime import OnnxRuntime
        return runtime_peer(OnnxRuntime(lower(graph, mode="step" if stream else "loop", dtype="float32"), threads=1))
    add("onnxruntime (snnc export, step model)" if stream else "onnxruntime (snnc export, Loop)", onnx_peer)

    def numpy_peer() -> Peer:
        from snnc.runtime.numpy.runtime import NumpyRuntime
        return runtime_peer(NumpyRuntime(graph, "float32"))
    add("snnc NumPy runtime", numpy_peer)

    def numpy_variant(parallel_time: bool | None, stepwise: bool = False) -> Callable[[], Peer]:
        """The NumPy runtime with its parallel-in-time choice fixed, or stepwise: every node evaluated at every
        step (one step() call per step, the reference semantics as written)."""
        def build() -> Peer:
            from snnc.runtime.numpy.runtime import NumpyRuntime
            rt = NumpyRuntime(graph, "float32")
            rt.parallel_time = parallel_time
            if not stepwise:
                return Peer(lambda: rt.run(x), rt.run(x)[0][out])

            def call():
                rt.reset(B)
                return np.stack([rt.step(x[t])[out] for t in range(T)])
            return Peer(call, call())
        return build
    from snnc.runtime.numpy import parallel
    if not stream:
        add(NUMPY_STEPWISE, numpy_variant(None, stepwise=True))
        if any(parallel.linear_states(n) or parallel.alone(n) for n in graph.nodes.values()):
            add(NUMPY_STAGED, numpy_variant(False))  # run() with every neuron stepped (Dense whole-sequence)

    cache = tempfile.mkdtemp(prefix="snnc-bench-")
    info = {"desc": f"zoo {arch} {'-'.join(map(str, full.get('sizes', [])))}", "ref": ref, "graph": graph,
            "trace_s": trace_s, "out": out}

    def cpu_peer(aer: bool, loop: bool | None = None) -> Callable[[], Peer]:
        """The cpu backend: its default choice of loop (loop None), or node-major (True) or the stepwise kernel
        (False) forced through parallel_time."""
        def build() -> Peer:
            from snnc.runtime.cpu.runtime import CpuRuntime
            t0 = time.perf_counter()
            rt = CpuRuntime(graph, "float32", threads=1, cache_dir=cache)
            rt.parallel_time = loop
            if loop is None:
                info["lower_s"] = time.perf_counter() - t0
            if stream:
                def call():
                    rt.reset(B)
                    return np.stack([rt.step(x[t])[out] for t in range(T)])
            elif aer:
                events = {graph.inputs[0]: np.nonzero(x)}

                def call():
                    return rt.run_events(events, T, B)[0][out]
            else:
                def call():
                    return rt.run(x)
            t0 = time.perf_counter()
            y = call()
            jit = time.perf_counter() - t0
            if loop:
                if rt.last_path.get("loop") != "staged":
                    raise RuntimeError(f"no stage cut in this graph (last_path {rt.last_path})")
                y = y[0][out]
                prods = rt.last_path.get("products") or {}
                note = ", ".join(f"{n}: {v}" for n, v in prods.items())
                return Peer(call, y, setup_s=jit, note=f"products {note}" if note else "")
            elif loop is None and not aer and not stream:
                info["activity"] = y[1]
                y = y[0][out]
                info["jit_s"] = jit
                return Peer(call, y, setup_s=jit, note=f"{rt.last_path.get('loop')} loop by default")
            elif not aer and not stream:
                y = y[0][out]
            return Peer(call, y, setup_s=jit)
        return build
    add(CPU, cpu_peer(False))
    if not stream and any(parallel.linear_states(n) or parallel.alone(n) for n in graph.nodes.values()):
        add(CPU_STEPWISE, cpu_peer(False, loop=False))
        add(CPU_NODE_MAJOR, cpu_peer(False, loop=True))
    if not stream and graph.nodes[graph.inputs[0]].out_kind == "spike":
        add("snnc cpu (compiled, AER input)", cpu_peer(True))
    return peers, info


def _spyx(sizes: list[int], x: np.ndarray) -> Peer:
    """A recurrent-LIF network of the same sizes in Spyx (its LIF, not snnc's ALIF: timed, not compared)."""
    import jax
    import spyx.nn as snn
    from flax import nnx

    rngs = nnx.Rngs(0)
    layers = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nnx.Linear(a, b, use_bias=False, rngs=rngs), snn.RLIF((b,), rngs=rngs)]
    layers += [nnx.Linear(sizes[-2], sizes[-1], use_bias=False, rngs=rngs), snn.LI((sizes[-1],), rngs=rngs)]
    model = snn.Sequential(*layers)
    graphdef, params = nnx.split(model)
    xj = jax.numpy.asarray(x)

    @jax.jit
    def seq(params, xj):
        return snn.run(nnx.merge(graphdef, params), xj)[0]

    def call():
        return seq(params, xj).block_until_ready()
    t0 = time.perf_counter()
    y = np.asarray(call())
    return Peer(call, y, setup_s=time.perf_counter() - t0, checked=False, note="different neuron (LIF): not compared")
