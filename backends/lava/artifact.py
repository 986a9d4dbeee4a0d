"""Validation of a Lava network directory before it is run or inspected: network.json against a schema,
its format version, process kinds, ports, timing and parameters, and the arrays of weights.npz (sizes, NaN).

A Lava process model that fails inside Lava's runtime can hang the run, so
every value the worker passes to Lava is checked here, in the main
environment, and a malformed description fails at once with one line naming
the file and the process or field at fault.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from snnc.compiler import limits
from snnc.compiler.errors import FileFormatError
from snnc.compiler.schema import Map, Row, check_version, validate

FORMAT, VERSION = "snnc-lava", 1
KINDS = ("source", "bias", "dense", "delay", "lif", "snnc_lif", "alif", "li", "ltc", "ltc_readout", "ahp", "spsn",
         "step")
# the only parameters that are not numbers or arrays (step: the NodeStep's primitive, JSON fields, dtypes, states)
STRINGS = {"reset", "sign_mode", "noise_input", "primitive", "fields", "dtypes", "states"}
INTS = {"delay", "start", "num_message_bits", "num_weight_bits", "weight_exp"}
REQUIRED = {"dense": ("weights", "num_message_bits"), "delay": ("delay",), "bias": ("values", "start"),
            "lif": ("du", "dv", "vth", "bias_mant", "bias_exp", "u", "v"),
            "step": ("primitive", "fields", "dtypes", "states")}
PORT = re.compile(r"[a-z][a-z0-9_]{0,63}$")  # Lava port attributes: a_in, s_out, ... (never a dunder)
ARRAY = {"array": str}
_STATE = Row((str, (ARRAY, type(None))))
SCHEMA = {
    "format": str, "version": object, "mode": str,
    "procs": Map({"kind": str, "size": int, "?node": (str, type(None)), "params": Map((float, str, ARRAY)),
                  "?t_start": int, "?states": Map(_STATE)}),
    "conns": [Row((str, str, str, str))],
    "?inputs": object,
    "taps": Map({"latency": int, "kind": str, "size": int, "?input": str, "?proc": str, "?port": str,
                 "?scale": ARRAY, "?bias": ARRAY, "?states": Map(_STATE)}),
    "outputs": [str], "latency": Map(int),
}


def _arrays(path: Path) -> dict[str, np.ndarray]:
    where = f"{path}/weights.npz"
    try:
        data = (path / "weights.npz").read_bytes()
    except OSError as e:
        raise FileFormatError(f"{where}: cannot read ({e.strerror or e})") from None
    out = {}
    with limits.open_zip(data, where, ".npz archive") as z:
        for m in z.namelist():
            if not m.endswith(".npy"):
                raise FileFormatError(f"{where}: member {m[:80]} is not an .npy array")
            a = limits.parse_npy(limits.read_member(z, m, where), f"{where} array '{m[:-4]}'")
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                raise FileFormatError(f"{where}: array '{m[:-4]}' has NaN or inf values")
            out[m[:-4]] = a
    return out


def check_description(path: Path) -> dict:
    """network.json of the Lava directory `path`, validated together with weights.npz; raise at the first fault."""
    path = Path(path)
    where = f"{path}/network.json"
    if not (path / "network.json").is_file():
        raise FileFormatError(f"{path}: not a Lava network directory (no network.json)")
    doc = limits.read_json(path / "network.json", where)
    if not isinstance(doc, dict):
        raise FileFormatError(f"{where}: expected a JSON object")
    check_version(doc, FORMAT, VERSION, where, "an snnc Lava network")
    for f in ("weights.npz", "graph.snn"):
        if not (path / f).is_file():
            raise FileFormatError(f"{path}: missing {f}")
    validate(doc, SCHEMA, where)
    if doc["mode"] not in ("float", "fixed"):
        raise FileFormatError(f"{where}: mode is {doc['mode'][:40]!r}, expected float or fixed")
    arrays = _arrays(path)
    lat_max = max(doc["latency"].values(), default=0)
    for n, v in doc["latency"].items():
        if v < 0:
            raise FileFormatError(f"{where}: latency.{n}: negative latency {v}")
        limits.check("delay", v, where, f"the latency of '{n}'")
    for name, p in doc["procs"].items():
        _check_proc(name, p, arrays, lat_max, where)
    procs = doc["procs"]
    for i, (s, sp, d, dp) in enumerate(doc["conns"]):
        for proc, port in ((s, sp), (d, dp)):
            if proc not in procs:
                raise FileFormatError(f"{where}: conns[{i}]: unknown process '{proc[:80]}'")
            if not PORT.match(port):
                raise FileFormatError(f"{where}: conns[{i}]: invalid port name {port[:80]!r}")
    for n, t in doc["taps"].items():
        at = f"{where}: taps.{n}"
        if ("input" in t) == ("proc" in t) or ("proc" in t) != ("port" in t):
            raise FileFormatError(f"{at}: needs either 'input' or both 'proc' and 'port'")
        if "proc" in t and (t["proc"] not in procs or not PORT.match(t["port"])):
            raise FileFormatError(f"{at}: unknown process '{t['proc'][:80]}' or invalid port {t['port'][:80]!r}")
        if t["size"] < 1 or t["latency"] < 0 or t["latency"] > lat_max:
            raise FileFormatError(f"{at}: size {t['size']} or latency {t['latency']} out of range")
        for k in ("scale", "bias"):
            if k in t and t[k]["array"] not in arrays:
                raise FileFormatError(f"{at}.{k}: array '{t[k]['array'][:80]}' is not in weights.npz")
        for var, (_, sc) in t.get("states", {}).items():
            if sc is not None and sc["array"] not in arrays:
                raise FileFormatError(f"{at}.states.{var}: array '{sc['array'][:80]}' is not in weights.npz")
    for o in doc["outputs"]:
        if o not in doc["taps"]:
            raise FileFormatError(f"{where}: output '{o[:80]}' has no tap")
    return doc


def _check_proc(name: str, p: dict, arrays: dict, lat_max: int, where: str) -> None:
    at = f"{where}: process '{name[:80]}'"
    kind, size, params = p["kind"], p["size"], p["params"]
    if kind not in KINDS:
        raise FileFormatError(f"{at}: unknown kind '{kind[:80]}' (known: {', '.join(KINDS)})")
    if size < 1:
        raise FileFormatError(f"{at}: size {size} is not positive")
    limits.check("neurons", size, where, f"the size of process '{name[:80]}'")
    t0 = p.get("t_start", 0)
    if not 0 <= t0 <= lat_max:
        raise FileFormatError(f"{at}: t_start {t0} outside [0, {lat_max}] (the network's latencies)")
    missing = [k for k in REQUIRED.get(kind, ()) if k not in params]
    if missing:
        raise FileFormatError(f"{at}: {kind} process lacks parameter(s) {', '.join(missing)}")
    if kind == "step":
        from snnc.compiler.ir import PRIMITIVES
        import snnc.compiler.primitives  # noqa: F401  (registers the primitives a NodeStep may name)
        if params.get("primitive") not in PRIMITIVES:
            raise FileFormatError(f"{at}: unknown primitive {str(params.get('primitive'))[:80]!r}")
    if kind == "source" and not p.get("node"):
        raise FileFormatError(f"{at}: a source process needs 'node' (the graph input it reads)")
    for k, v in params.items():
        pat = f"{at} parameter '{k[:80]}'"
        if isinstance(v, str) != (k in STRINGS):
            raise FileFormatError(f"{pat}: expected {'a string' if k in STRINGS else 'a number or an array'}")
        if k in INTS and not (isinstance(v, int) and not isinstance(v, bool)):
            raise FileFormatError(f"{pat}: expected an integer, got {v!r}"[:300])
        if isinstance(v, dict):
            a = arrays.get(v["array"])
            if a is None:
                raise FileFormatError(f"{pat}: array '{v['array'][:80]}' is not in weights.npz")
            if kind == "dense" and k == "weights":
                if a.ndim != 2 or a.shape[0] != size:
                    raise FileFormatError(f"{pat}: weights of shape {a.shape}, expected [{size}, in]")
            elif a.ndim == 1 and a.shape[0] != size:
                raise FileFormatError(f"{pat}: {a.shape[0]} values for {size} neurons")
            elif a.ndim > 2:
                raise FileFormatError(f"{pat}: array of rank {a.ndim}")
    if kind == "delay":
        if params["delay"] < 1:
            raise FileFormatError(f"{at}: delay {params['delay']} is not positive")
        limits.check("delay", params["delay"], where, f"the delay of process '{name[:80]}'")
    if kind == "bias" and params["start"] < 0:
        raise FileFormatError(f"{at}: negative start {params['start']}")
