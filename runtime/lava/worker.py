"""Runs a Lava network description inside the Lava environment (.venv-lava):

    python -m snnc.runtime.lava.worker DESC_DIR IN.npz OUT.npz

IN.npz holds `x/<input>` arrays [T, B, F] and `options` (JSON: record, tag); OUT.npz
gets `y/<output>` [T, B, n] and the Activity arrays under `act/`. A batch runs as
block-diagonal copies of the network (Lava Sparse weights, chunked to bound memory). Every run
stops its processes in `finally`. Failures end with one `snnc-lava-error:` line.

The worker dies with the snnc process that started it: the runner puts it in a
process group of its own, and here a parent-death signal (prctl) plus a watchdog
thread polling the parent pid remove the run's temporary directories
($SNNC_LAVA_CLEANUP) and kill the whole group, Lava's processes included, when
snnc is gone (SIGKILL too) or sends SIGTERM/SIGHUP.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np

from snnc.compiler.activity import Activity

MAX_WEIGHTS = 1 << 24  # stored weights of the largest (sparse) block-diagonal matrix per chunk, ~200 MB as CSR


class Built:
    """The Lava processes of one batch chunk and what to read back after the run."""

    def __init__(self, doc: dict, arrays: dict, xs: dict[str, np.ndarray], total: int, record: set[str]):
        from lava.proc.dense.process import Dense
        from lava.proc.io import source
        from lava.proc.lif.process import LIF
        from lava.proc.sparse.process import Sparse
        from scipy.sparse import block_diag
        from lava.utils.weightutils import SignMode

        from snnc.backends.lava.procs import Delay
        from snnc.backends.lava.procs.sink import FileMonitor, FileSink

        self.doc, self.total = doc, total
        B = next(iter(xs.values())).shape[1]
        self.B, self.fixed = B, doc["mode"] == "fixed"

        def val(v, n=None):
            a = np.asarray(arrays[v["array"]]) if isinstance(v, dict) else np.asarray(v)
            return np.tile(a, B) if n is not None and a.ndim == 1 and a.shape[0] == n else a

        self.procs, self.stages = {}, []
        noise = {sp["params"].get("noise_input") for sp in doc["procs"].values()} - {None}
        for name, sp in doc["procs"].items():
            kind, n, P = sp["kind"], sp["size"], sp["params"]
            shape = (B * n,)
            if kind == "source":
                x = xs[sp["node"]]
                data = np.zeros((total, B * n))
                data[: x.shape[0]] = x.reshape(x.shape[0], B * n)
                if "encode" in P:  # the input encoder x·2^q of a fixed-point graph, on the host (truncated below)
                    data = data * val(P["encode"], n)
                if self.fixed and sp["node"] in noise:  # fixed-point SPSN reads uniform u as floor(u·2^16)
                    from snnc.compiler.fixedpoint import noise_int
                    data = noise_int(data)
                p = source.RingBuffer(data=np.trunc(data).T if self.fixed else data.T)
            elif kind == "bias":
                data = np.zeros((total, B * n))
                data[P["start"]:] = val(P["values"], n)
                p = source.RingBuffer(data=data.T)
            elif kind == "dense":
                # one sample: Lava's Dense; a batch: Lava's Sparse holding the block diagonal, so the cost
                # per step grows with B (a dense block diagonal grows with B², and is mostly zeros)
                W = val(P["weights"]) if B == 1 else block_diag([val(P["weights"])] * B, format="csr")
                kw = dict(weights=W.astype(np.int32) if self.fixed else W, num_message_bits=P["num_message_bits"])
                if self.fixed:
                    kw.update(weight_exp=P["weight_exp"], num_weight_bits=P["num_weight_bits"],
                              sign_mode=SignMode[P["sign_mode"].upper()])
                p = (Dense if B == 1 else Sparse)(**kw, name=name)
            elif kind == "lif":
                if not isinstance(sp.get("t_start", 0), int) or not 0 <= sp.get("t_start", 0) <= total:
                    raise ValueError(f"process '{name}': t_start {sp.get('t_start')!r} outside [0, {total}]")
                init = {k: val(P[k], n) for k in ("bias_mant", "u", "v")}
                if sp.get("t_start", 0) > 0 and any(np.any(a) for a in init.values()):
                    self.stages.append((sp["t_start"], name, init))  # set when its step 0 begins
                    init = {k: np.zeros(shape) for k in init}
                per = {k: val(P[k], n) if isinstance(P[k], dict) else P[k] for k in ("du", "dv", "vth")}  # per-neuron
                p = LIF(shape=shape, bias_exp=val(P["bias_exp"], n), name=name, **per, **init)
            elif kind == "step":  # any primitive without a native Lava object runs its own step
                from snnc.backends.lava.procs.step import make
                p = make(name, sp, val, B)
            elif kind == "delay":
                p = Delay(shape=shape, delay=P["delay"], name=name)
            else:
                raise ValueError(f"process '{name}': unknown kind '{kind}' in the description")
            self.procs[name] = p
        for s, sport, d, dport in doc["conns"]:
            getattr(self.procs[s], sport).connect(getattr(self.procs[d], dport))
        self.sinks, self.monitors = {}, {}
        for node, t in doc["taps"].items():
            if "proc" not in t:
                continue
            # FileSink saves its buffer to a file: Lava's Var.get() sends one element per message
            snk = FileSink(shape=(B * t["size"],), buffer=total, path=str(Path.cwd() / f"sink{len(self.sinks)}.npy"))
            getattr(self.procs[t["proc"]], t["port"]).connect(snk.a_in)
            self.sinks[node] = snk
            if node in record:
                for var, (lvar, _) in t.get("states", {}).items():
                    lvar = lvar.split(":")[0]  # "state:j": row j of NodeStep's packed Var `state`
                    self.monitors[(node, var)] = FileMonitor(target=getattr(self.procs[t["proc"]], lvar), num_steps=total,
                                                             path=str(Path.cwd() / f"state{len(self.monitors)}.npy"))

    def run(self, tag: str) -> None:
        """Run all steps (pausing where retimed Lava LIFs get their bias and initial state); stop in finally."""
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi2SimCfg

        cfg = Loihi2SimCfg(select_tag=tag)
        anchor = next(iter(self.sinks.values()), None) or next(iter(self.procs.values()))
        done = 0
        try:
            for t_start, name, init in sorted(self.stages, key=lambda s: s[0]):
                if t_start > done:
                    anchor.run(condition=RunSteps(num_steps=t_start - done), run_cfg=cfg)
                    done = t_start
                for k, a in init.items():
                    getattr(self.procs[name], k).set(a)
            anchor.run(condition=RunSteps(num_steps=self.total - done), run_cfg=cfg)
            self.results = {n: np.load(s.proc_params["path"]).T for n, s in self.sinks.items()}  # [total, B*n]
            self.states = {k: np.load(m.proc_params["path"]) for k, m in self.monitors.items()}
        finally:
            anchor.stop()


def run(desc: Path, xs: dict[str, np.ndarray], options: dict) -> dict[str, np.ndarray]:
    """Run the description on inputs {name: [T, B, F]}; returns the arrays of OUT.npz."""
    doc = json.loads((desc / "network.json").read_text())
    with np.load(desc / "weights.npz", allow_pickle=False) as z:
        arrays = dict(z)
    T, B = next(iter(xs.values())).shape[:2]
    lat = max(doc["latency"].values(), default=0)
    total = T + lat
    record = set(options.get("record") or [])
    taps = doc["taps"]
    # state outputs `node.v`: the node's state is recorded and returned as that output
    state_outs = {o: tuple(o.rsplit(".", 1)) for o in doc["outputs"] if o not in taps}
    record |= {n for n, _ in state_outs.values()}
    biggest = max((arrays[p["params"]["weights"]["array"]].size for p in doc["procs"].values() if p["kind"] == "dense"),
                  default=1)
    chunk = max(1, min(B, MAX_WEIGHTS // max(1, biggest)))  # sparse block diagonals grow linearly with the chunk
    tag = "fixed_pt" if doc["mode"] == "fixed" else "floating_pt"
    outs = {n: [] for n in taps}
    traces: dict[tuple[str, str], list] = {}
    for b0 in range(0, B, chunk):
        part = {k: v[:, b0:b0 + chunk] for k, v in xs.items()}
        Bc = next(iter(part.values())).shape[1]
        built = Built(doc, arrays, part, total, record)
        built.run(tag)
        for n, t in taps.items():
            L, size = t["latency"], t["size"]
            if "input" in t:
                y = part[t["input"]].astype(float)
            else:
                y = built.results[n][L:L + T].reshape(T, Bc, size)
                if "scale" in t:
                    y = y / arrays[t["scale"]["array"]]
                if "bias" in t:
                    y = y + arrays[t["bias"]["array"]]
            outs[n].append(y)
        for (n, var), a in built.states.items():
            L, size = taps[n]["latency"], taps[n]["size"]
            lvar, sc = taps[n]["states"][var]
            row = lvar.split(":")[1:]  # a row of NodeStep's packed state Var [k, B·n]
            y = (a[:, int(row[0])] if row else a)[L:L + T].reshape(T, Bc, size)
            if sc is not None:
                y = y / arrays[sc["array"]]
            traces.setdefault((n, var), []).append(y)
    full = {n: np.concatenate(v, axis=1) for n, v in outs.items()}
    act = Activity(T, B)
    for n, y in full.items():
        act.nonzero[n] = np.count_nonzero(y, axis=2).astype(np.int64)
        act.kinds[n], act.sizes[n] = taps[n]["kind"], taps[n]["size"]
    for (n, var), v in traces.items():
        a = np.concatenate(v, axis=1)
        act.traces.setdefault(n, {})[var] = a.astype(np.int64) if doc["mode"] == "fixed" else a
    for n in record:
        if n in full:
            y = full[n]
            act.traces.setdefault(n, {})["out"] = y.astype(np.int64) if doc["mode"] == "fixed" else y
    res = {f"y/{o}": full[o] if o in full else act.traces[state_outs[o][0]][state_outs[o][1]] for o in doc["outputs"]}
    res.update({f"act/{k}": v for k, v in act.to_arrays().items()})
    res["latency"] = np.array(lat)
    return res


CLEANUP_VAR = "SNNC_LAVA_CLEANUP"  # os.pathsep-separated temp dirs of this run (runner.py sets it)
PR_SET_PDEATHSIG = 1


def _cleanup_dirs() -> list[Path]:
    out = []
    for d in filter(None, os.environ.get(CLEANUP_VAR, "").split(os.pathsep)):
        p = Path(d).resolve()
        if p.is_dir() and p.name.startswith("snnc-lava-"):  # never anything but snnc's own temp dirs
            out.append(p)
    return out


def guard_parent() -> None:
    """Remove the run's temp dirs and kill this process group when the parent dies or sends SIGTERM/SIGHUP."""
    import shutil

    parent, me, dirs = os.getppid(), os.getpid(), _cleanup_dirs()

    def die(signum=None, frame=None) -> None:
        if os.getpid() != me:  # a Lava process forked from the worker: plain default handling
            signal.signal(signum or signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signum or signal.SIGTERM)
            return
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
        os.killpg(os.getpgrp(), signal.SIGKILL)

    signal.signal(signal.SIGTERM, die)
    signal.signal(signal.SIGHUP, die)
    try:  # Linux: the kernel sends SIGTERM when the parent exits, even by SIGKILL
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the watchdog below still notices

    def watch() -> None:
        import time
        while True:
            if os.getppid() != parent:
                die()
            time.sleep(0.25)

    if os.getppid() != parent or parent == 1:
        die()
    threading.Thread(target=watch, name="snnc-parent-watchdog", daemon=True).start()


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m snnc.runtime.lava.worker DESC_DIR IN.npz OUT.npz", file=sys.stderr)
        return 2
    desc, inp, out = Path(argv[0]), Path(argv[1]), Path(argv[2])
    guard_parent()
    try:
        with np.load(inp, allow_pickle=False) as z:
            xs = {k[2:]: z[k] for k in z.files if k.startswith("x/")}
            options = json.loads(str(z["options"])) if "options" in z.files else {}
        res = run(desc, xs, options)
        with open(out, "wb") as f:
            np.savez(f, **res)
    except Exception as e:  # reported to the main environment as one line
        import traceback
        traceback.print_exc()
        msg = " ".join(f"{type(e).__name__}: {e}".split())
        print(f"snnc-lava-error: {msg[:500]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
