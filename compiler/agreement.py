"""Agreement figures between a reference run (PyTorch) and a backend run: what `snnc verify` prints."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from snnc.compiler.primitives.rc import DECISION, TIME
from snnc.compiler.activity import Activity


@dataclass
class Check:
    """One compared quantity: `agree` of `total` entries within tolerance, and the worst difference."""

    what: str
    agree: int
    total: int
    max_diff: float
    note: str = ""
    kind: str = "graded"  # graded (within tolerance), spikes (identical entries) or exact (decisions)

    @property
    def fraction(self) -> float:
        return self.agree / self.total if self.total else 1.0


@dataclass
class Agreement:
    """All checks of one target against the reference, and whether they pass `min_fraction`."""

    target: str
    checks: list[Check] = field(default_factory=list)
    min_fraction: float = 0.999

    def required(self, c: Check) -> float:
        """The agreement a check needs: graded values may stray only where a spike differs.

        A flipped spike (float rounding at a threshold) legitimately changes later values,
        so with any spike mismatch each check needs `min_fraction`; when every spike
        and decision agrees exactly, every graded value must be within tolerance.
        """
        spikes_exact = all(o.fraction == 1.0 for o in self.checks if o.kind != "graded")
        return 1.0 if c.kind == "graded" and spikes_exact else self.min_fraction

    @property
    def ok(self) -> bool:
        return all(c.fraction >= self.required(c) for c in self.checks)

    def format(self) -> str:
        lines = [f"target {self.target}: {'PASS' if self.ok else 'FAIL'} (spikes and decisions need >= "
                 f"{100 * self.min_fraction:.2f} % agreement; graded values all within tolerance unless a spike differs)"]
        for c in self.checks:
            flag = "ok " if c.fraction >= self.required(c) else "BAD"
            lines.append(f"  {flag} {c.what:<38} {100 * c.fraction:8.4f} % of {c.total} agree, max |diff| {c.max_diff:.3g}{('  ' + c.note) if c.note else ''}")
        return "\n".join(lines)


def compare_graded(what: str, ref: np.ndarray, got: np.ndarray, atol: float, rtol: float) -> Check:
    """Entries with |got − ref| <= atol + rtol·|ref|."""
    if ref.shape != got.shape:
        return Check(what, 0, int(ref.size), float("inf"), f"shape {got.shape} != reference {ref.shape}")
    d = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    ok = d <= atol + rtol * np.abs(ref)
    return Check(what, int(ok.sum()), int(ok.size), float(d.max()) if d.size else 0.0)


def compare_spikes(what: str, ref: np.ndarray, got: np.ndarray) -> Check:
    """Identical spike entries; notes the spike counts of both."""
    if ref.shape != got.shape:
        return Check(what, 0, int(ref.size), float("inf"), f"shape {got.shape} != reference {ref.shape}")
    same = (ref != 0) == (got != 0)
    return Check(what, int(same.sum()), int(same.size), float(np.abs(got - ref).max()) if ref.size else 0.0,
                 f"spikes: reference {int((ref != 0).sum())}, target {int((got != 0).sum())}", "spikes")


def compare_counts(what: str, ref: np.ndarray, got: np.ndarray) -> Check:
    """Per step and sample spike counts (when a target cannot return whole spike trains)."""
    if ref.shape != got.shape:
        return Check(what, 0, int(ref.size), float("inf"), f"shape {got.shape} != reference {ref.shape}")
    same = ref == got
    return Check(what, int(same.sum()), int(same.size), float(np.abs(got - ref).max()) if ref.size else 0.0,
                 "compared as spike counts per step and sample", "spikes")


def compare_exact(what: str, ref: np.ndarray, got: np.ndarray) -> Check:
    """Entries that are exactly equal (decisions and decision times of an early exit)."""
    if ref.shape != got.shape:
        return Check(what, 0, int(ref.size), float("inf"), f"shape {got.shape} != reference {ref.shape}")
    same = ref == got
    return Check(what, int(same.sum()), int(same.size), float(np.abs(got.astype(np.float64) - ref).max()) if ref.size else 0.0,
                 "compared exactly", "exact")


def agreement(target: str, ref_outputs: dict[str, np.ndarray], ref_spikes: dict[str, np.ndarray],
              outputs: dict[str, np.ndarray], activity: Activity, kinds: dict[str, str],
              atol: float, rtol: float, min_fraction: float) -> Agreement:
    """Compare outputs (by kind) and every recorded spiking node between reference and target."""
    ag = Agreement(target, min_fraction=min_fraction)
    for name, ref in ref_outputs.items():
        got = outputs.get(name)
        if got is None:
            ag.checks.append(Check(f"output {name}", 0, int(ref.size), float("inf"), "missing from the target's outputs"))
        elif name.endswith((DECISION, TIME)):
            ag.checks.append(compare_exact(f"{name[name.rindex(':') + 1:]}s {name[:name.rindex(':')]}", ref, got))
        elif kinds.get(name) == "spike":
            ag.checks.append(compare_spikes(f"output {name} (spikes)", ref, got))
        else:
            ag.checks.append(compare_graded(f"output {name}", ref, got, atol, rtol))
    for node, ref in ref_spikes.items():
        tr = activity.traces.get(node, {}).get("out")
        if tr is not None:
            ag.checks.append(compare_spikes(f"spikes {node}", ref, tr))
        elif node in activity.nonzero:
            ag.checks.append(compare_counts(f"spike counts {node}", np.count_nonzero(ref, axis=2), activity.nonzero[node]))
        else:  # a layer the target did not record cannot be shown to agree: a failure, not a skip
            ag.checks.append(Check(f"spikes {node}", 0, int(ref.size), float("inf"), "NOT RECORDED by the target", "spikes"))
    return ag
