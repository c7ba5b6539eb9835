"""Direct random target projection (DRTP): the rule's math, written once.

Frenkel, Lefebvre & Bol, "Learning without feedback: fixed random learning signals allow for
feedforward training of deep neural networks" (../shared/papers/drtp.txt), Algorithm 1:

* hidden layer k < K:  ``W_k <- W_k + eta * (B_k^T y* ⊙ f_k'(z_k)) y_{k-1}^T``
* output layer K:      ``W_K <- W_K + eta / C * (y* - y_K) y_{K-1}^T``

``y*`` is the one-hot target, ``B_k`` a fixed random ``(C, n_k)`` matrix drawn He-uniform from a
seed (section 4, "MNIST and CIFAR-10 images classification"), and the error sign is known from
the label alone (section 2.2), so no feedback pathway is needed (section 2.3).

For LIF layers ``f'`` is a surrogate derivative ``psi`` of the pre-reset membrane potential
(:func:`surrogate_float`, :func:`surrogate_fixed`), ``y_{k-1}`` the presynaptic spikes that caused
the potential (the previous step's input: one step of Dense delay), and the output error is
``y* - s_K(t)`` per step; summed over the ``T`` steps of a sample that is ``T (y* - rate)``.
Updates accumulate over the steps of a sample (and over a minibatch in the engine) and are
applied at its end.

Every function takes arrays with a leading batch axis and is pure. The Lava float model, the
Lava fixed-point model and the batched engine all call these functions.

Fixed-point formats (Loihi 2):

=========================  ====================================================
B_k entries                signed 8-bit, ``round(B * 2**B_SHIFT)``
modulation m = B^T y*      signed 8-bit (one row of B: y* is one-hot)
surrogate psi              unsigned ``PSI_BITS`` + 1 bits, 0 .. 2**PSI_BITS
third factor delta         signed 13-bit: m * psi (hidden), (y* - s) << DELTA_SHIFT (output)
update accumulator         signed 32-bit, saturating
plastic weights            signed 8-bit, [-128, 127], saturating; shared ``weight_exp``
weight update              ``acc * 2**-lr_shift`` with stochastic rounding (seeded)
=========================  ====================================================
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lava_plastic import fixed_point as fp

B_SHIFT = 7
"""B is stored as round(B * 2**7) in signed 8 bits (He-uniform entries of |B| <= sqrt(6/n) < 1)."""
PSI_BITS = 4
"""The fixed-point surrogate is an integer in 0 .. 2**PSI_BITS."""
DELTA_SHIFT = B_SHIFT + PSI_BITS
"""Scale of the fixed-point third factor: delta_int ~ delta_float * 2**DELTA_SHIFT."""
ACC_BITS = 32
PLASTIC_WEIGHT_BITS = 8
PLASTIC_WEIGHT_MIN = -(2 ** (PLASTIC_WEIGHT_BITS - 1))
PLASTIC_WEIGHT_MAX = 2 ** (PLASTIC_WEIGHT_BITS - 1) - 1


@dataclass(frozen=True)
class DRTP:
    """The DRTP rule as a value.

    ``lr``: eta of Algorithm 1 (the output layer uses ``lr / n_classes``). ``seed`` draws the
    B matrices. ``psi_width``: half-width of the triangular surrogate around the threshold, as a
    fraction of the threshold.
    """

    lr: float = 2.0**-7
    n_classes: int = 10
    seed: int = 0
    psi_width: float = 1.0

    def __post_init__(self):
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"learning rate must be a positive number, got {self.lr!r}")
        if int(self.n_classes) != self.n_classes or self.n_classes < 2:
            raise ValueError(f"n_classes must be an integer >= 2, got {self.n_classes!r}")
        if not 0 < self.psi_width <= 4:
            raise ValueError(f"psi_width must be in (0, 4], got {self.psi_width!r}")

    def output_lr(self) -> float:
        return self.lr / self.n_classes


# ---------------------------------------------------------------------------------------------
# Random target projection
# ---------------------------------------------------------------------------------------------
def he_uniform(rng: np.random.Generator, shape: tuple[int, int], fan_in: int) -> np.ndarray:
    """He-uniform entries, ``U(-sqrt(6 / fan_in), sqrt(6 / fan_in))`` (PyTorch's
    ``kaiming_uniform_``, the paper's initialiser for W and B)."""
    bound = math.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


def projection_matrices(rule: DRTP, hidden_sizes: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """The fixed random ``B_k`` of shape ``(n_classes, n_k)`` for each hidden layer, drawn from
    ``rule.seed`` (fan-in ``n_k``, as PyTorch computes it for a ``(C, n_k)`` tensor)."""
    rng = np.random.default_rng([rule.seed, 0xB])
    return tuple(he_uniform(rng, (rule.n_classes, n), fan_in=n) for n in hidden_sizes)


def quantize_projection(b: np.ndarray) -> np.ndarray:
    """B in signed 8 bits: ``round(B * 2**B_SHIFT)`` (round half to even); He-uniform bounds
    keep every entry below 1 in magnitude, so nothing saturates for n_k >= 7."""
    q = np.rint(np.asarray(b) * 2**B_SHIFT).astype(np.int64)
    if q.size and (q.min() < -128 or q.max() > 127):
        raise ValueError("B entries do not fit signed 8 bits (|B| must stay below 1)")
    return q


def check_projection(b: np.ndarray, n_classes: int, n_neurons: int) -> None:
    if np.shape(b) != (n_classes, n_neurons):
        raise ValueError(f"B must have shape ({n_classes}, {n_neurons}), got {np.shape(b)}")


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """``(batch,)`` integer labels -> ``(batch, n_classes)`` 0/1, refusing labels outside
    ``0 .. n_classes - 1``."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D array, got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        if not np.all(np.isfinite(labels)) or not np.array_equal(labels, np.round(labels)):
            raise ValueError("labels must be integers")
        labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)][0]
        raise ValueError(f"label {bad} is outside the classes 0..{n_classes - 1}")
    out = np.zeros((labels.size, n_classes), dtype=np.int64)
    out[np.arange(labels.size), labels] = 1
    return out


def modulation(y_star: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The target projection ``B_k^T y*``: ``(batch, C) @ (C, n_k) -> (batch, n_k)``."""
    return y_star @ b


# ---------------------------------------------------------------------------------------------
# Surrogate derivative of the LIF membrane potential
# ---------------------------------------------------------------------------------------------
def surrogate_float(v: np.ndarray, vth: float, width: float) -> np.ndarray:
    """Triangle ``2**PSI_BITS * max(0, 1 - |v - vth| / width)`` of the pre-reset potential, in
    the fixed-point surrogate's units (its limit without rounding)."""
    return 2**PSI_BITS * np.maximum(0.0, 1.0 - np.abs(v - vth) / width)


def surrogate_fixed(v: np.ndarray, vth_scaled: int, width_shift: int) -> np.ndarray:
    """Integer triangle ``max(0, 2**PSI_BITS - (|v - vth<<6| >> (width_shift - PSI_BITS)))``,
    the fixed-point form of :func:`surrogate_float` with ``width = 2**width_shift`` in voltage
    register units (truncating shift: psi_int = floor(2**PSI_BITS * psi) up to one LSB)."""
    distance = np.abs(np.asarray(v, dtype=np.int64) - vth_scaled)
    return np.maximum(0, 2**PSI_BITS - (distance >> (width_shift - PSI_BITS)))


def surrogate_width_shift(vth_scaled: int, psi_width: float) -> int:
    """``log2`` of the fixed-point surrogate half-width: ``psi_width * vth<<6`` rounded to a
    power of two (shifts only, as on chip), at least ``2**PSI_BITS``."""
    return max(PSI_BITS, int(round(math.log2(max(psi_width * vth_scaled, 1)))))


# ---------------------------------------------------------------------------------------------
# Third factors and updates
# ---------------------------------------------------------------------------------------------
def hidden_delta(m: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Hidden-layer third factor ``(B_k^T y*) ⊙ psi(v_k)`` (Algorithm 1, hidden branch). Fixed
    point: signed 8-bit m times the (PSI_BITS+1)-bit psi, exact in 13 bits."""
    return m * psi


def output_delta(y_star: np.ndarray, output: np.ndarray, scale: int = 1) -> np.ndarray:
    """Output-layer third factor ``(y* - y_K) * scale`` (Algorithm 1, output branch; for LIF
    layers ``y_K`` is the step's spikes). Spiking networks pass ``scale = 2**DELTA_SHIFT`` to
    share the hidden layers' third-factor units; integer inputs stay exact integers."""
    return (y_star - output) * scale


def accumulate(acc: np.ndarray, delta: np.ndarray, pre: np.ndarray, fixed: bool) -> np.ndarray:
    """``acc + sum_batch delta^T pre``: ``(batch, n_out)``, ``(batch, n_in)`` -> ``(n_out, n_in)``.

    Fixed point: exact integer product into a 32-bit accumulator that saturates. One sample
    adds at most ``T * 2**13 * 2**8`` in magnitude (13-bit third factor, 8-bit input payload), so
    the accumulator cannot saturate for ``T * batch < 2**10``; within that bound summing a
    sample's steps at once (the engine) or step by step (the Lava model) gives the same integers.
    """
    if fixed:
        return fp.saturate(acc + fp.exact_int_matmul(delta.T, pre), ACC_BITS)
    return acc + delta.T @ pre


def update_float(weights: np.ndarray, acc: np.ndarray, lr: float) -> np.ndarray:
    """``W + lr * acc`` (plain SGD, the on-chip rule)."""
    return weights + lr * acc


def rounding_noise(seed: int, layer: int, update: int, shape, lr_shift: int) -> np.ndarray:
    """The uniform integers in ``[0, 2**lr_shift)`` used to round update number ``update`` of
    layer ``layer`` stochastically. A pure function of its arguments, so the Lava model and the
    engine draw identical noise."""
    return np.random.default_rng([seed, layer, update]).integers(0, 2**lr_shift, size=shape)


def update_fixed(weights: np.ndarray, acc: np.ndarray, lr_shift: int, noise: np.ndarray) -> np.ndarray:
    """8-bit weights plus ``acc * 2**-lr_shift`` stochastically rounded:
    ``(acc + noise) >> lr_shift`` (floor) with ``noise`` uniform in ``[0, 2**lr_shift)``, so the
    expected update is exact. Weights saturate at [-128, 127]."""
    step = (np.asarray(acc, dtype=np.int64) + noise) >> lr_shift
    return np.clip(weights + step, PLASTIC_WEIGHT_MIN, PLASTIC_WEIGHT_MAX)


# ---------------------------------------------------------------------------------------------
# Lava's learning engine (Loihi3FLearningRule)
# ---------------------------------------------------------------------------------------------
TRACE_BITS = 7
"""Loihi's learning-engine traces (y1..y3, x1, x2) are 7-bit unsigned."""


def third_factor_traces(delta: np.ndarray, y_shift: int, fixed: bool):
    """Split a signed third factor into the two non-negative traces a Loihi 3-factor rule reads:
    ``y2 = max(delta, 0) * 2**-y_shift`` and ``y3 = max(-delta, 0) * 2**-y_shift``. Fixed
    point: a truncating right shift, saturated to the 7-bit trace range (0..127)."""
    pos, neg = np.maximum(delta, 0), np.maximum(-delta, 0)
    if fixed:
        top = 2**TRACE_BITS - 1
        return np.minimum(pos >> y_shift, top), np.minimum(neg >> y_shift, top)
    return pos * 2.0**-y_shift, neg * 2.0**-y_shift


def loihi_rule_strings(rule_shift: int) -> dict:
    """The DRTP update in Lava's learning-rule syntax, with ``t_epoch = 1``.

    ``dt = u0*x1 - u0*t`` copies the presynaptic trace into the synaptic tag each step, and
    ``dw = 2^-s*u0*t*y2 - 2^-s*u0*t*y3`` reads the tag *before* that copy: the third factor of
    step ``t`` meets the presynaptic spike of step ``t - 1``, the pairing of
    :func:`accumulate`. ``rule_shift`` (``s`` <= 7, Lava's smallest literal) is the part of the
    learning rate the rule carries; the neuron applies the rest as ``y_shift``.
    """
    if not 0 <= rule_shift <= 7:
        raise ValueError(f"rule_shift must be in [0, 7], got {rule_shift}")
    c = f"2^-{rule_shift}"
    return {"dw": f"{c}*u0*t*y2 - {c}*u0*t*y3", "dt": "u0*x1 - u0*t"}
