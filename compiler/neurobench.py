"""NeuroBench's workload metrics, computed from an snnc run with NeuroBench's own definitions (NeuroBench 2.3.0).

Each metric cites the NeuroBench source file that defines it (paths inside the
`neurobench` package). They sit beside snnc's own counts (`snnc.compiler.cost`) in
the report's `neurobench` block; docs/costs.md explains where the two differ.
Everything is per sample (NeuroBench divides by the number of samples), summed
over the steps each sample ran.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.activity import Activity
from snnc.compiler.cost import CostTable, synapse_fan
from snnc.compiler.ir import SPIKE, Graph

# metrics/workload/neuron_operations.py, `neuron_ops_reset_operations`: operations per membrane update of
# snnTorch's Leaky (snnc LIF) and Synaptic (snnc CubaLIF); NeuroBench has no figure for the other neuron types
NEURON_OPS = {("LIF", "subtract"): 4, ("LIF", "zero"): 4, ("CubaLIF", "subtract"): 6, ("CubaLIF", "zero"): 8}
# how a primitive's stored membrane relates to the membrane snnTorch exposes (before the reset of the step)
_RESET = {"ALIF": "none", "LI": "none", "SPSN": "none", "LTCReadout": "none", "CubaLI": "none",
          "AHP": "zero", "LTC": "zero", "LoihiAHP": "zero", "LoihiLTC": "zero", "LoihiLTCReadout": "none",
          "LoihiLI": "none", "LoihiALIF": "none", "LoihiSPSN": "none"}


def _valid(activity: Activity) -> np.ndarray:
    """[T, B] 1 where sample b ran step t (an early exit stops a sample's work)."""
    return (np.arange(activity.T)[:, None] < np.asarray(activity.steps)[None, :]).astype(np.float64)


def activation_sparsity(graph: Graph, activity: Activity) -> float | None:
    """metrics/workload/activation_sparsity.py: zero outputs / all outputs of the spiking layers (inputs excluded)."""
    valid = _valid(activity)
    zero = total = 0.0
    for name, node in graph.nodes.items():
        if node.out_kind != SPIKE or type(node).__name__ == "Input" or name not in activity.nonzero:
            continue
        n_all = float(valid.sum()) * node.size
        total += n_all
        zero += n_all - float((np.asarray(activity.nonzero[name]) * valid).sum())
    return zero / total if total else None


def _summed_input(graph: Graph, activity: Activity, name: str) -> np.ndarray | None:
    """[T, B, n] summed input on port 'in' of `name` from its sources' recorded outputs (None if one is missing)."""
    acc = None
    for e in graph.in_edges(name, "in"):
        tr = activity.traces.get(e.src, {}).get("out")
        if tr is None:
            return None
        a = np.zeros(np.shape(tr), np.float64)
        a[e.delay:] = np.asarray(tr, np.float64)[:len(a) - e.delay]
        acc = a if acc is None else acc + a
    return acc


def _changed(graph: Graph, activity: Activity, name: str, v: np.ndarray, s: np.ndarray | None) -> np.ndarray:
    """[T-1, B, n]: did the membrane as snnTorch holds it (before the step's reset) differ from the step before?"""
    node = graph.nodes[name]
    kind = type(node).__name__
    reset = getattr(node, "reset", None) or _RESET.get(kind, "none")
    if reset == "subtract" and s is not None:
        v = v + np.asarray(node.theta) * s
    if reset != "zero" or s is None:
        return v[1:] != v[:-1]
    # zero reset: a spiking step's membrane is above threshold and its neighbours' at most the threshold, so a
    # spike at t or t-1 changes it; for two spikes in a row the membrane before the reset is recomputed
    spiked = s != 0
    out = (v[1:] != v[:-1]) | spiked[1:] | spiked[:-1]
    both = spiked[1:] & spiked[:-1]
    if both.any():
        pre = None
        I = _summed_input(graph, activity, name)
        if kind == "LIF" and I is not None:
            pre = np.asarray(node.alpha) * np.concatenate([np.zeros_like(v[:1]), v[:-1]]) + np.asarray(node.gain) * I
        elif kind == "CubaLIF" and "i" in activity.traces.get(name, {}):
            i = np.asarray(activity.traces[name]["i"], np.float64)
            pre = (np.asarray(node.alpha_mem) * np.concatenate([np.zeros_like(v[:1]), v[:-1]])
                   + np.asarray(node.gain) * i + np.asarray(node.bias))
        if pre is not None:
            out[both] = (pre[1:] != pre[:-1])[both]
    return out


def membrane_updates(graph: Graph, activity: Activity) -> tuple[float | None, dict[str, float]]:
    """metrics/workload/membrane_updates.py: per neuron layer, every neuron at the first step, then each neuron-step
    whose membrane differs from the step before (decay included). Needs the recorded membrane `v` of each layer."""
    B = max(1, activity.batch)
    valid = _valid(activity)
    per_layer: dict[str, float] = {}
    missing = False
    for name, node in graph.nodes.items():
        if "v" not in node.states or type(node).__name__ == "Input":
            continue
        tr = activity.traces.get(name, {})
        if "v" not in tr:
            missing = True
            continue
        s = tr.get("out") if node.out_kind == SPIKE else None
        v = np.asarray(tr["v"], np.float64)
        changed = np.zeros(v.shape, bool)
        changed[0] = True  # NeuroBench counts every neuron of the first step
        changed[1:] = _changed(graph, activity, name, v, None if s is None else np.asarray(s, np.float64))
        per_layer[name] = float((changed * valid[:, :, None]).sum()) / B
    if missing or not per_layer:
        return None, per_layer
    return sum(per_layer.values()), per_layer


def neuron_operations(graph: Graph, updates: dict[str, float], activity: Activity) -> dict | None:
    """metrics/workload/neuron_operations.py: membrane updates x operations per update of the neuron type, and the
    dense figure (every neuron, every step); None when a layer's type has no NeuroBench figure."""
    eff = dense = 0.0
    steps = float(np.asarray(activity.steps).mean()) if activity.batch else 0.0
    for name, u in updates.items():
        node = graph.nodes[name]
        ops = NEURON_OPS.get((type(node).__name__, getattr(node, "reset", "")))
        if ops is None:
            return None
        eff += u * ops
        dense += node.size * steps * ops
    return {"Effective_Neuron_Ops": eff, "Neuron_Dense_Ops": dense}


def lstm_convention(graph: Graph, activity: Activity, table: CostTable) -> dict[str, dict]:
    """metrics/utils/layers/macs.py `lstm_cell_macs` for each LSTM node: W_ih·x and W_hh·h on nonzero entries, plus
    f·c + i·g and o·tanh(c) (2 products per unit at the first step, 3 after); all of it AC when x is binary."""
    out = {}
    for name, node in graph.nodes.items():
        if type(node).__name__ != "LSTM":
            continue
        c = table.nodes[name]
        steps = np.asarray(activity.steps, np.float64)
        elementwise = float((node.size * (3 * steps - 1) * (steps > 0)).mean())
        synops = float(np.mean(c.acs + c.macs)) + elementwise
        spiking = all(graph.nodes[e.src].out_kind == SPIKE for e in graph.in_edges(name, "in"))
        out[name] = {"Effective_ACs" if spiking else "Effective_MACs": synops,
                     "snnc_split": {"W_ih_x": float(np.mean(c.acs + c.macs - _hh(graph, activity, name))),
                                    "W_hh_h_MACs": float(np.mean(_hh(graph, activity, name)))}}
    return out


def _hh(graph: Graph, activity: Activity, name: str) -> np.ndarray:
    """[B] events of an LSTM's W_hh on its own h of the previous step."""
    node = graph.nodes[name]
    tr = activity.traces.get(name, {}).get("out")
    fan = synapse_fan(node.W_hh)
    if tr is None:
        return np.full(activity.batch, float(fan.sum()) * max(0, activity.T - 1))
    prev = np.zeros_like(np.asarray(tr, np.float64))
    prev[1:] = tr[:-1]
    return ((prev != 0) * _valid(activity)[:, :, None]).sum(axis=0) @ fan


def neurobench_block(graph: Graph, activity: Activity, table: CostTable) -> dict:
    """The report's NeuroBench block: its metrics by its definitions, per sample, with per-layer synaptic ops."""
    per_inf = table.per_inference(table.total())
    layers = []
    for name, c in table.nodes.items():
        pi = table.per_inference(c)
        if pi.dense_acs + pi.dense_macs:
            layers.append({"node": name, "Effective_ACs": pi.acs, "Effective_MACs": pi.macs,
                           "Dense": pi.dense_acs + pi.dense_macs})
    mu, mu_layers = membrane_updates(graph, activity)
    return {
        "source": "NeuroBench 2.3.0 definitions (neurobench/metrics/workload/*.py)",
        "Effective_ACs": per_inf.acs, "Effective_MACs": per_inf.macs, "Dense": per_inf.dense_acs + per_inf.dense_macs,
        "SynapticOperations_per_layer": layers,
        "ActivationSparsity": activation_sparsity(graph, activity),
        "MembraneUpdates": mu, "MembraneUpdates_per_layer": mu_layers,
        "NeuronOperations": neuron_operations(graph, mu_layers, activity) if mu is not None else None,
        "LSTM_NeuroBench_convention": lstm_convention(graph, activity, table),
    }


def _f(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{100 * x:.2f} %" if pct else (f"{int(x):,}" if float(x).is_integer() else f"{x:,.2f}")


def format_neurobench(nb: dict) -> list[str]:
    """Text lines of the NeuroBench block."""
    lines = [f"NeuroBench metrics (per sample; {nb['source']}):",
             f"  SynapticOperations: Effective_ACs {_f(nb['Effective_ACs'])}, Effective_MACs {_f(nb['Effective_MACs'])}, "
             f"Dense {_f(nb['Dense'])}"]
    for lay in nb["SynapticOperations_per_layer"]:
        lines.append(f"    {lay['node']:<16} ACs {_f(lay['Effective_ACs']):>12}  MACs {_f(lay['Effective_MACs']):>12}  "
                     f"Dense {_f(lay['Dense']):>12}")
    lines.append(f"  ActivationSparsity (spiking layers): {_f(nb['ActivationSparsity'], pct=True)}")
    mu = nb["MembraneUpdates"]
    lines.append(f"  MembraneUpdates: {_f(mu)}" + ("" if mu is not None else " (the run did not record every membrane)"))
    no = nb["NeuronOperations"]
    lines.append("  NeuronOperations: " + (f"effective {_f(no['Effective_Neuron_Ops'])}, dense {_f(no['Neuron_Dense_Ops'])}"
                                           if no else "n/a (NeuroBench defines it for Leaky/LIF and Synaptic/CubaLIF only)"))
    for name, c in nb["LSTM_NeuroBench_convention"].items():
        kind = "Effective_ACs" if "Effective_ACs" in c else "Effective_MACs"
        lines.append(f"  LSTM {name}: NeuroBench convention {kind} {_f(c[kind])} (W_ih·x + W_hh·h + 3 products per unit, "
                     f"all {'AC: x is binary' if kind == 'Effective_ACs' else 'MAC'}); snnc: W_ih·x {_f(c['snnc_split']['W_ih_x'])}, "
                     f"W_hh·h {_f(c['snnc_split']['W_hh_h_MACs'])} MACs")
    return lines
