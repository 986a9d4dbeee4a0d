"""Op counts measured from a run's `Activity` (DESIGN §7): one frozen `Cost` record per node.

`count(graph, activity)` walks the graph with the rule table `COST_RULES[type(node)]`
(like the backends' kernel tables); each rule returns the node's `Cost` with every
field an array [B]: per sample, summed over the steps that sample actually ran.
Event-driven counts come from the spikes and nonzero inputs that happened;
dense-equivalent counts (every weight, every step) sit beside them. Definitions:
docs/costs.md.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import PRIMITIVES, SPIKE, Edge, Graph, Primitive
from snnc.compiler.primitives import ALIF, LI, LIF, CubaLIF, Dense, Input
from snnc.compiler.activity import Activity


class CostError(SnncError):
    """A graph or activity record the cost model cannot count."""


@dataclass(frozen=True)
class Cost:
    """Operation counts; each field a number or an array [B] (per sample, summed over steps)."""

    acs: float = 0.0  # event-driven synaptic accumulates: binary spike in x nonzero weight
    macs: float = 0.0  # event-driven synaptic MACs: nonzero graded input x nonzero weight
    dense_acs: float = 0.0  # dense equivalent of acs: every weight (zeros too) at every step, spiking inputs
    dense_macs: float = 0.0  # dense equivalent of macs: graded inputs
    update_macs: float = 0.0  # multiplies (each with its add) inside neuron/cell updates
    update_acs: float = 0.0  # adds and threshold compares inside neuron updates, bias adds
    nonlinear: float = 0.0  # sigmoid / tanh / exp evaluations
    neuron_updates: float = 0.0  # neuron-steps evaluated
    active_updates: float = 0.0  # neuron-steps whose summed input was nonzero
    spikes: float = 0.0  # spikes emitted (input spikes for Input nodes)
    weight_reads: float = 0.0  # one weight word per synaptic op (event-driven)
    state_reads: float = 0.0  # state words read: neuron updates x state variables
    state_writes: float = 0.0  # state words written: neuron updates x state variables
    spikes_core: float = 0.0  # spike messages to a block on the same core (needs a placement)
    spikes_chip: float = 0.0  # spike messages to another core on the same chip
    spikes_offchip: float = 0.0  # spike messages to another chip

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(**{f: getattr(self, f) + getattr(other, f) for f in FIELDS})

    def __mul__(self, k: float) -> "Cost":
        return Cost(**{f: getattr(self, f) * k for f in FIELDS})

    __rmul__ = __mul__

    @property
    def inactive_updates(self) -> float:
        return self.neuron_updates - self.active_updates

    @property
    def synaptic_ops(self) -> float:
        return self.acs + self.macs

    def get(self, name: str) -> float:
        """A field or a derived count (inactive_updates, synaptic_ops) by name."""
        return getattr(self, name)

    def reduce(self, fn: Callable[[np.ndarray], float]) -> "Cost":
        """Apply `fn` (e.g. np.sum, np.mean) to every per-sample field; returns plain floats."""
        return Cost(**{f: float(fn(np.asarray(getattr(self, f), dtype=np.float64))) for f in FIELDS})

    def sample(self, b: int) -> "Cost":
        """Sample b's counts (plain floats)."""
        return Cost(**{f: float(np.asarray(v)[b]) if np.ndim(v) else float(v) for f, v in self._items()})

    def _items(self) -> list[tuple[str, float]]:
        return [(f, getattr(self, f)) for f in FIELDS]

    def to_dict(self) -> dict[str, float]:
        return {f: float(getattr(self, f)) for f in FIELDS}


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Cost))


@dataclass
class CostTable:
    """Per-node costs of one run (fields [B]), the steps each sample ran, and notes on estimates."""

    nodes: dict[str, Cost]
    primitives: dict[str, str]
    steps: np.ndarray  # [B] steps actually run per sample
    notes: list[str] = field(default_factory=list)

    def total(self) -> Cost:
        """Sum over nodes, still per sample [B]."""
        out = Cost(**{f: np.zeros(len(self.steps)) for f in FIELDS})
        for c in self.nodes.values():
            out = out + c
        return out

    def per_inference(self, c: Cost) -> Cost:
        """Mean over samples of the per-sample totals (NeuroBench's per-sample convention)."""
        return c.reduce(np.mean)

    def per_step(self, c: Cost) -> Cost:
        """Per sample and step: the batch total divided by all sample-steps run."""
        return c.reduce(np.sum) * (1.0 / max(1, int(self.steps.sum())))


class Context:
    """What a cost rule sees: the node, its wiring, the run's activity and the valid-step mask."""

    def __init__(self, graph: Graph, activity: Activity, name: str, notes: list[str]):
        self.graph, self.activity, self.name, self.notes = graph, activity, name, notes
        self.node: Primitive = graph.nodes[name]
        T = activity.T
        # a sample that exited early (EarlyExit) did no work after its last step
        self.mask = (np.arange(T)[:, None] < np.asarray(activity.steps)[None, :]).astype(np.float64)
        self.steps = np.asarray(activity.steps, dtype=np.float64)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def nonzero(self, src: str) -> np.ndarray:
        """[T, B] nonzero outputs of `src`; a graded node the runtime did not count is taken as all nonzero."""
        if src not in self.activity.nonzero:
            if self.graph.nodes[src].out_kind == SPIKE:
                raise CostError(f"node '{src}': the activity record has no spike counts for it")
            # some runtimes count only spikes: a graded value is then taken as always nonzero
            self.note(f"the activity has no nonzero counts for graded node '{src}': all its values are "
                      "assumed nonzero (an upper bound)")
            return np.full((self.activity.T, self.activity.batch), float(self.graph.nodes[src].size))
        return np.asarray(self.activity.nonzero[src], dtype=np.float64)

    def trace(self, src: str) -> np.ndarray | None:
        """[T, B, n] recorded outputs of `src`, if the run recorded them."""
        return self.activity.traces.get(src, {}).get("out")

    def _shift(self, a: np.ndarray, d: int) -> np.ndarray:
        """a[t - d] aligned to step t (zeros for t < d), keeping only valid steps of this node."""
        out = np.zeros_like(a)
        if d < a.shape[0]:
            out[d:] = a[: a.shape[0] - d]
        return out * self.mask.reshape(self.mask.shape + (1,) * (a.ndim - 2))

    def edge_per_neuron(self, e: Edge) -> np.ndarray | None:
        """[B, n_src]: how often each source neuron's value on edge `e` was nonzero (None untraced)."""
        tr = self.trace(e.src)
        if tr is None:
            return None
        return self._shift((np.asarray(tr) != 0).astype(np.float64), e.delay).sum(axis=0)

    def edge_total(self, e: Edge) -> np.ndarray:
        """[B]: nonzero values delivered on edge `e` at this node's valid steps."""
        return self._shift(self.nonzero(e.src), e.delay).sum(axis=0)

    def active_inputs(self, port: str = "in") -> np.ndarray:
        """[B]: neuron-steps whose summed input on `port` was nonzero; exact when sources are traced."""
        edges = self.graph.in_edges(self.name, port)
        if not edges:
            return np.zeros(len(self.steps))
        traces = [self.trace(e.src) for e in edges]
        if all(t is not None for t in traces):
            acc = 0.0
            for e, tr in zip(edges, traces):
                acc = acc + self._shift(np.asarray(tr, dtype=np.float64), e.delay)
            return (acc != 0).sum(axis=(0, 2)).astype(np.float64)
        if len(edges) > 1:
            self.note("active neuron updates are upper bounds where several untraced edges meet "
                      "(min(n, sum of nonzero inputs)); record the sources for exact counts")
        tot = sum(self._shift(self.nonzero(e.src), e.delay) for e in edges)
        return np.minimum(tot, self.node.size).sum(axis=0)

    def is_spike(self, src: str) -> bool:
        return self.graph.nodes[src].out_kind == SPIKE


Rule = Callable[[Context], Cost]
COST_RULES: dict[type, Rule] = {}


def cost_rule(*types: type) -> Callable[[Rule], Rule]:
    """Register a cost rule for one or more primitive types."""
    def deco(fn: Rule) -> Rule:
        for t in types:
            COST_RULES[t] = fn
        return fn
    return deco


def synapse_fan(W: np.ndarray) -> np.ndarray:
    """Nonzero fan-out of each input of weights W[out, in] (what one nonzero input costs)."""
    return np.count_nonzero(W, axis=0).astype(np.float64)


def synapse_counts(ctx: Context, W: np.ndarray, port: str | None = None) -> dict[str, np.ndarray]:
    """acs/macs (event-driven) and their dense equivalents for weights W[out, in] on `port`'s edges."""
    fan = synapse_fan(W)
    B = len(ctx.steps)
    out = {k: np.zeros(B) for k in ("acs", "macs", "dense_acs", "dense_macs")}
    for e in ctx.graph.in_edges(ctx.name, port):
        per = ctx.edge_per_neuron(e)
        if per is not None:
            ev = per @ fan
        else:
            ev = ctx.edge_total(e) * fan.mean()
            ctx.note(f"node '{e.src}' was not traced: its events into '{ctx.name}' assume inputs spread "
                     "uniformly over its population (mean nonzero fan-out)")
        kind = "acs" if ctx.is_spike(e.src) else "macs"
        out[kind] = out[kind] + ev
        out["dense_" + kind] = out["dense_" + kind] + ctx.steps * W.size
    return out


def _by_name(*names: str) -> tuple[type, ...]:
    """Registered primitive types among `names` (rules for primitives not in this build are skipped)."""
    return tuple(PRIMITIVES[n] for n in names if n in PRIMITIVES)


@cost_rule(Dense, *_by_name("LoihiDense", "Int8Dense"))
def _dense(ctx: Context) -> Cost:
    c = synapse_counts(ctx, ctx.node.W)
    # bias adds are per output per step, only for nonzero biases
    acs = ctx.steps * float(np.count_nonzero(getattr(ctx.node, "b", 0)))
    # Int8Dense rescales every output (w_scale·x_scale) once per step: one multiply each
    macs = ctx.steps * ctx.node.size if type(ctx.node).__name__ == "Int8Dense" else 0.0
    return Cost(**c, update_acs=acs, update_macs=macs, weight_reads=c["acs"] + c["macs"])


@cost_rule(Input)
def _input(ctx: Context) -> Cost:
    spikes = (ctx.nonzero(ctx.name) * ctx.mask).sum(axis=0) if ctx.node.out_kind == SPIKE else 0.0
    return Cost(spikes=spikes)


@cost_rule(*_by_name("Affine"))
def _affine(ctx: Context) -> Cost:
    return Cost(update_macs=ctx.steps * ctx.node.size)  # scale·x + shift per feature


def neuron_rule(update_macs: float, update_acs: float, nonlinear: float = 0.0,
                extra: Callable[[Context], Cost] | None = None, always_active: bool = False) -> Rule:
    """A rule for a neuron population doing fixed per-neuron work every step.

    update_macs / update_acs / nonlinear are per neuron update; `extra(ctx)` adds
    node-dependent counts (a subtractive reset, gate weights, ...). `always_active`: a cell that applies
    its own input and recurrent weights (LSTM) updates every unit at every step it runs.
    """
    def rule(ctx: Context) -> Cost:
        upd = ctx.steps * float(ctx.node.size)
        own = (ctx.nonzero(ctx.name) * ctx.mask).sum(axis=0)
        # a neuron is active at a step when its summed input was nonzero (at most once per neuron-step)
        active = upd if always_active else np.minimum(ctx.active_inputs(), upd)
        c = Cost(update_macs=upd * update_macs, update_acs=upd * update_acs, nonlinear=upd * nonlinear,
                 neuron_updates=upd, active_updates=active,
                 spikes=own if ctx.node.out_kind == SPIKE else 0.0,
                 state_reads=upd * len(ctx.node.states), state_writes=upd * len(ctx.node.states))
        return c + extra(ctx) if extra else c
    return rule


def _subtract_reset(ctx: Context) -> Cost:
    return Cost(update_acs=ctx.steps * ctx.node.size * float(getattr(ctx.node, "reset", "") == "subtract"))


def _gates(*fields: str) -> Callable[[Context], Cost]:
    """Gate weights inside a neuron act on graded states every step: counted dense (all nonzero weights)."""
    def extra(ctx: Context) -> Cost:
        nnz = sum(np.count_nonzero(getattr(ctx.node, f)) for f in fields)
        size = sum(getattr(ctx.node, f).size for f in fields)
        return Cost(macs=ctx.steps * nnz, dense_macs=ctx.steps * size, weight_reads=ctx.steps * nnz)
    return extra


# LIF: alpha·v, gain·I (2 MACs); compare v−theta (1 add); zero reset is a select, subtract an add
COST_RULES[LIF] = neuron_rule(2, 1, extra=_subtract_reset)
# CubaLIF: alpha_syn·i + I, alpha_mem·v, gain·i (3 MACs); + bias, compare (2 adds)
COST_RULES[CubaLIF] = neuron_rule(3, 2, extra=_subtract_reset)
# ALIF: rho·b, beta·b (+b0), alpha·v, (1−alpha)R·I (4 MACs); (1−rho)·s⁻ and B·s⁻ are selects
# with an add each, plus the compare v−B (3 adds)
COST_RULES[ALIF] = neuron_rule(4, 3)
# LI: alpha·v, gain·I (2 MACs)
COST_RULES[LI] = neuron_rule(2, 0)
_FAMILIES: dict[str, Rule] = {
    # u·(4096−du−1) + a_in<<6, v·(4096−dv) (2 MACs); + u, + bias, compare (3 adds)
    "LoihiLIF": neuron_rule(2, 3, extra=_subtract_reset),
    # v·(4096−dv) (1 MAC); + a_in<<6, + bias (2 adds)
    "LoihiLI": neuron_rule(1, 2),
    # b·(4096−dr), beta·b, v·(4096−dv) (3 MACs); + (dr<<6)·s⁻, + a_in, + bias, − B·s⁻, compare (5 adds)
    "LoihiALIF": neuron_rule(3, 5),
    # aux·(4096−da), v·(4096−dv) (2 MACs); + w_ahp<<6 (select), + a_in, + bias, + aux, compare (4 adds)
    "LoihiAHP": neuron_rule(2, 4),
    # i·(4096−di), v·(4096−dv), i·dv (3 MACs); + a_in, + bias, + v, compare (4 adds); sigmoid_q16 when stochastic
    "LoihiSPSN": lambda ctx: neuron_rule(3, 4, float(bool(ctx.node.stochastic)))(ctx),
    # alpha_aux·aux, alpha·v, gain·I (3 MACs); + w_ahp·s⁻ (select), + aux, compare (3 adds)
    "AHP": neuron_rule(3, 3),
    # alpha·i, beta·v, (1−beta)·i (3 MACs); compare (1 add); σ(v) when stochastic
    "SPSN": lambda ctx: neuron_rule(3, 1, float(bool(ctx.node.stochastic)))(ctx),
    # gates Wa·[I, v], Wr·[I, b] (dense MACs) + ba, br; σ twice; r·b, beta·b, (1−a)·v, a·I (4 MACs);
    # 1−r, (1−r)·s⁻ select, 1−a, compare (4 adds + 2 bias adds)
    "LTC": neuron_rule(4, 6, 2, extra=_gates("Wa", "Wr")),
    # gate Wa·[I, v] + ba; σ; (1−a)·v, a·I (2 MACs); 1−a, + ba (2 adds)
    "LTCReadout": neuron_rule(2, 2, 1, extra=_gates("Wa")),
    # loihi_ltc.py: as LTC, plus the input bias and a second gate-half add per gate; σ is a table lookup
    "LoihiLTC": neuron_rule(4, 9, 2, extra=_gates("Wa", "Wr")),
    "LoihiLTCReadout": neuron_rule(2, 4, 1, extra=_gates("Wa")),
}
for _name, _rule in _FAMILIES.items():
    for _t in _by_name(_name):
        COST_RULES[_t] = _rule


def _lstm_synapses(ctx: Context) -> Cost:
    """W_ih on the inputs (event-driven) and W_hh on the cell's own h from the previous step."""
    c = synapse_counts(ctx, ctx.node.W_ih, "in")
    fan = np.count_nonzero(ctx.node.W_hh, axis=0).astype(np.float64)
    own = Edge(ctx.name, ctx.name, "h", 1)
    per = ctx.edge_per_neuron(own)
    hh = per @ fan if per is not None else ctx.edge_total(own) * fan.mean()
    return Cost(acs=c["acs"], macs=c["macs"] + hh, dense_acs=c["dense_acs"],
                dense_macs=c["dense_macs"] + ctx.steps * ctx.node.W_hh.size,
                weight_reads=c["acs"] + c["macs"] + hh)


for _t in _by_name("LSTM"):
    # per unit: + b (4 adds); σ(i, f, o), tanh(g), tanh(c) (5 nonlinear); f·c + i·g, o·tanh(c) (3 MACs)
    COST_RULES[_t] = neuron_rule(3, 4, 5, extra=_lstm_synapses, always_active=True)


@cost_rule(*_by_name("EarlyExit"))
def _early_exit(ctx: Context) -> Cost:
    n = ctx.steps * ctx.node.size
    if ctx.node.readout == "softmax":  # exp, sum, divide, max per class
        return Cost(nonlinear=n, update_macs=n, update_acs=2 * n)
    return Cost(nonlinear=n, update_acs=n)  # sigmoid, max


def _from_step(node: Primitive, notes: list[str]) -> Rule | None:
    """No rule here: the node's work per neuron update counted from its own step (compiler/step_cost.py)."""
    from snnc.compiler.step_cost import step_rule
    return step_rule(node, notes)


def count(graph: Graph, activity: Activity) -> CostTable:
    """Per-node Cost (fields per sample [B], summed over the steps each sample ran) of one run."""
    notes: list[str] = []
    nodes, prims = {}, {}
    for name in graph.schedule():
        node = graph.nodes[name]
        rule = COST_RULES.get(type(node)) or _from_step(node, notes)
        if rule is None:
            raise CostError(f"node '{name}' ({type(node).__name__}): no cost rule; add one to "
                            "COST_RULES in snnc.compiler.cost")
        nodes[name] = rule(Context(graph, activity, name, notes))
        prims[name] = type(node).__name__
    table = CostTable(nodes, prims, np.asarray(activity.steps, dtype=np.int64), notes)
    if graph.meta.get("placement"):
        from snnc.compiler.traffic import add_traffic  # traffic.py builds on this module's Cost records
        add_traffic(graph, activity, table)
    return table
