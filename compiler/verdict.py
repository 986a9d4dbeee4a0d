"""The energy verdict: the hidden spike rate at which a spiking model stops beating a non-spiking network.

The counts of a run are linear in the hidden layers' spikes (every synaptic event,
weight read, spike message and active update they cause), so the model's energy
at hidden spike rate r is E(r) = E0 + (r / r1)·(E1 − E0), with E1 the energy
measured at the run's rate r1 and E0 the energy of the same run with the hidden
spikes removed (inputs, neuron updates, state traffic and leak stay). The
crossover is the r where E(r) equals the non-spiking network's energy — the
break-even the literature puts at a few percent (Dampfhoffer et al. 2023,
Lemaire et al. 2022).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from snnc.compiler.activity import Activity
from snnc.compiler.cost import count
from snnc.compiler.energy import EnergyModel
from snnc.compiler.ir import SPIKE, Graph


def hidden_spiking(graph: Graph) -> list[str]:
    """Spiking populations other than graph inputs."""
    return [n for n, node in graph.nodes.items() if node.out_kind == SPIKE and type(node).__name__ != "Input"]


def hidden_rate(graph: Graph, activity: Activity) -> float | None:
    """Spikes per neuron per step over the hidden spiking populations (None without any)."""
    names = [n for n in hidden_spiking(graph) if n in activity.nonzero]
    steps = float(np.asarray(activity.steps).sum())
    denom = sum(graph.nodes[n].size for n in names) * steps
    return float(sum(np.asarray(activity.nonzero[n]).sum() for n in names)) / denom if denom else None


def silent(graph: Graph, activity: Activity) -> Activity:
    """The same run with every hidden spike removed (input values and states kept)."""
    quiet = dataclasses.replace(activity, nonzero=dict(activity.nonzero),
                                traces={n: dict(d) for n, d in activity.traces.items()})
    for n in hidden_spiking(graph):
        if n in quiet.nonzero:
            quiet.nonzero[n] = np.zeros_like(quiet.nonzero[n])
        if "out" in quiet.traces.get(n, {}):
            quiet.traces[n]["out"] = np.zeros_like(quiet.traces[n]["out"])
    return quiet


def energy_per_inference(graph: Graph, activity: Activity, model: EnergyModel, precision: str, footprint: float) -> float:
    table = count(graph, activity)
    return float(sum(model.energy(table.per_inference(table.total()), precision, footprint).values()))


def crossover(graph: Graph, activity: Activity, model: EnergyModel, precision: str, footprint: float,
              e_measured: float, baselines: dict[str, float]) -> dict:
    """Break-even hidden spike rate against each baseline energy (pJ per inference), with the linear model's terms."""
    r1 = hidden_rate(graph, activity)
    e0 = energy_per_inference(graph, silent(graph, activity), model, precision, footprint)
    out = {"measured_rate": r1, "energy_at_zero_rate_pJ": e0, "energy_measured_pJ": e_measured,
           "energy_model": model.name, "precision": precision, "crossover_rate": {}, "verdict": {}}
    slope = (e_measured - e0) / r1 if r1 else None  # pJ per unit of hidden rate
    for what, e_base in baselines.items():
        if r1 is None:
            rate, verdict = None, "n/a: the model has no hidden spiking layer"
        elif e0 >= e_base:
            rate, verdict = 0.0, "never cheaper: without any hidden spike it already costs more"
        elif not slope or slope <= 0:
            rate, verdict = None, "cheaper at every rate (its energy does not grow with the spike rate)"
        else:
            rate = (e_base - e0) / slope
            if rate >= 1.0:
                verdict = "cheaper at every rate up to 1 spike per neuron per step"
            elif r1 is not None and r1 < rate:
                verdict = f"cheaper: the measured rate {r1:.4f} is below the break-even {rate:.4f}"
            else:
                verdict = f"more expensive: the measured rate {r1:.4f} is above the break-even {rate:.4f}"
        out["crossover_rate"][what] = rate
        out["verdict"][what] = verdict
    return out
