"""NIR neurons -> snnc primitives under a discretization, a framework convention and a reset (docs/nir.md).

NIR states each neuron as an ODE; with alpha = 1 − dt/tau (forward Euler) or
exp(−dt/tau) (`exact`, per state variable) its step is, for the `nir` convention:

    LI/LIF   v = alpha·v + (1 − alpha)·(r·I + v_leak)
    CubaLIF  i = a_syn·i + (1 − a_syn)·w_in·I;  v = a_mem·v + (1 − a_mem)·(r·i + v_leak)  (this step's i)
    CubaLI   the same without threshold (LI with v_leak: CubaLI with a_syn = 0); I/IF: v = v + dt·r·I

snnc's CubaLIF and CubaLI integrate `i = a_syn·i + I`, so NIR's input factor (1 − a_syn)·w_in
moves into the membrane gain (snnc's i is NIR's i divided by it). Convention `norse`
follows Norse's own cells instead: LIFCell and LICell jump the current by w_in·I
(no dt/tau_syn factor), every cell starts at v = v_leak, and IAFCell integrates v + r·I (no dt). Norse 1.1's exporter also writes
tau = dt/tau_inv (dt times the time constant), so `norse` reads tau_file/dt. `snntorch` is NIR's
equations at snnTorch's hard-coded dt = 1e-4 (its exporter writes w_in = tau_syn/dt
and r = tau_mem/dt so that they reduce to Synaptic's i = alpha·i + I, v = beta·v + i).

Resets of a spiking neuron (v_reset must be 0): `zero` v·(1−s) (NIR), `subtract`
v − theta·s (snnc), `snntorch` v = alpha·v + gain·I − theta·s⁻ (snnTorch's default
subtract, the threshold taken off the next step after the decay), built as the
neuron with reset none plus a delay-1 self-connection diag(−theta/gain).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Primitive
from snnc.compiler.primitives import LI, LIF, CubaLI, CubaLIF, Dense

DISCRETIZATIONS = ("euler", "exact")
CONVENTIONS = ("nir", "snntorch", "norse")
RESETS = ("zero", "subtract", "snntorch")
DEFAULT_RESET = {"nir": "zero", "snntorch": "snntorch", "norse": "zero"}  # what each source's neurons do by default
CONVENTION_DT = {"snntorch": 1e-4}  # snnTorch's exporter and importer hard-code this dt


@dataclass(frozen=True)
class Settings:
    """How NIR's continuous-time neurons become discrete snnc primitives."""

    dt: float  # time step, in the units of the file's time constants
    method: str = "euler"  # "euler" (alpha = 1 − dt/tau) or "exact" (alpha = exp(−dt/tau))
    convention: str = "nir"  # whose equations: "nir", "snntorch" or "norse"
    reset: str = "zero"  # reset of NIR's spiking neurons: "zero", "subtract" or "snntorch"

    def __post_init__(self) -> None:
        for key, allowed in (("method", DISCRETIZATIONS), ("convention", CONVENTIONS), ("reset", RESETS)):
            if getattr(self, key) not in allowed:
                raise SnncError(f"NIR {key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}")
        if not (np.isfinite(self.dt) and self.dt > 0):
            raise SnncError(f"NIR import: dt must be a positive number, got {self.dt}")
        if self.convention == "snntorch" and self.method != "euler":
            raise SnncError("NIR convention snntorch is forward Euler (snnTorch's beta = 1 − dt/tau); "
                            "drop --discretization exact")


@dataclass
class Fragment:
    """Several IR nodes standing for one NIR node: NIR edges enter at `entry` and leave from `exit`."""

    nodes: dict[str, Primitive]  # name suffix ("" is the NIR node's own name) -> primitive
    edges: list[tuple[str, str, int]] = field(default_factory=list)  # (suffix, suffix, delay)
    entry: str = ""
    exit: str = ""


def f64(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def decay(name: str, tau: Any, st: Settings, what: str = "tau") -> np.ndarray:
    """alpha of NIR node `name` for time constant `tau`; tau <= 0, and dt >= tau under Euler, are errors."""
    tau = f64(tau)
    if st.convention == "norse":  # Norse 1.1's exporter writes tau = dt/tau_inv, i.e. dt·tau
        tau = tau / st.dt
    if np.any(~(tau > 0)):
        raise SnncError(f"NIR node '{name}': {what} {tau[~(tau > 0)].ravel()[0]:g} is not positive")
    if st.method == "euler":
        if np.any(tau <= st.dt):
            raise SnncError(f"NIR node '{name}': {what} {tau[tau <= st.dt].ravel()[0]:g} <= dt {st.dt:g}; "
                            "forward Euler needs dt < tau (give the file's own --dt, or --discretization exact)")
        return 1.0 - st.dt / tau
    return np.exp(-st.dt / tau)


def _zero_reset(name: str, n: Any) -> None:
    if np.any(f64(n.v_reset) != 0):
        raise SnncError(f"NIR node '{name}' ({type(n).__name__}): v_reset != 0 has no snnc counterpart "
                        "(snnc resets to zero or subtracts)")


def rest(n: Any, st: Settings, like: np.ndarray) -> np.ndarray:
    """The initial membrane potential: Norse's cells start at v_leak, NIR's reference (and snnTorch) at 0."""
    if st.convention != "norse":
        return np.zeros_like(like)
    return f64(n.v_leak) * np.ones_like(like)


def spiking(name: str, alpha, gain, bias, theta, st: Settings, reset: str | None = None,
            syn: tuple | None = None, v0: Any = 0.0) -> Primitive | Fragment:
    """The spiking neuron v = alpha·v + gain·i + bias with i = I, or i = syn[0]·i + syn[1]·I, under `reset`."""
    reset = reset or st.reset
    a_syn, g_syn = (np.zeros_like(alpha), np.ones_like(alpha)) if syn is None else syn
    v0 = f64(v0) * np.ones_like(alpha)
    if reset != "snntorch":
        return CubaLIF(a_syn, alpha, gain * g_syn, theta, bias, reset, v0=v0) if syn is not None or np.any(bias) \
            else LIF(alpha, gain, theta, reset, v0)
    if np.any(bias != 0):
        raise SnncError(f"NIR node '{name}': v_leak != 0 with the snntorch reset has no snnc counterpart")
    if np.any(gain == 0):
        raise SnncError(f"NIR node '{name}': the snntorch reset needs r != 0 (it subtracts theta through the input)")
    # v = alpha·v + gain·(i − theta/gain·s⁻) = alpha·v + gain·i − theta·s⁻
    frag = Fragment({"": LIF(alpha, gain, theta, "none"), ".reset": Dense.of(np.diag(-theta / gain))},
                    [("", ".reset", 0), (".reset", "", 1)])
    if syn is not None:
        frag.nodes[".syn"] = LI(a_syn, g_syn)
        frag.edges.append((".syn", "", 0))
        frag.entry = ".syn"
    return frag


def membrane(name: str, n: Any, st: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alpha, gain, bias) of an NIR LI, LIF, I or IF membrane: v = alpha·v + gain·I + bias."""
    import nir

    r = f64(n.r)
    if isinstance(n, (nir.I, nir.IF)):
        scale = 1.0 if st.convention == "norse" else st.dt  # Norse's IAFCell ignores dt
        return np.ones_like(r), scale * r, np.zeros_like(r)
    alpha = decay(name, n.tau, st)
    return alpha, (1.0 - alpha) * r, (1.0 - alpha) * f64(n.v_leak)


def synapse(name: str, n: Any, st: Settings) -> tuple[np.ndarray, np.ndarray]:
    """(a_syn, input gain) of a CubaLIF/CubaLI current: i = a_syn·i + gain·I."""
    a_syn = decay(name, n.tau_syn, st, "tau_syn")
    w_in = f64(n.w_in) * np.ones_like(a_syn)
    return a_syn, (w_in if st.convention == "norse" else (1.0 - a_syn) * w_in)


def imp_li(name: str, n: Any, st: Settings) -> Primitive:
    alpha, gain, bias = membrane(name, n, st)
    v0 = rest(n, st, alpha) if hasattr(n, "v_leak") else np.zeros_like(alpha)
    if np.any(bias != 0):  # v_leak: the bias of a CubaLI whose current is its input (alpha_syn = 0)
        return CubaLI(np.zeros_like(alpha), alpha, gain, bias, v0=v0)
    return LI(alpha, gain, v0)


def imp_lif(name: str, n: Any, st: Settings) -> Primitive | Fragment:
    _zero_reset(name, n)
    alpha, gain, bias = membrane(name, n, st)
    return spiking(name, alpha, gain, bias, f64(n.v_threshold), st, v0=rest(n, st, alpha) if hasattr(n, "v_leak") else 0.0)


def _cuba_membrane(name: str, n: Any, st: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a_mem = decay(name, n.tau_mem, st, "tau_mem")
    return a_mem, (1.0 - a_mem) * f64(n.r), (1.0 - a_mem) * f64(n.v_leak)


def imp_cuba_lif(name: str, n: Any, st: Settings) -> Primitive | Fragment:
    _zero_reset(name, n)
    a_mem, gain, bias = _cuba_membrane(name, n, st)
    return spiking(name, a_mem, gain, bias, f64(n.v_threshold), st, syn=synapse(name, n, st), v0=rest(n, st, a_mem))


def imp_cuba_li(name: str, n: Any, st: Settings) -> Primitive:
    """snnc's CubaLI, NIR's input factor moved into the membrane gain as for CubaLIF."""
    a_mem, gain, bias = _cuba_membrane(name, n, st)
    a_syn, g_syn = synapse(name, n, st)
    return CubaLI(a_syn, a_mem, gain * g_syn, bias, v0=rest(n, st, a_mem))


def rules() -> dict[type, Any]:
    """Import rule per NIR neuron type: (name, node, Settings) -> Primitive or Fragment."""
    import nir

    return {nir.LI: imp_li, nir.I: imp_li, nir.LIF: imp_lif, nir.IF: imp_lif,
            nir.CubaLIF: imp_cuba_lif, nir.CubaLI: imp_cuba_li}
