"""The PNG of `snnc report --plot`: per-node operation and energy bars, and a spike raster."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from snnc.compiler.ir import SPIKE
from snnc.cli.report_table import _e
from snnc.compiler.activity import Activity


def plot_report(doc: dict, activity: Activity, out: str | Path) -> None:
    """PNG: per-layer ops and energy bars, and a spike raster of sample 0 (recorded spiking nodes)."""
    import matplotlib
    matplotlib.use("Agg")  # no display: the report runs headless
    import matplotlib.pyplot as plt

    from snnc.compiler.files import atomic_path

    names = [n["name"] for n in doc["nodes"]]
    pi = [n["per_inference"] for n in doc["nodes"]]
    verdict = (doc.get("compare") or {}).get("verdict")
    fig, axes = plt.subplots(4 if verdict else 3, 1, figsize=(10, 14.5 if verdict else 11))
    ax1, ax2, ax3 = axes[:3]
    x = np.arange(len(names))
    parts = [("ACs", [c["acs"] for c in pi]), ("MACs", [c["macs"] for c in pi]),
             ("update ops", [c["update_macs"] + c["update_acs"] for c in pi]),
             ("dense equiv.", [c["dense_acs"] + c["dense_macs"] for c in pi])]
    for i, (label, vals) in enumerate(parts):
        ax1.bar(x + (i - 1.5) * 0.2, vals, 0.2, label=label)
    ax1.set_yscale("symlog")
    ax1.set_xticks(x, names, rotation=30, ha="right")
    ax1.set_ylabel("ops per inference")
    ax1.legend(fontsize=8)
    ax1.set_title("operations per inference (per sample)")
    em = doc["energy_model"]
    ax2.bar(x, [n["energy_pJ"]["total"] for n in doc["nodes"]], color="tab:red")
    ax2.set_xticks(x, names, rotation=30, ha="right")
    ax2.set_ylabel("pJ per inference")
    ax2.set_title(f"energy per inference ({em['name']}, {em['precision']}); "
                  f"total {_e(doc['total']['energy_pJ']['per_inference'])}")
    rows, ticks, offset = [], [], 0
    for name in names:  # one row per neuron, one column per step: a raster that stays readable at 1000 rows
        tr = activity.traces.get(name, {}).get("out")
        if tr is None or activity.kinds.get(name) != SPIKE:
            continue
        rows.append((np.asarray(tr)[:, 0, :] != 0).T)
        ticks.append((offset + tr.shape[2] / 2, name))
        offset += tr.shape[2]
    if rows:
        ax3.imshow(np.concatenate(rows), aspect="auto", interpolation="nearest", cmap="Greys", origin="lower",
                   extent=(-0.5, activity.T - 0.5, 0, offset))
        for pos in np.cumsum([r.shape[0] for r in rows])[:-1]:
            ax3.axhline(pos, color="tab:blue", lw=0.6)
        ax3.set_yticks([p for p, _ in ticks], [n for _, n in ticks])
        ax3.set_title("spike raster, sample 0 (one row per neuron)")
    else:
        ax3.set_title("spike raster: no spiking node was recorded")
    ax3.set_xlabel("step")
    ax3.set_xlim(-0.5, activity.T - 0.5)
    if verdict:
        _plot_verdict(axes[3], doc["compare"])
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def _plot_verdict(ax, cmp_: dict) -> None:
    """Energy per inference against the hidden spike rate, the non-spiking baselines and the measured rate."""
    v = cmp_["verdict"]
    r1, e0, e1 = v["measured_rate"], v["energy_at_zero_rate_pJ"], v["energy_measured_pJ"]
    rates = [x for x in v["crossover_rate"].values() if x is not None and x < 1] + ([r1] if r1 else [])
    hi = min(1.0, 2 * max(rates)) if rates else 1.0
    r = np.linspace(0, hi, 200)
    slope = (e1 - e0) / r1 if r1 else 0.0
    ax.plot(r, e0 + slope * r, color="tab:blue", label="this SNN, E(rate)")
    net = cmp_["network"].upper()
    for what, e, style in (("dense", cmp_["energy_pJ"], "--"), ("effective", cmp_["effective_energy_pJ"], ":")):
        ax.axhline(e, color="tab:red", ls=style, label=f"{what} {net}")
        x = v["crossover_rate"][what]
        if x is not None and x <= hi:
            ax.axvline(x, color="tab:red", ls=style, lw=0.8)
    if r1:
        ax.axvline(r1, color="tab:green", label=f"measured rate {r1:.4f}")
    ax.set_yscale("log")
    ax.set_xlabel("hidden spike rate (spikes per neuron per step)")
    ax.set_ylabel("pJ per inference")
    ax.set_title(f"energy verdict ({v['energy_model']} {v['precision']} SNN vs {net} priced by {cmp_['energy_model']})")
    ax.legend(fontsize=8)
