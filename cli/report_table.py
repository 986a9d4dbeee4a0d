"""The human-readable table of an `snnc report` (a view of the report dict, docs/report.schema.json)."""
from __future__ import annotations

from snnc.compiler.neurobench import format_neurobench


def _n(x: float | None) -> str:
    if x is None:
        return "-"
    if float(x).is_integer() and abs(x) < 1e12:
        return f"{int(x):,}"
    return f"{x:,.2f}" if abs(x) < 1e6 else f"{x:.3e}"


def _e(pj: float) -> str:
    """Energy with a readable unit."""
    for unit, k in (("mJ", 1e9), ("uJ", 1e6), ("nJ", 1e3)):
        if abs(pj) >= k:
            return f"{pj / k:.3f} {unit}"
    return f"{pj:.2f} pJ"


def format_report(doc: dict) -> str:
    """The human-readable table of a report dict."""
    em, st = doc["energy_model"], doc["steps"]
    inp = doc.get("input", {})
    lines = [f"snnc report: {doc.get('artifact', '?')} (target {doc.get('target', '?')}, dtype {doc.get('dtype', '?')})"]
    if inp.get("source") == "random":
        lines.append(f"input: no --input given: seeded random spikes, seed {inp['seed']}, rate {inp['rate']}, "
                     f"shape {inp['shape']}")
    elif inp:
        lines.append(f"input: {inp['path']} shape {inp['shape']}")
    lines.append(f"steps: T={st['T']} batch={st['batch']} mean steps run per sample {st['mean']:.1f}")
    lines.append(f"energy model: {em['name']} ({em['origin']}), precision {em['precision']}")
    lines.append("")
    lines.append("per inference (per sample, summed over its steps):")
    hdr = f"{'node':<14}{'primitive':<10}{'ACs':>12}{'MACs':>12}{'dense':>13}{'upd ops':>12}{'neuron upd':>12}" \
          f"{'spikes':>10}{'mem r+w':>13}{'energy':>13}"
    lines += [hdr, "-" * len(hdr)]
    rows = [(n["name"], n["primitive"], n["per_inference"], n["energy_pJ"]["total"]) for n in doc["nodes"]]
    rows.append(("TOTAL", "", doc["total"]["per_inference"], doc["total"]["energy_pJ"]["per_inference"]))
    for name, prim, c, e in rows:
        if name == "TOTAL":
            lines.append("-" * len(hdr))
        lines.append(f"{name[:13]:<14}{prim[:9]:<10}{_n(c['acs']):>12}{_n(c['macs']):>12}"
                     f"{_n(c['dense_acs'] + c['dense_macs']):>13}{_n(c['update_macs'] + c['update_acs']):>12}"
                     f"{_n(c['neuron_updates']):>12}{_n(c['spikes']):>10}"
                     f"{_n(c['weight_reads'] + c['state_reads'] + c['state_writes']):>13}{_e(e):>13}")
    ps = doc["total"]["per_step"]
    lines.append(f"per step (per sample): ACs {_n(ps['acs'])}, MACs {_n(ps['macs'])}, spikes {_n(ps['spikes'])}, "
                 f"energy {_e(doc['total']['energy_pJ']['per_step'])}")
    pi = doc["total"]["per_inference"]
    if pi["spikes_core"] + pi["spikes_chip"] + pi["spikes_offchip"]:
        lines.append(f"spike messages: within a core {_n(pi['spikes_core'])}, between cores {_n(pi['spikes_chip'])}, "
                     f"between chips {_n(pi['spikes_offchip'])}")
    lines += format_neurobench(doc["neurobench"])
    lines.append("")
    lines.append(f"energy per inference by count ({em['name']}, {em['precision']}):")
    for f, pj in doc["total"]["energy_pJ"]["by_count"].items():
        lines.append(f"  {f:<17}{_n(pi.get(f, pi['neuron_updates'] - pi['active_updates'])):>16} x "
                     f"{em['unit_prices_pJ'][f]:.4g} pJ = {_e(pj)}")
    if em["memory_tier"]:
        lines.append(f"  memory: model footprint {_n(em['footprint_bytes'])} bytes -> {em['memory_tier']}; {em['memory_rule']}")
    lines.append("constants and sources:")
    for k, c in em["constants"].items():
        lines.append(f"  {k:<16}{c['pJ']:>9.4g} pJ  {c['source']}")
    for f, why in em["unpriced"].items():
        lines.append(f"  not priced: {f} ({why})")
    for f, why in em["included"].items():
        lines.append(f"  included elsewhere: {f} ({why})")
    cmp_ = doc.get("compare")
    if cmp_:
        lines.append("")
        lines.append(f"comparison with a non-spiking {cmp_['network'].upper()} of the same layer sizes, "
                     f"{cmp_['steps']:.1f} steps, priced with {cmp_['energy_model']} {cmp_['precision']}:")
        for lay in cmp_["layers"]:
            lines.append(f"  {lay['layer']:<24}{_n(lay['macs']):>16} MACs  {_e(lay['energy_pJ'])}")
        lines.append(f"  {cmp_['network'].upper()}: {_n(cmp_['per_inference']['macs'])} synaptic MACs, "
                     f"{_e(cmp_['energy_pJ'])} per inference")
        lines.append(f"  SNN: {_e(cmp_['snn_energy_pJ'])} ({em['name']}), {_e(cmp_['snn_energy_pJ_same_model'])} "
                     f"({cmp_['energy_model']} {cmp_['precision']})")
        mem = cmp_["energy_pJ"] - cmp_["compute_energy_pJ"]
        lines.append(f"  {cmp_['network'].upper()} energy: arithmetic {_e(cmp_['compute_energy_pJ'])}, "
                     f"memory and the rest {_e(mem)}")
        r, net = cmp_["ratio_energy"], cmp_["network"].upper()
        rr = lambda v: "n/a (SNN count is zero)" if v is None else f"{v:.1f}x"  # noqa: E731
        lines.append(f"  ratio {net}/SNN energy: {rr(r)} ({em['name']} SNN), {rr(cmp_['ratio_energy_same_model'])} "
                     f"(both {cmp_['energy_model']}), arithmetic only {rr(cmp_['ratio_compute_same_model'])}; "
                     f"synaptic ops {rr(cmp_['ratio_synaptic_ops'])}")
        if "effective_energy_pJ" in cmp_:
            lines.append(f"  {net} effective (NeuroBench convention, same input): {_n(cmp_['effective_per_inference']['macs'])} "
                         f"synaptic MACs, {_e(cmp_['effective_energy_pJ'])}; ratio {net}/SNN energy "
                         f"{rr(cmp_['ratio_energy_effective'])} effective vs {rr(r)} dense; synaptic ops "
                         f"{rr(cmp_['ratio_synaptic_ops_effective'])} effective")
            lines.append(f"  assumptions: {cmp_['assumptions']}")
            v = cmp_["verdict"]
            rate = "n/a" if v["measured_rate"] is None else f"{v['measured_rate']:.4f}"
            lines.append(f"  energy verdict: hidden spike rate {rate} per neuron-step; E(rate) = {_e(v['energy_at_zero_rate_pJ'])} "
                         f"+ rate x {_e((v['energy_measured_pJ'] - v['energy_at_zero_rate_pJ']) / v['measured_rate']) if v['measured_rate'] else '-'}")
            for what in ("dense", "effective"):
                x = v["crossover_rate"][what]
                shown = "-" if x is None else (f"{x:.4f}" if x < 1 else "above 1 (unreachable)")
                lines.append(f"    break-even vs {what} {net}: {shown} ({v['verdict'][what]})")
        for k, c in cmp_["constants"].items():
            if k not in em["constants"]:
                lines.append(f"  {k:<16}{c['pJ']:>9.4g} pJ  {c['source']}")
    res = doc.get("loihi_resources")
    if res:
        lines += ["", "Loihi 1 resources (1024 compartments, 4096 input axons, 128 KB synaptic memory per core):",
                  f"  {'population':<16}{'type':<12}{'neurons':>8}{'synapses':>11}{'syn mem KB':>11}{'fan-in':>8}{'cores':>7}"]
        for r in res:
            lines.append(f"  {r['node']:<16}{r['type']:<12}{r['neurons']:>8}{r['synapses']:>11}{r['synmem_kb']:>11.1f}"
                         f"{r['fan_in']:>8}{'-' if r['cores'] is None else r['cores']:>7}")
        lines.append(f"  total: {sum(r['neurons'] for r in res)} neurons, {sum(r['synapses'] for r in res)} synapses "
                     "(cores: the partition pass's blocks per population; `snnc inspect` gives the packed total)")
    if doc["notes"]:
        lines.append("")
        lines += [f"note: {n}" for n in doc["notes"]]
    return "\n".join(lines)
