"""The PNG of `snnc report --plot`: per-node operation and energy bars, and a spike raster."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from snnc.compiler.ir import SPIKE
from snnc.cli.report import _e
from snnc.compiler.activity import Activity


def plot_report(doc: dict, activity: Activity, out: str | Path) -> None:
    """PNG: per-layer ops and energy bars, and a spike raster of sample 0 (recorded spiking nodes)."""
    import matplotlib
    matplotlib.use("Agg")  # no display: the report runs headless
    import matplotlib.pyplot as plt

    from snnc.compiler.files import atomic_path

    names = [n["name"] for n in doc["nodes"]]
    pi = [n["per_inference"] for n in doc["nodes"]]
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(10, 11))
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
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
