"""Description of a feed-forward LIF network: a chain of Dense -> LIF layers.

A :class:`LIFNetwork` is a small frozen value. The same description builds a Lava process graph
(:mod:`lava_plastic.lava_graph`) and runs in the batched engine (:mod:`lava_plastic.engine`).
Its ``precision`` says how the numbers are read:

* ``"float"``: Lava's ``floating_pt`` models. ``du``/``dv`` are fractions in [0, 1], weights,
  biases and thresholds are reals; ``bias_exp`` is ignored (as Lava's float LIF ignores it).
* ``"fixed"``: Lava's bit-accurate ``fixed_pt`` models and Loihi 2. Every number is an
  integer in the register formats listed in :mod:`lava_plastic.fixed_point`: weights 8-bit +
  sign with ``weight_exp`` and ``num_weight_bits``, ``du``/``dv`` 12-bit, ``bias_mant`` 13-bit
  signed, ``bias_exp`` 3-bit, ``vth`` 17-bit.

Validation refuses anything the hardware would silently clip, wrap or truncate at
construction: out-of-range weights and parameters and non-integer fixed-point values are errors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lava_plastic import fixed_point as fp
from lava_plastic.errors import LavaPlasticError

PRECISIONS = ("float", "fixed")


@dataclass(frozen=True, eq=False)
class LIFLayer:
    """A Dense connection (``weights`` of shape ``(n_out, n_in)``) into ``n_out`` LIF neurons.

    ``graded_input`` makes the Dense read graded payloads (Lava ``num_message_bits=24``);
    otherwise its input must be binary spikes (``num_message_bits=0``). Lava would silently
    binarise graded values on a binary port; here that is an error.
    """

    weights: np.ndarray
    du: float
    dv: float
    vth: float
    bias_mant: np.ndarray | float = 0.0
    bias_exp: np.ndarray | int = 0
    weight_exp: int = 0
    num_weight_bits: int = fp.WEIGHT_BITS
    graded_input: bool = False

    @property
    def n_in(self) -> int:
        return int(self.weights.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weights.shape[0])

    @property
    def num_message_bits(self) -> int:
        return fp.GRADED_PAYLOAD_BITS if self.graded_input else 0

    def bias_mant_vector(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.bias_mant), (self.n_out,))

    def bias_exp_vector(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.bias_exp), (self.n_out,))


@dataclass(frozen=True, eq=False)
class LIFNetwork:
    """Layers applied in order; layer ``k`` reads layer ``k-1``'s spikes (layer 0 the input)."""

    layers: tuple[LIFLayer, ...]
    precision: str = "float"

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))
        validate(self)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.n_inputs,) + tuple(layer.n_out for layer in self.layers)


def _fail(index: int, message: str):
    raise LavaPlasticError(f"layer {index}: {message}")


def _check_range(index: int, name: str, value, lo, hi, integer: bool):
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        _fail(index, f"{name} holds NaN or infinite values")
    if integer and not np.array_equal(arr, np.round(arr)):
        _fail(index, f"{name} must be integers in fixed point, got {value!r:.60}")
    if arr.size and (arr.min() < lo or arr.max() > hi):
        _fail(index, f"{name} must lie in [{lo}, {hi}], got [{arr.min()}, {arr.max()}]")


def validate(net: LIFNetwork) -> None:
    """Raise ``LavaPlasticError`` naming the first layer and parameter that is out of range."""
    if net.precision not in PRECISIONS:
        raise LavaPlasticError(f"precision must be one of {PRECISIONS}, got {net.precision!r}")
    if not net.layers:
        raise LavaPlasticError("a network needs at least one layer")
    fixed = net.precision == "fixed"
    for k, layer in enumerate(net.layers):
        w = np.asarray(layer.weights)
        if w.ndim != 2 or 0 in w.shape:
            _fail(k, f"weights must be a non-empty (n_out, n_in) matrix, got shape {w.shape}")
        if k > 0 and layer.n_in != net.layers[k - 1].n_out:
            _fail(k, f"weights expect {layer.n_in} inputs but layer {k - 1} has "
                     f"{net.layers[k - 1].n_out} neurons")
        for name in ("bias_mant", "bias_exp"):
            shape = np.shape(getattr(layer, name))
            if shape not in ((), (layer.n_out,)):
                _fail(k, f"{name} must be a scalar or have shape ({layer.n_out},), got {shape}")
        if fixed:
            lo, hi = fp.weight_range(fp.SIGN_MIXED)
            _check_range(k, "weights", w, lo, hi, integer=True)
            _check_range(k, "du", layer.du, 0, fp.DECAY_UNITY - 1, integer=True)
            _check_range(k, "dv", layer.dv, 0, fp.DECAY_UNITY - 1, integer=True)
            _check_range(k, "vth", layer.vth, 0, 2**17 - 1, integer=True)
            _check_range(k, "bias_mant", layer.bias_mant, -(2**12), 2**12 - 1, integer=True)
            _check_range(k, "bias_exp", layer.bias_exp, 0, 7, integer=True)
            _check_range(k, "weight_exp", layer.weight_exp, -8, 7, integer=True)
            _check_range(k, "num_weight_bits", layer.num_weight_bits, 1, fp.WEIGHT_BITS, integer=True)
        else:
            _check_range(k, "weights", w, -np.inf, np.inf, integer=False)
            _check_range(k, "du", layer.du, 0.0, 1.0, integer=False)
            _check_range(k, "dv", layer.dv, 0.0, 1.0, integer=False)
            _check_range(k, "vth", layer.vth, -np.inf, np.inf, integer=False)
            _check_range(k, "bias_mant", layer.bias_mant, -np.inf, np.inf, integer=False)


def random_network(
    rng: np.random.Generator,
    sizes: tuple[int, ...],
    precision: str,
    graded_input: bool = False,
    max_vth: int = 2**10,
) -> LIFNetwork:
    """A network of random weights and neuron parameters, for tests and benchmarks.

    Fixed point: integer weights over the full mixed-sign range and random ``du``, ``dv``,
    ``vth`` (below ``max_vth``), biases, ``weight_exp`` and ``num_weight_bits``. Float: the
    same kind of draws mapped to float units the way a fixed-point LIF reads them (input enters
    ``u`` shifted by 6 bits, so weights and thresholds divide by 64, effective biases by
    4096, decays by 4096), so both regimes spike at similar rates.
    """
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.integers(-256, 256, size=(n_out, n_in))
        du = int(rng.integers(0, 4096))
        dv = int(rng.integers(0, 4096))
        vth = int(rng.integers(1, max_vth))
        bias = rng.integers(-64, 64, size=n_out)
        bias_exp = int(rng.integers(0, 4))
        weight_exp = int(rng.integers(-2, 3))
        graded = graded_input and k == 0
        if precision == "fixed":
            layers.append(LIFLayer(w, du, dv, vth, bias, bias_exp, weight_exp,
                                   int(rng.integers(6, 9)), graded))
        else:
            layers.append(LIFLayer(w * 2.0**weight_exp / 64, du / 4096, dv / 4096, vth / 64,
                                   bias * 2.0**bias_exp / 4096, 0, 0, fp.WEIGHT_BITS, graded))
    return LIFNetwork(tuple(layers), precision)
