"""Tables of the benchmark: µs per step, max difference to the reference, ratios against every peer."""
from __future__ import annotations

import numpy as np

CPU = "snnc cpu (compiled)"
NUMPY = "snnc NumPy runtime"
NUMPY_STEPWISE = "snnc NumPy runtime, stepwise"  # step() at every step: the reference semantics as written
NUMPY_STAGED = "snnc NumPy runtime, neurons stepped"  # run(), parallel_time=False: Dense whole-sequence only
CPU_NODE_MAJOR = "snnc cpu, node-major (parallel_time=True)"
CPU_STEPWISE = "snnc cpu, stepwise kernel (parallel_time=False)"


def _tol(ref: np.ndarray) -> float:
    # float32 engines over hundreds of steps: a few ulps of the readout's scale
    return 1e-3 * (1.0 + float(np.abs(ref).max()))


AGREE = 0.999  # or this share of readout entries within tolerance: float32 sums in another order flip a rare spike
# or, after such a flip (its effect on the readout lasts for the rest of the sequence), nearly every per-step
# decision (argmax of the readout) equal and most entries within tolerance: a wrong model fails both
DECIDE, LOOSE = 0.99, 0.95


def _check(y: np.ndarray, ref: np.ndarray) -> tuple[float, float, bool]:
    """(max |Δ|, share of entries within tolerance, accepted)."""
    y = np.asarray(y, np.float64).reshape(ref.shape)
    d = np.abs(y - ref)
    share = float((d <= _tol(ref)).mean())
    if d.max() <= _tol(ref) or share >= AGREE:
        return float(d.max()), share, True
    same = float((y.argmax(-1) == ref.argmax(-1)).mean()) if ref.ndim == 3 and ref.shape[-1] > 1 else 0.0
    return float(d.max()), share, bool(share >= LOOSE and same >= DECIDE)


def print_table(title: str, peers: dict, times: dict, T: int, B: int, info: dict) -> dict[str, tuple[float, bool]]:
    """Print one table; returns {peer: (µs per step, output checked and accepted)} for the markdown summary."""
    ref = info["ref"]
    us = {n: 1e6 * float(np.median(t)) / T for n, t in times.items() if t}
    ok, diffs = {}, {}
    for name, p in peers.items():
        if not p.error:
            diffs[name] = _check(p.output, ref) if p.checked else None
            ok[name] = p.checked and diffs[name][2]
    print(f"\n## {title}")
    print("(snnc cpu is / numpy is: how many times faster than the peer in this row; peak MB: resident-set growth"
          " during one call, 0 when served from memory the process already holds)")
    print(f"{'peer':<48}{'µs/step':>10}{'setup s':>9}{'peak MB':>9}{'max |Δ| vs torch':>24}  {'snnc cpu is':>12}"
          f"  {'numpy is':>9}")
    for name, p in peers.items():
        if p.error:
            print(f"{name:<48}{'—':>10}  did not run: {p.error}")
            continue
        diff = diffs[name]
        d = "not compared" if diff is None else f"{diff[0]:.1e}" + (
            "" if diff[0] <= _tol(ref) else f" ({100 * diff[1]:.2f}% ok)") + ("" if ok[name] else " FAIL")
        vs_cpu = _ratio(us, ok, name, CPU)
        vs_np = _ratio(us, ok, name, NUMPY)
        mem = p.extra.get("peak_mb")
        mem = "" if mem is None else f"{mem:.1f}"
        print(f"{name:<48}{us[name]:>10.1f}{p.setup_s:>9.2f}{mem:>9}{d:>24}  {vs_cpu:>12}  {vs_np:>9}" +
              (f"  ({p.note})" if p.note else ""))
    fastest = min((us[n] for n in us if ok.get(n) and not n.startswith("snnc")), default=None)
    if CPU in us and ok.get(CPU) and fastest:
        print(f"snnc cpu vs the fastest checked peer: {fastest / us[CPU]:.1f}x faster")
    for a, b, what in ((NUMPY, NUMPY_STEPWISE, "NumPy run() vs stepwise (every node every step)"),
                       (NUMPY, NUMPY_STAGED, "NumPy run() vs its neurons stepped (parallel_time=False)"),
                       (CPU_NODE_MAJOR, CPU_STEPWISE, "cpu node-major (parallel_time=True) vs its stepwise kernel")):
        r = _ratio(us, ok, b, a)
        if r:
            print(f"{what}: speed-up {r}")
    if "trace_s" in info:
        times_s = [f"trace {info['trace_s']:.2f} s"]
        if "lower_s" in info:  # the cpu peer ran: its lowering and code generation, then the JIT (reported apart)
            times_s += [f"cpu code generation {info['lower_s']:.2f} s (trace + generation "
                        f"{info['trace_s'] + info['lower_s']:.2f} s)"]
        if "jit_s" in info:
            times_s += [f"cpu JIT compile (first call, cold cache) {info['jit_s']:.1f} s"]
        print(", ".join(times_s))
    return {n: (us[n], bool(ok.get(n))) for n in us}


MODES = {"b1": "batch 1", "stream": "batch 1, one call per step", "b64": "batch 64"}
ZOO = "PyTorch eager, zoo module"
# one row per engine: the streaming mode's peers are the same engines called once per step
ROW = {"PyTorch eager, minimal loop (step calls)": "PyTorch eager, minimal loop",
       "JAX jit(step)": "JAX jit(lax.scan)", "JAX jit(lax.scan)": "JAX jit(lax.scan)",
       "onnxruntime (snnc export, step model)": "onnxruntime (snnc export)",
       "onnxruntime (snnc export, Loop)": "onnxruntime (snnc export)"}
LABEL = {"JAX jit(lax.scan)": "JAX `jit(lax.scan)` / `jit(step)`",
         "onnxruntime (snnc export)": "onnxruntime on snnc's export (Loop / step model)"}


def markdown(results: dict[str, dict[str, dict[str, tuple[float, bool]]]], models: dict[str, str]) -> str:
    """The README tables: per model, µs per step of every peer in every mode (checked outputs only carry
    ratios: a peer whose output was not compared or failed is marked), then the target ratios."""
    lines = []
    for key, modes in results.items():
        modes = {m: {ROW.get(n, n): v for n, v in r.items()} for m, r in modes.items()}
        names = list(dict.fromkeys(n for r in modes.values() for n in r))
        lines += [f"**{models[key]}** (µs per step)", "",
                  "| peer | " + " | ".join(MODES[m] for m in modes) + " |", "|---|" + "---|" * len(modes)]
        for n in names:
            cells = []
            for r in modes.values():
                us, ok = r.get(n, (None, False))
                cells.append("–" if us is None else f"{us:,.1f}" + ("" if ok else " (not compared)"))
            bold = n == CPU
            label = LABEL.get(n, n)
            lines.append(f"| {'**' + label + '**' if bold else label} | " + " | ".join(
                f"**{c}**" if bold and c != "–" else c for c in cells) + " |")
        ratios = []
        for m, r in modes.items():
            peers_ok = [u for n, (u, ok) in r.items() if ok and not n.startswith("snnc")]
            if CPU in r and r[CPU][1] and peers_ok:
                ratios.append(f"cpu vs the fastest checked peer, {MODES[m]}: {min(peers_ok) / r[CPU][0]:.1f}x")
            if NUMPY in r and ZOO in r and r[NUMPY][1]:
                ratios.append(f"NumPy runtime vs the zoo module, {MODES[m]}: {r[ZOO][0] / r[NUMPY][0]:.1f}x")
            for a, b, what in ((NUMPY, NUMPY_STEPWISE, "NumPy run() vs stepwise"),
                               (CPU_NODE_MAJOR, CPU_STEPWISE, "cpu node-major vs its stepwise kernel")):
                if a in r and b in r and r[a][1] and r[b][1]:
                    ratios.append(f"{what}, {MODES[m]}: {r[b][0] / r[a][0]:.1f}x")
        lines += [""] + [f"- {x}" for x in ratios] + [""]
    return "\n".join(lines)


def _ratio(us: dict, ok: dict, name: str, against: str) -> str:
    """How many times faster `against` is than peer `name` ('—' when either output is off or missing)."""
    if name == against or against not in us or name not in us:
        return ""
    if not ok.get(name) or not ok.get(against):
        return "no ratio"
    return f"{us[name] / us[against]:.1f}x"


def lower_bound(info: dict, T: int, B: int) -> str:
    """Synaptic operations per step, dense and event-driven (from the measured activity of the cpu run)."""
    act, g = info.get("activity"), info["graph"]
    if act is None:
        return ""
    dense = event = neurons = 0
    for name, node in g.nodes.items():
        if hasattr(node, "W"):
            n_out, n_in = node.W.shape
            dense += n_out * n_in
            srcs = [e.src for e in g.in_edges(name)]
            event += sum(act.nonzero[s].mean() for s in srcs) * n_out
        elif type(node).__name__ != "Input":
            neurons += node.size
    # the bound: 8 float32 adds per ns (one AVX2 lane-wide add per cycle at 1 GHz, a deliberately low clock)
    return (f"arithmetic per sample-step: dense {dense:,} MACs, event-driven {event:,.0f} adds "
            f"({dense / max(event, 1):.0f}x fewer), {neurons} neuron updates; lower bound at 8 adds/ns: "
            f"dense {dense / 8e3:.2f} µs, event-driven {event / 8e3:.2f} µs per sample-step")
