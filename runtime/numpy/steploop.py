"""The step loop of one recurrent stage of run() as one generated function: the nodes' traced steps inlined.

It does what the plain loop over node plans does, without the Python between the ops: at each step t the
stage's nodes in order; a port's input is the sum of its edges in edge order (a delay-d edge delivers the
source's output from step t−d and nothing before step d; a port no edge has reached yet gets zeros, an
unwired port None); each output is written into the node's [T, B, n] buffer, and a later node of the same
step reads it back from there. A traced node (backends/numpy/lower.py trace_step) keeps its states in
locals between steps, written back into its state dict when the loop ends; a node that cannot be traced
(fixed point) calls its kernel on its state dict as before.

An elementwise node's per-neuron constants [n] (its parameters, and values folded from them) are tiled to
[B, n] once: a ufunc on two [B, n] operands costs about half of one broadcasting an [n] (ALIF at batch 64,
12 ops: 24 -> ~15 µs a step). The ops that take such a constant with a value are exact IEEE operations
(add, mul, div, comparisons, where, clip): every element is computed as before, bit for bit.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

# (buffer index, kernel, params, ports ((port, size, ((src index, delay), ...)), ...), Trace or None,
#  the node's size when its step is elementwise (its [n] constants are tiled) else None)
Entry = tuple


def build(entries: list[Entry], B: int, name: str = "stage") -> Callable:
    """fn(T, B, bufs, states, dtype) stepping the stage's nodes over T at batch B; `states[j]`: entry j's states.

    The generated source is fn.source; fn.inlined and fn.tiled list the entries inlined and those whose
    constants were tiled.
    """
    env: dict = {"zeros": np.zeros, "copy": np.array}
    lines: list[str] = []
    used = sorted({k for k, *_ in entries} | {s for e in entries for _, _, srcs in e[3] for s, _ in srcs})
    head = [f"b{k} = bufs[{k}]" for k in used] + [f"st{j} = states[{j}]" for j in range(len(entries))]
    load, save, inlined, tiled = [], [], [], []
    for j, (k, kernel, params, ports, tr, n) in enumerate(entries):
        if tr is not None and set(tr.inputs) != {port for port, _, _ in ports}:
            tr = None  # (the kernel was traced with other ports: it runs as it is)
        names = tr.inputs if tr is not None else {port: f"n{j}_in{i}" for i, (port, _, _) in enumerate(ports)}
        for port, size, srcs in ports:
            lines += _port_sum(names[port], size, srcs)
        if tr is None:
            env[f"kern{j}"], env[f"par{j}"] = kernel, params
            args = ", ".join(f"{port!r}: {names[port]}" for port, _, _ in ports)
            lines.append(f"b{k}[t] = kern{j}(par{j}, st{j}, {{{args}}})")
            continue
        env.update(tr.env if n is None else {c: _tiled(v, n, B) for c, v in tr.env.items()})
        inlined.append(j)
        if n is not None:
            tiled.append(j)
        load += [f"{v} = st{j}[{s!r}]" for s, v in tr.states.items()]
        # (copies: a state may be a tiled constant or a view of a buffer, which nothing outside may write into)
        save += [f"st{j}[{s!r}] = copy({v})" for s, v in tr.states.items()]
        lines += tr.lines
        lines.append(f"b{k}[t] = {tr.out}")  # before the states move on: the output may be an old state
        if tr.new:
            lines.append(f"{', '.join(tr.states[s] for s in tr.new)} = {', '.join(tr.new.values())}")
    src = ("def stage(T, B, bufs, states, dtype):\n" + "".join(f"    {s}\n" for s in head + load)
           + "    try:\n        for t in range(T):\n" + "".join(f"            {s}\n" for s in lines)
           + "    finally:\n" + "".join(f"        {s}\n" for s in save or ["pass"]))
    exec(compile(src, f"<snnc step loop of {name}>", "exec"), env)
    fn = env["stage"]
    fn.source, fn.inlined, fn.tiled = src, inlined, tiled  # (what runs, for a reader and the tests)
    return fn


def _port_sum(x: str, size: int, srcs: tuple) -> list[str]:
    """Lines setting local `x` to a port's summed input at step t, edge by edge in edge order."""
    if not srcs:
        return [f"{x} = None"]
    out, known, maybe = [], False, False  # known: x holds a value at every t; maybe: at some t
    for s, d in srcs:
        v = f"b{s}[t]" if d == 0 else f"b{s}[t - {d}]"
        if known:
            new = f"{x} = {x} + {v}"
        elif maybe:
            new = f"{x} = {v} if {x} is None else {x} + {v}"
        else:
            new = f"{x} = {v}"
        if d == 0:
            out.append(new)
            known = True
        elif known or maybe:
            out.append(f"if t >= {d}: {new}")
        else:
            out.append(f"{x} = {v} if t >= {d} else None")
            maybe = True
    if not known:
        out.append(f"if {x} is None: {x} = zeros((B, {size}), dtype)")
    return out


def _tiled(c, n: int, B: int):
    """A per-neuron constant [n] as [B, n] (anything else as it is)."""
    if isinstance(c, np.ndarray) and c.shape == (n,):
        return np.ascontiguousarray(np.broadcast_to(c, (B, n)))
    return c


def node_loop(tr, given: list[str], name: str = "node") -> Callable:
    """fn(t0, T, rows, xrows, out, st) stepping one traced node (a Trace) over steps t0..T−1 on its own.

    The states in `given` are read at each step from rows[state][t] (their sequences, e.g. scanned), the
    others carried in locals from st and written back into st at the end; inputs are xrows[port][t] and
    outputs go into out[t]. (runtime/numpy/parallel.py steps a neuron's non-linear rest this way.)
    """
    head = ([f"r{i} = rows[{s!r}]" for i, s in enumerate(given)] + [f"{v} = st[{s!r}]" for s, v in tr.states.items()
                                                                   if s not in given]
            + [f"xr{i} = xrows[{p!r}]" for i, p in enumerate(tr.inputs)])
    body = ([f"{tr.states[s]} = r{i}[t]" for i, s in enumerate(given)]
            + [f"{v} = xr{i}[t]" for i, v in enumerate(tr.inputs.values())] + tr.lines + [f"out[t] = {tr.out}"])
    carried = [s for s in tr.new if s not in given]
    if carried:
        body.append(f"{', '.join(tr.states[s] for s in carried)} = {', '.join(tr.new[s] for s in carried)}")
    save = [f"st[{s!r}] = {tr.states[s]}" for s in carried]
    src = ("def loop(t0, T, rows, xrows, out, st):\n" + "".join(f"    {s}\n" for s in head)
           + "    for t in range(t0, T):\n" + "".join(f"        {s}\n" for s in body)
           + "".join(f"    {s}\n" for s in save))
    env = dict(tr.env)
    exec(compile(src, f"<snnc node loop of {name}>", "exec"), env)
    fn = env["loop"]
    fn.source = src
    return fn
