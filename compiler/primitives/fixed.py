"""Primitives the passes produce: Loihi fixed point and int8 (`quantize`, DESIGN §6), and Affine (`fuse`).

Loihi fixed point (Lava 0.10 `fixed_pt` models, bit for bit for LoihiDense and LoihiLIF):
trunc12(x) = sign(x)·(|x| >> 12) rounds toward zero; states are 24-bit; synaptic
input a_in and thresholds are MSB-aligned by << 6.

- LoihiDense: acc = W·x (binary spikes or integer graded messages), then
  acc << weight_exp (arithmetic >> −weight_exp when negative); no saturation.
  W holds mantissas already clipped to the sign mode and truncated to
  num_weight_bits (mixed [-256, 255], excitatory [0, 255], inhibitory [-255, 0]).
- LoihiLIF (Lava LIF; covers snnc LIF with du = 4095 and CubaLIF):
  u = wrap24(trunc12(u·(4096 − (du + 1))) + (a_in << 6));
  v = clip24(trunc12(v·(4096 − dv)) + u + bias), bias = bias_mant << bias_exp;
  s = v > vth << 6; reset zero (Lava's only mode), subtract (v − (vth << 6)·s) or none.
- LoihiLI: v = clip24(trunc12(v·(4096 − dv)) + (a_in << 6) + bias); the output is v
  (Lava: a LIF with du = 4095 whose threshold is never reached).
- LoihiALIF, snnc's fixed-point ALIF (seed 000), shared with the Lava backend's
  fixed_pt model. v is in the same scale as LIF's (threshold units << 6); the
  adaptation trace b ∈ [0, 1] is held with 18 fractional bits (b·2^18):
    b = trunc12(b·(4096 − dr)) + (dr << 6)·s⁻          (rho ≈ 1 − dr/4096)
    B = (vth << 6) + trunc12(beta·b)                    (beta in vth units)
    v = clip24(trunc12(v·(4096 − dv)) + (a_in << 6) + bias − B·s⁻)
    s = v > B
  dr, dv are 12-bit unsigned, vth and beta 17-bit unsigned, products in int64.
  (1 − alpha)·R is folded into the incoming weights, as gain is for LIF.

int8 (`Int8Dense`): y = (W_q · q(x)) · w_scale · x_scale + b with int8 weights,
q(x) = clip(rint(x / x_scale), −127, 127) and int32 accumulation; states stay float.

Affine: y = scale·x + shift per feature (eval batch norm, constant scales), folded into Dense by `fuse`.
"""
from __future__ import annotations

import numpy as np

from snnc.compiler.errors import PrimitiveError
from snnc.compiler.ir import ANY, SPIKE, Primitive, Synapse, primitive

SIGN_MODES = ("mixed", "excitatory", "inhibitory")
LIF_RESETS = ("zero", "subtract", "none")
DECAY_MAX = 4095  # 12-bit unsigned decays
VTH_MAX = 2**17 - 1  # 17-bit unsigned thresholds
BIAS_MANT = (-(2**12), 2**12 - 1)  # 13-bit signed bias mantissa
BIAS_EXP = (0, 7)  # 3-bit unsigned bias exponent (Lava docstring, Loihi 1)
WEIGHT_EXP = (-8, 7)  # Loihi's weight exponent range


def weight_range(sign_mode: str, num_weight_bits: int = 8) -> tuple[int, int, int]:
    """(lowest, highest, truncated low bits) of weight mantissas in `sign_mode` (Lava's clip + truncate)."""
    mixed = int(sign_mode == "mixed")
    k = 8 - num_weight_bits + mixed
    if sign_mode == "mixed":
        return -256, 255 >> k << k, k
    if sign_mode == "excitatory":
        return 0, 255 >> k << k, k
    return -(255 >> k << k), 0, k


def lava_weights(W: np.ndarray, sign_mode: str, num_weight_bits: int = 8) -> np.ndarray:
    """What Lava's fixed_pt Dense does to W: int cast (toward zero), clip to the sign mode, truncate low bits."""
    mixed = int(sign_mode == "mixed")
    w = np.asarray(W).astype(np.int64)
    if sign_mode == "inhibitory":
        w = -w
    w = np.clip(w, -256 * mixed, 255)
    k = 8 - num_weight_bits + mixed
    w = (w >> k) << k  # arithmetic shift: negative mixed weights round toward -inf, as in Lava
    return -w if sign_mode == "inhibitory" else w


def _need_int(node: Primitive, *fields: str) -> None:
    for f in fields:
        a = getattr(node, f)
        if a.dtype.kind not in "iu":
            raise PrimitiveError(f"{type(node).__name__}: '{f}' must be an integer array, got {a.dtype}")


def _need_range(node: Primitive, f: str, lo: int, hi: int) -> None:
    a = getattr(node, f)
    if a.size and (a.min() < lo or a.max() > hi):
        raise PrimitiveError(f"{type(node).__name__}: '{f}' must lie in [{lo}, {hi}], got [{a.min()}, {a.max()}]")


class FixedNeuron(Primitive):
    """Base of the fixed-point neuron populations: integer per-neuron fields, int64 states in the NumPy runtime,
    and a bias given as a 13-bit signed mantissa shifted by a 3-bit exponent."""

    integer = True

    def check_fixed(self, decays: tuple[str, ...] = (), unsigned: tuple[str, ...] = ()) -> None:
        """Every per-neuron field an integer; `decays` 12-bit, `unsigned` 17-bit; the bias in range."""
        _need_int(self, *self.per_neuron)
        for f in decays:
            _need_range(self, f, 0, DECAY_MAX)
        for f in unsigned:
            _need_range(self, f, 0, VTH_MAX)
        _need_range(self, "bias_mant", *BIAS_MANT)
        _need_range(self, "bias_exp", *BIAS_EXP)


class FixedSpiking(FixedNeuron):
    """A fixed-point population that emits spikes."""

    @property
    def out_kind(self) -> str:
        return SPIKE


@primitive
class LoihiDense(Synapse):
    """acc = W·x; y = acc << weight_exp (>> −weight_exp if negative): Lava's fixed_pt Dense without its 1-step buffer."""

    W: np.ndarray  # int weight mantissas [out, in], representable in sign_mode
    weight_exp: int = 0  # shared exponent of this Dense
    num_weight_bits: int = 8  # mantissa bits (Lava's num_weight_bits)
    sign_mode: str = "mixed"  # mixed, excitatory or inhibitory

    integer = True

    def check(self) -> None:
        _need_int(self, "W")
        if self.W.ndim != 2:
            raise PrimitiveError(f"LoihiDense: W must be 2-D [out, in], got shape {self.W.shape}")
        if self.sign_mode not in SIGN_MODES:
            raise PrimitiveError(f"LoihiDense: sign_mode must be one of {', '.join(SIGN_MODES)}, got {self.sign_mode!r}")
        if not 1 <= int(self.num_weight_bits) <= 8:
            raise PrimitiveError(f"LoihiDense: num_weight_bits must be 1..8, got {self.num_weight_bits}")
        if not WEIGHT_EXP[0] <= int(self.weight_exp) <= WEIGHT_EXP[1]:
            raise PrimitiveError(f"LoihiDense: weight_exp must be in {list(WEIGHT_EXP)}, got {self.weight_exp}")
        if not np.array_equal(lava_weights(self.W, self.sign_mode, int(self.num_weight_bits)), self.W):
            lo, hi, k = weight_range(self.sign_mode, int(self.num_weight_bits))
            raise PrimitiveError(f"LoihiDense: weights are not representable in sign mode {self.sign_mode} "
                                 f"(range [{lo}, {hi}], multiples of {1 << k})")

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(lava_weights(rng.integers(-256, 256, (n, n + 2)), "mixed", 8), 1, 8, "mixed")


@primitive
class LoihiLIF(FixedSpiking):
    """Lava's fixed_pt LIF: u = wrap24(trunc12(u·(4096−du−1)) + (a_in<<6)); v = clip24(trunc12(v·(4096−dv)) + u + bias); s = v > vth<<6."""

    du: np.ndarray  # 12-bit current decay (Lava adds 1: 4095 means u forgets everything)
    dv: np.ndarray  # 12-bit voltage decay
    vth: np.ndarray  # 17-bit threshold mantissa (compared << 6)
    bias_mant: np.ndarray = 0  # 13-bit signed bias mantissa
    bias_exp: np.ndarray = 0  # 3-bit bias exponent
    reset: str = "zero"  # zero (Lava's), subtract or none
    u0: np.ndarray = 0  # initial current
    v0: np.ndarray = 0  # initial voltage

    states = {"u": "u0", "v": "v0"}
    per_neuron = ("du", "dv", "vth", "bias_mant", "bias_exp", "u0", "v0")

    def check(self) -> None:
        self.check_fixed(decays=("du", "dv"), unsigned=("vth",))
        if self.reset not in LIF_RESETS:
            raise PrimitiveError(f"LoihiLIF: reset must be one of {', '.join(LIF_RESETS)}, got {self.reset!r}")

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        i = lambda lo, hi: rng.integers(lo, hi, n)  # noqa: E731
        return cls(i(0, 4096), i(0, 4096), i(1, 1000), i(-100, 100), i(0, 3), "zero", i(-50, 50), i(-50, 50))


@primitive
class LoihiLI(FixedNeuron):
    """Fixed-point leaky readout: v = clip24(trunc12(v·(4096−dv)) + (a_in<<6) + bias); output v (integer, graded)."""

    dv: np.ndarray  # 12-bit voltage decay
    bias_mant: np.ndarray = 0  # 13-bit signed bias mantissa
    bias_exp: np.ndarray = 0  # 3-bit bias exponent
    v0: np.ndarray = 0  # initial voltage

    states = {"v": "v0"}
    per_neuron = ("dv", "bias_mant", "bias_exp", "v0")

    def check(self) -> None:
        self.check_fixed(decays=("dv",))

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.integers(0, 4096, n), rng.integers(-100, 100, n), rng.integers(0, 3, n), rng.integers(-50, 50, n))


@primitive
class LoihiALIF(FixedSpiking):
    """Fixed-point ALIF: b = trunc12(b·(4096−dr)) + (dr<<6)·s⁻; B = (vth<<6) + trunc12(beta·b); v = clip24(trunc12(v·(4096−dv)) + (a_in<<6) + bias − B·s⁻); s = v > B."""

    dv: np.ndarray  # 12-bit voltage decay, alpha ≈ 1 − dv/4096
    dr: np.ndarray  # 12-bit adaptation decay, rho ≈ 1 − dr/4096
    vth: np.ndarray  # 17-bit baseline threshold mantissa b0 (compared << 6)
    beta: np.ndarray  # 17-bit adaptation strength in vth units
    bias_mant: np.ndarray = 0  # 13-bit signed bias mantissa
    bias_exp: np.ndarray = 0  # 3-bit bias exponent
    v0: np.ndarray = 0  # initial voltage
    b_init: np.ndarray = 0  # initial adaptation trace, b·2^18

    states = {"v": "v0", "b": "b_init", "s": None}
    per_neuron = ("dv", "dr", "vth", "beta", "bias_mant", "bias_exp", "v0", "b_init")

    def check(self) -> None:
        self.check_fixed(decays=("dv", "dr"), unsigned=("vth", "beta"))

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        i = lambda lo, hi: rng.integers(lo, hi, n)  # noqa: E731
        return cls(i(0, 4096), i(0, 4096), i(1, 1000), i(0, 2000), i(-100, 100), i(0, 3), i(-50, 50), i(0, 1 << 18))


@primitive
class Int8Dense(Synapse):
    """y = (W·q(x))·w_scale·x_scale + b, q(x) = clip(rint(x/x_scale), −127, 127), int32 accumulation."""

    W: np.ndarray  # int8 weights [out, in], symmetric per output channel
    w_scale: np.ndarray  # per-output-channel weight scale [out]
    x_scale: np.ndarray  # input scale (1 for spikes: exact)
    b: np.ndarray  # float bias [out]

    def check(self) -> None:
        if self.W.dtype != np.int8 or self.W.ndim != 2:
            raise PrimitiveError(f"Int8Dense: W must be a 2-D int8 array, got {self.W.dtype} {self.W.shape}")
        if self.w_scale.shape != (self.W.shape[0],) or self.b.shape != (self.W.shape[0],):
            raise PrimitiveError(f"Int8Dense: w_scale and b must have shape ({self.W.shape[0]},)")
        if self.x_scale.shape != () or not float(self.x_scale) > 0:
            raise PrimitiveError(f"Int8Dense: x_scale must be a positive scalar, got {self.x_scale}")

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.integers(-127, 128, (n, n + 2)).astype(np.int8), rng.uniform(0.001, 0.01, n), 1.0, rng.normal(0, 0.1, n))


@primitive
class Affine(Primitive):
    """y = scale·x + shift per feature (eval-mode batch norm, constant gains); `fuse` folds it into Dense."""

    scale: np.ndarray  # per-feature multiplier
    shift: np.ndarray = 0.0  # per-feature offset

    ports = {"in": ANY}
    per_neuron = ("scale", "shift")

    @classmethod
    def example(cls, n=4, rng=None):
        rng = rng or np.random.default_rng(0)
        return cls(rng.uniform(0.5, 2.0, n), rng.normal(0, 0.1, n))

    @classmethod
    def batchnorm(cls, mean, var, weight, bias, eps: float = 1e-5) -> "Affine":
        """Eval-mode BatchNorm1d as an Affine: y = (x − mean)/sqrt(var + eps)·weight + bias."""
        s = np.asarray(weight, float) / np.sqrt(np.asarray(var, float) + eps)
        return cls(s, np.asarray(bias, float) - np.asarray(mean, float) * s)
