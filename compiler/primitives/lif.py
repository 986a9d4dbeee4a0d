"""Leaky integrate-and-fire neurons: LIF, CubaLIF, ALIF (seed 000) and the LI readout.

H(x) = 1 if x > 0 else 0 (strict); s⁻ is the neuron's own spike of step t-1.
"""
from __future__ import annotations

import functools

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import GRADED, SPIKE, Primitive, primitive

RESET_MODES = ("zero", "subtract", "none")


class _Spiking(Primitive):
    elementwise = True  # LIF, CubaLIF, ALIF: per-neuron arithmetic only
    @property
    def out_kind(self) -> str:
        return SPIKE

    def _reset(self, ops, v, spk, theta):
        """The membrane after a spike: zero v·(1−s), subtract v − theta·s, or none."""
        if self.reset == "zero":
            return ops.mul(v, ops.sub(1, spk))
        if self.reset == "subtract":
            return ops.sub(v, ops.mul(theta, spk))
        return v

    def _check_reset(self) -> None:
        if self.reset not in RESET_MODES:
            raise PrimitiveError(f"{type(self).__name__}: reset must be one of {', '.join(RESET_MODES)}, got {self.reset!r}")


@primitive
class LIF(_Spiking):
    """v = alpha·v + gain·I; s = H(v − theta); reset: zero v·(1−s), subtract v − theta·s, or none."""

    alpha: np.ndarray  # membrane decay per step, exp(-dt/tau_m)
    gain: np.ndarray  # input gain, e.g. (1 − alpha)·R
    theta: np.ndarray  # firing threshold
    reset: str = "zero"  # reset mode after a spike
    v0: np.ndarray = 0.0  # initial membrane potential

    states = {"v": "v0"}
    per_neuron = ("alpha", "gain", "theta", "v0")

    @property
    def linear_states(self):  # type: ignore[override]
        return (("v", "alpha"),) if self.reset == "none" else ()  # a reset makes v depend on its own spikes

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.uniform(0.8, 0.99, n), rng.uniform(0.1, 1, n), rng.uniform(0.5, 1.5, n), "subtract", rng.uniform(0, 0.5, n))

    def check(self) -> None:
        self._check_reset()

    def step(self, ops, p, s, x):
        v = ops.add(ops.mul(p.alpha, s["v"]), ops.mul(p.gain, x["in"]))
        spk = ops.heaviside(v, p.theta)
        return spk, {"v": self._reset(ops, v, spk, p.theta)}


@primitive
class CubaLIF(_Spiking):
    """i = alpha_syn·i + I; v = alpha_mem·v + gain·i + bias; s = H(v − theta); reset as LIF."""

    alpha_syn: np.ndarray  # synaptic current decay per step
    alpha_mem: np.ndarray  # membrane decay per step
    gain: np.ndarray  # current-to-membrane gain
    theta: np.ndarray  # firing threshold
    bias: np.ndarray = 0.0  # constant membrane input per step
    reset: str = "zero"  # reset mode after a spike
    i0: np.ndarray = 0.0  # initial synaptic current
    v0: np.ndarray = 0.0  # initial membrane potential

    states = {"i": "i0", "v": "v0"}
    per_neuron = ("alpha_syn", "alpha_mem", "gain", "theta", "bias", "i0", "v0")

    @property
    def linear_states(self):  # type: ignore[override]
        # the current never reads the spikes; v does through its reset, so it stays stepped unless there is none
        return (("i", "alpha_syn"),) + ((("v", "alpha_mem"),) if self.reset == "none" else ())

    @functools.cached_property
    def _biased(self) -> bool:
        return bool(np.any(self.bias))  # once per node: an .any() in every step cost about 1 µs of it

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        u = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
        return cls(u(0.5, 0.9), u(0.8, 0.99), u(0.1, 1), u(0.5, 1.5), u(0, 0.05), "zero", u(0, 0.1), u(0, 0.5))

    def check(self) -> None:
        self._check_reset()

    def step(self, ops, p, s, x):
        i = ops.add(ops.mul(p.alpha_syn, s["i"]), x["in"])
        v = ops.add(ops.mul(p.alpha_mem, s["v"]), ops.mul(p.gain, i))
        if self._biased:  # v + 0 == v
            v = ops.add(v, p.bias)
        spk = ops.heaviside(v, p.theta)
        return spk, {"i": i, "v": self._reset(ops, v, spk, p.theta)}


@primitive
class ALIF(_Spiking):
    """Adaptive LIF of seed 000 (Yin et al. 2021):

    b = rho·b + (1−rho)·s⁻;  B = b0 + beta·b;  v = alpha·v + (1−alpha)·R·I − B·s⁻;  s = H(v − B).
    """

    alpha: np.ndarray  # membrane decay per step, exp(-dt/tau_m)
    rho: np.ndarray  # adaptation decay per step, exp(-dt/tau_adp)
    b0: np.ndarray  # baseline threshold
    beta: np.ndarray  # adaptation strength (0 gives a plain LIF with soft reset)
    R: np.ndarray = 1.0  # membrane resistance
    v0: np.ndarray = 0.0  # initial membrane potential
    b_init: np.ndarray = 0.0  # initial adaptation variable

    states = {"v": "v0", "b": "b_init", "s": None}
    per_neuron = ("alpha", "rho", "b0", "beta", "R", "v0", "b_init")

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.uniform(0.8, 0.99, n), rng.uniform(0.9, 0.999, n), 0.01, 1.8, 1.0, rng.uniform(0, 0.5, n), 0.01)

    def step(self, ops, p, s, x):
        s_prev = s["s"]
        b = ops.add(ops.mul(p.rho, s["b"]), ops.mul(ops.sub(1, p.rho), s_prev))
        B = ops.add(p.b0, ops.mul(p.beta, b))
        v_in = ops.add(ops.mul(p.alpha, s["v"]), ops.mul(ops.mul(ops.sub(1, p.alpha), p.R), x["in"]))
        v = ops.sub(v_in, ops.mul(B, s_prev))
        spk = ops.heaviside(v, B)
        return spk, {"v": v, "b": b, "s": spk}


@primitive
class LI(Primitive):
    """v = alpha·v + gain·I (graded readout; the output is v)."""

    alpha: np.ndarray  # membrane decay per step
    gain: np.ndarray  # input gain, e.g. (1 − alpha)·R
    v0: np.ndarray = 0.0  # initial membrane potential

    states = {"v": "v0"}
    per_neuron = ("alpha", "gain", "v0")
    linear_states = (("v", "alpha"),)
    elementwise = True

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.uniform(0.8, 0.99, n), rng.uniform(0.1, 1, n), rng.uniform(0, 0.5, n))

    @property
    def out_kind(self) -> str:
        return GRADED

    def step(self, ops, p, s, x):
        v = ops.add(ops.mul(p.alpha, s["v"]), ops.mul(p.gain, x["in"]))
        return v, {"v": v}


@primitive
class CubaLI(Primitive):
    """i = alpha_syn·i + I; v = alpha_mem·v + gain·i + bias (current-based leaky integrator; graded output v).

    NIR's CubaLI (tau_syn·di/dt = −i + w_in·I, tau_mem·dv/dt = v_leak − v + R·i) under forward Euler
    at step dt: alpha_syn = 1 − dt/tau_syn (the input scale (dt/tau_syn)·w_in folded into the incoming
    weights, as for CubaLIF), alpha_mem = 1 − dt/tau_mem, gain = (dt/tau_mem)·R, bias = (dt/tau_mem)·v_leak.
    """

    alpha_syn: np.ndarray  # synaptic current decay per step
    alpha_mem: np.ndarray  # membrane decay per step
    gain: np.ndarray  # current-to-membrane gain, e.g. (1 − alpha_mem)·R
    bias: np.ndarray = 0.0  # constant membrane input per step, e.g. (1 − alpha_mem)·v_leak
    i0: np.ndarray = 0.0  # initial synaptic current
    v0: np.ndarray = 0.0  # initial membrane potential

    states = {"i": "i0", "v": "v0"}
    per_neuron = ("alpha_syn", "alpha_mem", "gain", "bias", "i0", "v0")
    linear_states = (("i", "alpha_syn"), ("v", "alpha_mem"))
    elementwise = True

    @functools.cached_property
    def _biased(self) -> bool:
        return bool(np.any(self.bias))  # once per node: an .any() in every step cost about 1 µs of it

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        u = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
        return cls(u(0.5, 0.9), u(0.8, 0.99), u(0.1, 1), u(-0.05, 0.05), u(-0.1, 0.1), u(0, 0.5))

    @property
    def out_kind(self) -> str:
        return GRADED

    def step(self, ops, p, s, x):
        i = ops.add(ops.mul(p.alpha_syn, s["i"]), x["in"])
        v = ops.add(ops.mul(p.alpha_mem, s["v"]), ops.mul(p.gain, i))
        if self._biased:  # v + 0 == v
            v = ops.add(v, p.bias)
        return v, {"i": i, "v": v}
