"""Energy models as data (compiler/energy_models/*.json): pJ per counted event, each with its source.

A model prices the fields of a `Cost` (DESIGN §7): `prices[field]` lists the
constants whose sum is the energy of one such event, per arithmetic precision.
Memory accesses are priced by the smallest memory tier that holds the model.
Fields a model does not price are listed with the reason, so a report never
passes silence off as zero. Users can pass their own JSON file in this format;
`"extends": "cpu45nm"` starts from a built-in model and overrides its keys.
The seed-000 comparison (`nonspiking_cost`) counts an RNN/GRU/LSTM of the same
layer sizes and steps.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from snnc.compiler.cost import FIELDS, Cost
from snnc.compiler.errors import FileFormatError, SnncError
from snnc.compiler.limits import read_json
from snnc.compiler.schema import ANY, NUMBER, Map, validate
from snnc.compiler.ir import SPIKE, Graph
from snnc.compiler.primitives import Dense, Input

FORMAT = "snnc-energy-model"
PRICEABLE = set(FIELDS) | {"inactive_updates"}


class EnergyModelError(SnncError):
    """An energy model file that is missing or malformed."""


@dataclass(frozen=True)
class Constant:
    """Energy of one event in pJ and where that figure comes from."""

    pJ: float
    source: str


@dataclass(frozen=True)
class EnergyModel:
    """pJ per counted event, per precision, with the source of every constant."""

    name: str
    description: str
    constants: dict[str, Constant]
    precisions: dict[str, dict[str, Any]]  # precision -> {weight_bits, state_bits, prices{field: [constant]}}
    default_precision: str
    memory: dict[str, Any] | None = None  # word_bits, fields{field: bits key}, tiers[{max_bytes, read}], rule
    included: dict[str, str] = field(default_factory=dict)  # field -> which priced event already covers it
    unpriced: dict[str, str] = field(default_factory=dict)  # field -> why the model has no price for it
    notes: list[str] = field(default_factory=list)
    baseline: str = "cpu45nm"  # model that prices the non-spiking network of --compare
    origin: str = ""  # built-in name or file path

    def precision(self, name: str | None) -> str:
        p = name or self.default_precision
        if p not in self.precisions:
            raise EnergyModelError(f"energy model '{self.name}' has no prices for precision '{p}'; "
                                   f"it has {', '.join(self.precisions)}")
        return p

    def memory_tier(self, footprint_bytes: float) -> str | None:
        """The constant pricing a 64-bit access to the smallest memory holding `footprint_bytes`."""
        if not self.memory:
            return None
        for t in self.memory["tiers"]:
            if t["max_bytes"] is None or footprint_bytes <= t["max_bytes"]:
                return t["read"]
        return self.memory["tiers"][-1]["read"]

    def unit_prices(self, precision: str | None, footprint_bytes: float) -> dict[str, float]:
        """pJ per event of each priced field."""
        p = self.precisions[self.precision(precision)]
        out = {f: sum(self.constants[c].pJ for c in cs) for f, cs in p["prices"].items()}
        tier = self.memory_tier(footprint_bytes)
        if tier is not None:
            for f, bits_key in self.memory["fields"].items():
                out[f] = self.constants[tier].pJ * p[bits_key] / self.memory["word_bits"]
        return out

    def used_constants(self, precision: str | None, footprint_bytes: float) -> list[str]:
        """Names of the constants this precision and footprint actually use (for the report's sources)."""
        p = self.precisions[self.precision(precision)]
        used = [c for cs in p["prices"].values() for c in cs]
        tier = self.memory_tier(footprint_bytes)
        used += [tier] if tier else []
        return list(dict.fromkeys(used))

    def energy(self, cost: Cost, precision: str | None, footprint_bytes: float) -> dict[str, float]:
        """pJ per priced field for `cost` (plain-number fields)."""
        return {f: float(cost.get(f)) * pj for f, pj in self.unit_prices(precision, footprint_bytes).items()}

    def unpriced_nonzero(self, cost: Cost) -> dict[str, str]:
        """Fields this model does not price although `cost` counted some of them."""
        return {f: why for f, why in self.unpriced.items() if float(cost.get(f)) != 0}


BUILTIN = ("cpu45nm", "loihi1", "loihi2")
SCHEMA = {  # what load_model and EnergyModel read; checked before use so a wrong type is one named error
    "?format": str, "name": str, "?description": str, "default_precision": str, "?baseline": str,
    "constants": Map({"pJ": NUMBER, "source": str, "*": ANY}),
    "precisions": Map({"?prices": Map([str]), "*": ANY}),
    "?memory": ({"word_bits": NUMBER, "fields": Map(str), "tiers": [{"max_bytes": (NUMBER, type(None)), "read": str,
                                                                     "*": ANY}], "*": ANY}, type(None)),
    "?included": Map(str), "?unpriced": Map(str), "?notes": [str], "*": ANY,
}


def _read(path_or_name: str) -> tuple[dict, str]:
    if path_or_name in BUILTIN:
        text = resources.files("snnc.compiler").joinpath("energy_models", f"{path_or_name}.json").read_text()
        origin = f"built-in {path_or_name}"
    else:
        p = Path(path_or_name)
        if not p.is_file():
            raise EnergyModelError(f"energy model '{path_or_name}': not a built-in model ({', '.join(BUILTIN)}) "
                                   "nor a JSON file")
        origin = str(p)
        try:
            doc = read_json(p, f"energy model {origin}")
        except FileFormatError as e:
            raise EnergyModelError(str(e)) from None
        if not isinstance(doc, dict):
            raise EnergyModelError(f"energy model {origin}: expected a JSON object")
        return doc, origin
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise EnergyModelError(f"energy model {origin}: expected a JSON object")
    return doc, origin


def load_model(name_or_path: str) -> EnergyModel:
    """A built-in model by name, or a user JSON file (optionally `"extends"` a built-in)."""
    doc, origin = _read(name_or_path)
    where = f"energy model {origin}"
    if "extends" in doc:
        try:
            validate(doc, {"extends": str, "?constants": dict, "*": object}, where)
        except FileFormatError as e:
            raise EnergyModelError(str(e)) from None
        base, _ = _read(doc["extends"])
        base_consts = dict(base.get("constants", {}))
        base_consts.update(doc.get("constants", {}))
        base.update({k: v for k, v in doc.items() if k not in ("extends", "constants")})
        base["constants"] = base_consts
        doc = base
    try:
        validate(doc, SCHEMA, where)
    except FileFormatError as e:
        raise EnergyModelError(str(e)) from None
    if doc.get("format", FORMAT) != FORMAT:
        raise EnergyModelError(f"{where}: format is {doc.get('format')!r}, expected {FORMAT!r}")
    for key in ("name", "constants", "precisions", "default_precision"):
        if key not in doc:
            raise EnergyModelError(f"{where}: missing key '{key}'")
    consts = {}
    for k, c in doc["constants"].items():
        if not isinstance(c, dict) or not isinstance(c.get("pJ"), (int, float)) or not c.get("source"):
            raise EnergyModelError(f"{where}: constant '{k}' needs a number 'pJ' and a non-empty 'source'")
        consts[k] = Constant(float(c["pJ"]), str(c["source"]))
    for pname, p in doc["precisions"].items():
        for f, cs in p.get("prices", {}).items():
            if f not in PRICEABLE:
                raise EnergyModelError(f"{where}: precision '{pname}' prices unknown count '{f}'; "
                                       f"known: {', '.join(sorted(PRICEABLE))}")
            for c in cs:
                if c not in consts:
                    raise EnergyModelError(f"{where}: precision '{pname}' uses undefined constant '{c}' for '{f}'")
    for key in ("included", "unpriced"):
        bad = sorted(set(doc.get(key) or {}) - PRICEABLE)
        if bad:
            raise EnergyModelError(f"{where}: '{key}' names unknown count {bad[0][:80]!r}; known: {', '.join(sorted(PRICEABLE))}")
    mem = doc.get("memory")
    if mem:
        bad = sorted(set(mem.get("fields", {})) - PRICEABLE)
        if bad:
            raise EnergyModelError(f"{where}: memory prices unknown count {bad[0][:80]!r}; known: {', '.join(sorted(PRICEABLE))}")
        for t in mem.get("tiers", []):
            if t.get("read") not in consts:
                raise EnergyModelError(f"{where}: memory tier uses undefined constant {t.get('read')!r}")
        for pname, p in doc["precisions"].items():
            for bits_key in mem.get("fields", {}).values():
                if not isinstance(p.get(bits_key), (int, float)) or isinstance(p.get(bits_key), bool):
                    raise EnergyModelError(f"{where}: precision '{pname}' lacks '{bits_key}' needed for memory pricing")
    m = EnergyModel(str(doc["name"]), str(doc.get("description", "")), consts, doc["precisions"],
                    str(doc["default_precision"]), mem, dict(doc.get("included", {})),
                    dict(doc.get("unpriced", {})), list(doc.get("notes", [])), str(doc.get("baseline", "cpu45nm")),
                    origin)
    m.precision(None)  # the default precision must exist
    return m


def footprint_bytes(graph: Graph, model: EnergyModel, precision: str | None) -> float:
    """Bytes of weights (2-D parameters) and neuron states at the model's word sizes."""
    p = model.precisions[model.precision(precision)]
    wbits, sbits = p.get("weight_bits", 32), p.get("state_bits", 32)
    n_w = sum(getattr(n, f).size for n in graph.nodes.values() for f in n.array_fields() if getattr(n, f).ndim == 2)
    n_s = sum(n.size * len(n.states) for n in graph.nodes.values())
    return (n_w * wbits + n_s * sbits) / 8


# -- the seed-000 comparison: a non-spiking RNN / GRU / LSTM with the same layer sizes -----------
# per hidden unit and step: (weight matrices, multiplies with an add outside them, adds, nonlinearities, states)
CELLS = {
    "rnn": (1, 0, 1, 1, 1),   # h = tanh(W x + U h + b)
    "gru": (3, 3, 3, 3, 1),   # r, z, n gates; r*(U_n h), (1-z)*n + z*h
    "lstm": (4, 3, 4, 5, 2),  # i, f, g, o gates (a bias add each); c = f*c + i*g, h = o*tanh(c); as the LSTM cost rule
}


def layer_sizes(graph: Graph) -> list[tuple[str, str, int, int]]:
    """(node, role, inputs, units) of every neuron population: spiking ones are hidden, graded ones readouts."""
    layers = []
    for name in graph.schedule():
        node = graph.nodes[name]
        if isinstance(node, (Dense, Input)) or not node.states:
            continue
        n_in = 0
        for e in graph.in_edges(name):
            src = graph.nodes[e.src]
            if isinstance(src, Dense):
                # the recurrent synapses are the cell's own U h, not an input
                if not any(f.src == name for f in graph.in_edges(e.src)):
                    n_in += src.W.shape[1]
            elif e.src != name:
                n_in += src.size
        layers.append((name, "hidden" if node.out_kind == SPIKE else "readout", n_in, node.size))
    return layers


def nonspiking_cost(graph: Graph, cell: str, steps: float) -> tuple[list[dict], Cost]:
    """MAC counts of a `cell` network with the graph's layer sizes, per inference of `steps` steps."""
    if cell not in CELLS:
        raise SnncError(f"--compare: unknown network '{cell}'; choose one of {', '.join(CELLS)}")
    k, um, ua, nl, ns = CELLS[cell]
    layers, total = [], Cost()
    for name, role, n_in, h in layer_sizes(graph):
        if role == "hidden":
            c = Cost(macs=k * h * (n_in + h), dense_macs=k * h * (n_in + h), update_macs=um * h, update_acs=ua * h,
                     nonlinear=nl * h, neuron_updates=h, active_updates=h, weight_reads=k * h * (n_in + h),
                     state_reads=ns * h, state_writes=ns * h)
            what = f"{cell.upper()} {n_in}->{h}"
        else:
            c = Cost(macs=n_in * h, dense_macs=n_in * h, update_acs=h, weight_reads=n_in * h)
            what = f"Linear {n_in}->{h}"
        # per step, dense_macs is one use of every weight and state_writes one write of every state
        n_w, n_s = c.dense_macs, c.state_writes
        layers.append({"node": name, "layer": what, "role": role, "cost": c * float(steps), "weights": n_w,
                       "states": n_s})
        total = total + c * float(steps)
    if not layers:
        raise SnncError("--compare: the graph has no neuron populations to mirror")
    return layers, total


def input_fed_features(graph: Graph, name: str) -> dict[str, int]:
    """{graph input: features} that reach population `name` through one Dense (its first-layer inputs)."""
    out: dict[str, int] = {}
    for e in graph.in_edges(name):
        src = graph.nodes[e.src]
        if isinstance(src, Dense):
            for f in graph.in_edges(e.src):
                if isinstance(graph.nodes[f.src], Input):
                    out[f.src] = out.get(f.src, 0) + graph.nodes[f.src].size
        elif isinstance(src, Input):
            out[e.src] = out.get(e.src, 0) + src.size
    return out


def nonspiking_effective(graph: Graph, cell: str, layers: list[dict], input_nonzero: dict[str, float],
                         steps: float) -> Cost:
    """NeuroBench-style effective count of the comparison network on the same input (metrics/utils/layers/macs.py):
    W_ih·x skips the zeros of the graph input (`input_nonzero`: nonzero values per sample over the run), W_hh·h
    skips the all-zero h of the first step; hidden states are taken as nonzero afterwards (tanh/sigmoid outputs)."""
    k = CELLS[cell][0]
    total = Cost()
    for lay in layers:
        c = lay["cost"]
        name = lay["node"]
        fed = input_fed_features(graph, name)
        h = graph.nodes[name].size
        saved = 0.0
        mult = k if lay["role"] == "hidden" else 1
        for inp, feats in fed.items():
            saved += mult * h * (feats * steps - input_nonzero.get(inp, feats * steps))
        if lay["role"] == "hidden" and steps >= 1:
            saved += k * h * h  # h(t=0) is zero: its W_hh products are skipped
        total = total + Cost(**{**c.to_dict(), "macs": c.macs - saved, "weight_reads": c.weight_reads - saved})
    return total


def nonspiking_footprint(layers: list[dict], model: EnergyModel, precision: str | None) -> float:
    """Bytes of the comparison network's weights and states at the model's word sizes."""
    p = model.precisions[model.precision(precision)]
    n_w = sum(lay["weights"] for lay in layers)
    n_s = sum(lay["states"] for lay in layers)
    return (n_w * p.get("weight_bits", 32) + n_s * p.get("state_bits", 32)) / 8
