"""`Activity`: what a run did, recorded by every runtime and consumed by the cost model."""
from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

import numpy as np

from snnc.compiler.errors import FileFormatError


class LazyCounts(MutableMapping):
    """{node: int64 [T, B]} where an entry may be given as a function, called on first access (then kept).

    The NumPy runtime's whole-sequence loop hands its count functions over this way: a run whose
    activity nobody reads never counts. Pickling stores the counted values.
    """

    def __init__(self, pending: dict[str, Callable[[], np.ndarray]] | None = None):
        self._d: dict[str, object] = {}
        self._fn: set[str] = set()  # keys whose value is still a function
        for k, fn in (pending or {}).items():
            self.defer(k, fn)

    def defer(self, key: str, fn: Callable[[], np.ndarray]) -> None:
        self._d[key] = fn
        self._fn.add(key)

    def settle(self) -> None:
        """Count every entry not counted yet (before the arrays they read are reused)."""
        for k in list(self._fn):
            self[k]

    def __getitem__(self, key: str) -> np.ndarray:
        v = self._d[key]
        if key in self._fn:
            v = self._d[key] = v()
            self._fn.discard(key)
        return v

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        self._d[key] = value
        self._fn.discard(key)

    def __delitem__(self, key: str) -> None:
        del self._d[key]
        self._fn.discard(key)

    def __iter__(self):
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return f"LazyCounts({sorted(self._d)}, {len(self._fn)} not counted yet)"

    def __getstate__(self) -> dict:
        return {k: self[k] for k in list(self._d)}

    def __setstate__(self, state: dict) -> None:
        self._d, self._fn = dict(state), set()


@dataclass
class Activity:
    """Per node and step: how many output entries were nonzero (= spikes for spiking nodes).

    `nonzero[node]` is int64 [T, B] (a dict, or a LazyCounts that counts on first access); `steps[b]` is how many steps sample b actually
    ran (fewer than T after an early exit); `kinds[node]` is "spike" or "graded";
    `traces[node][var]` holds recorded outputs ("out") and states [T, B, n] when the
    run was asked to record them.
    """

    T: int
    batch: int
    nonzero: dict[str, np.ndarray] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    steps: np.ndarray | None = None
    traces: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.steps is None:
            self.steps = np.full(self.batch, self.T, dtype=np.int64)

    def spikes(self, node: str) -> np.ndarray:
        """Spikes per step and sample [T, B] of a spiking node."""
        if self.kinds.get(node) != "spike":
            raise KeyError(f"node '{node}' does not emit spikes")
        return self.nonzero[node]

    def total_spikes(self) -> int:
        return int(sum(v.sum() for n, v in self.nonzero.items() if self.kinds.get(n) == "spike"))

    def summary(self) -> str:
        lines = [f"steps: {self.T} x batch {self.batch} (mean steps run per sample {self.steps.mean():.1f})"]
        for n, v in self.nonzero.items():
            if self.kinds.get(n) == "spike":
                rate = v.sum() / max(1, self.steps.sum() * self.sizes.get(n, 1))
                lines.append(f"  {n}: {int(v.sum())} spikes, rate {rate:.4f} per neuron-step")
        return "\n".join(lines)

    # -- exchange (Lava subprocess, CLI) ---------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        out = {"__T": np.array(self.T), "__batch": np.array(self.batch), "__steps": self.steps}
        for n, v in self.nonzero.items():
            out[f"nz/{n}"] = v
            out[f"kind/{n}"] = np.array(self.kinds.get(n, "graded"))
            out[f"size/{n}"] = np.array(self.sizes.get(n, 0))
        for n, d in self.traces.items():
            for var, a in d.items():
                out[f"tr/{n}/{var}"] = a
        return out

    @classmethod
    def from_arrays(cls, arrs: dict[str, np.ndarray]) -> "Activity":
        try:
            a = cls(int(arrs["__T"]), int(arrs["__batch"]), steps=np.asarray(arrs["__steps"]))
        except KeyError as e:
            raise FileFormatError(f"activity record lacks {e}") from None
        for k, v in arrs.items():
            if k.startswith("nz/"):
                n = k[3:]
                a.nonzero[n] = np.asarray(v)
                a.kinds[n] = str(arrs[f"kind/{n}"])
                a.sizes[n] = int(arrs[f"size/{n}"])
            elif k.startswith("tr/"):
                n, var = k[3:].rsplit("/", 1)
                a.traces.setdefault(n, {})[var] = np.asarray(v)
        return a

    def save(self, path: str | os.PathLike) -> None:
        from snnc.compiler.files import atomic_path

        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **self.to_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Activity":
        with np.load(path, allow_pickle=False) as z:
            return cls.from_arrays(dict(z))
