"""What every rule shares: the fixed-point formats of the three-factor synapse, the local factor
(a triangular surrogate derivative), targets, initialisation, and the rule protocol.

A rule trains layer ``k`` by the three-factor form

    ``delta_k[t] = m_k[t] * psi(v_k[t])``          (hidden layers; ``m_k`` the rule's feedback)
    ``delta_K[t] = (y* - s_K[t]) * 2**DELTA_SHIFT``  (the output layer: its own error)
    ``acc_k += delta_k[t]^T x_{k-1}[t - 1]``          (the input that caused the potential)
    ``W_k += 2**-lr_shift_k * acc_k``                  (at the end of a sample or minibatch)

Rules differ only in where ``m_k`` comes from (:mod:`lava_plastic.rules.feedback`); the synapse,
the neuron, the engine and the Lava processes are shared.

Fixed-point formats (Loihi 2), the one contract every rule meets at the synapse:

=========================  ====================================================
feedback matrix B_k        signed 8-bit, ``round(B * 2**B_SHIFT)``
modulation m               signed 8-bit (``MOD_BITS``), saturating
surrogate psi              unsigned, 0 .. 2**PSI_BITS
third factor delta         signed 13-bit (``DELTA_BITS``): m * psi (hidden),
                           (y* - s) << DELTA_SHIFT (output)
update accumulator         signed 32-bit (``ACC_BITS``), saturating
plastic weights            signed 8-bit, [-128, 127], saturating; per-layer ``weight_exp``
weight update              ``acc * 2**-lr_shift`` with stochastic rounding
=========================  ====================================================

Float computes the same quantities in the same units without rounding or saturation; its
learning rates and surrogate widths are the same powers of two.
"""
from __future__ import annotations

import math
import numbers
from typing import Protocol

import numpy as np

from lava_plastic.errors import LavaPlasticError
from lava_plastic.xp import NUMPY, clamp, like

B_SHIFT = 7
"""B is stored as round(B * 2**7) in signed 8 bits (He-uniform entries of |B| <= sqrt(6/n) < 1)."""
MOD_BITS = 8
"""The modulatory input ``m`` of a hidden neuron is a signed 8-bit register (saturating)."""
PSI_BITS = 4
"""The fixed-point surrogate is an integer in 0 .. 2**PSI_BITS."""
DELTA_SHIFT = B_SHIFT + PSI_BITS
"""Scale of the fixed-point third factor: delta_int ~ delta_float * 2**DELTA_SHIFT."""
DELTA_BITS = 13
"""|delta| <= 2**(MOD_BITS - 1) * 2**PSI_BITS = 2**DELTA_SHIFT fits signed 13 bits."""
ACC_BITS = 32
PLASTIC_WEIGHT_BITS = 8
PLASTIC_WEIGHT_MIN = -(2 ** (PLASTIC_WEIGHT_BITS - 1))
PLASTIC_WEIGHT_MAX = 2 ** (PLASTIC_WEIGHT_BITS - 1) - 1
MAX_LR_SHIFT = 40
"""Largest accumulator shift (the stochastic-rounding noise is drawn with this many bits)."""


class Rule(Protocol):
    """A learning rule: a frozen, picklable dataclass of hyper-parameters (Lava pickles process
    parameters). ``feedback`` is the rule's third-factor source for the hidden layers."""

    lr: float
    n_classes: int
    seed: int
    psi_width: float
    surrogate: str

    @property
    def name(self) -> str: ...

    @property
    def feedback(self): ...

    def layer_lr(self, k: int, n_layers: int) -> float: ...


def is_number(value) -> bool:
    """A real number (Python's or numpy's scalar types), not a boolean."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_hyper_parameters(rule) -> None:
    """The checks every rule value makes in ``__post_init__``: one ``LavaPlasticError`` each."""
    if not (is_number(rule.lr) and math.isfinite(rule.lr) and rule.lr > 0):
        raise LavaPlasticError(f"learning rate must be a positive number, got {rule.lr!r}")
    if int(rule.n_classes) != rule.n_classes or rule.n_classes < 2:
        raise LavaPlasticError(f"n_classes must be an integer >= 2, got {rule.n_classes!r}")
    if int(rule.seed) != rule.seed or rule.seed < 0:
        raise LavaPlasticError(f"seed must be a non-negative integer, got {rule.seed!r}")
    if rule.surrogate not in SURROGATES:
        raise LavaPlasticError(f"surrogate must be one of {SURROGATES}, got {rule.surrogate!r}")
    sigmoid = rule.surrogate == "sigmoid"
    low, interval = (SIGMOID_MIN_WIDTH, f"[{SIGMOID_MIN_WIDTH}, 4]") if sigmoid else (0, "(0, 4]")
    width = rule.psi_width
    if not (is_number(width) and (low <= width if sigmoid else low < width)
            and width <= 4):
        raise LavaPlasticError(f"psi_width of the {rule.surrogate} surrogate must be in "
                               f"{interval}, got {width!r}")


# ---------------------------------------------------------------------------------------------
# Initialisation and targets (host-side numpy: drawn once, then moved where the engine runs)
# ---------------------------------------------------------------------------------------------
def he_uniform(rng: np.random.Generator, shape: tuple[int, int], fan_in: int) -> np.ndarray:
    """He-uniform entries, ``U(-sqrt(6 / fan_in), sqrt(6 / fan_in))`` (PyTorch's
    ``kaiming_uniform_``, the DRTP paper's initialiser for W and B)."""
    bound = math.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


def check_labels(labels, n_classes: int) -> np.ndarray:
    """``labels`` as a 1-D int64 numpy array, refusing non-integers and labels outside
    ``0 .. n_classes - 1`` (one error naming the first bad label)."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise LavaPlasticError(f"labels must be a 1-D array, got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        if not np.all(np.isfinite(labels)) or not np.array_equal(labels, np.round(labels)):
            raise LavaPlasticError("labels must be integers")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)][0]
        raise LavaPlasticError(f"label {bad} is outside the classes 0..{n_classes - 1}")
    return labels


def one_hot(labels, n_classes: int) -> np.ndarray:
    """``(batch,)`` integer labels -> ``(batch, n_classes)`` 0/1 int64 (validated by
    :func:`check_labels`)."""
    labels = check_labels(labels, n_classes)
    return (labels[:, None] == np.arange(n_classes)).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# The local factor: a surrogate derivative of the pre-reset membrane potential
# ---------------------------------------------------------------------------------------------
SURROGATES = ("triangle", "sigmoid")
"""The local factors: DRTP's triangle, OPZO's sigmoid derivative (App. C.3.2)."""
SIGMOID_MIN_WIDTH = 0.25
"""The sigmoid surrogate's ``a1`` (in thresholds) from which its peak ``1 / (4 a1)`` stays
within the fixed-point surrogate's ``2**PSI_BITS`` (OPZO's value)."""
SIGMOID_TABLE_SIZE = 64
"""Entries of the fixed-point sigmoid surrogate's table (:func:`sigmoid_surrogate_table`)."""


def surrogate_float(v, vth: float, width: float, xp):
    """Triangle ``2**PSI_BITS * max(0, 1 - |v - vth| / width)`` of the pre-reset potential, in
    the fixed-point surrogate's units (its limit without rounding). ``width`` is a power of two
    (:func:`surrogate_width_shift`), so it is computed as ``max(0, 2**PSI_BITS - |v - vth| *
    (2**PSI_BITS / width))``: scalings by powers of two commute with rounding, the same numbers
    in one pass fewer (and in place on its own temporaries)."""
    psi = xp.abs(v - vth)
    psi *= -(2**PSI_BITS / width)
    psi += 2**PSI_BITS
    return clamp(psi, 0.0, None, xp)


def surrogate_fixed(v, vth_scaled: int, width_shift: int, xp):
    """Integer triangle ``max(0, 2**PSI_BITS - (|v - vth<<6| >> (width_shift - PSI_BITS)))``,
    the fixed-point form of :func:`surrogate_float` with ``width = 2**width_shift`` in voltage
    register units (truncating shift: psi_int = floor(2**PSI_BITS * psi) up to one LSB)."""
    distance = xp.abs(v - vth_scaled)
    return clamp(2**PSI_BITS - (distance >> (width_shift - PSI_BITS)), 0, None, xp)


def sigmoid_surrogate_float(v, vth: float, a1_v: float, xp):
    """OPZO's local surrogate (App. C.3.2), ``psi = (1/a1) e^((V-u)/a1) / (1 + e^((V-u)/a1))^2``
    with ``u``, ``V`` in thresholds, of the pre-reset potential ``v``, in the fixed-point
    surrogate's units (``2**PSI_BITS`` is 1). ``a1_v`` is ``a1`` in ``v`` units (``a1 * vth``).
    The density is even, so it is formed from ``e^-|x|``, which cannot overflow."""
    e = xp.abs(v - vth)  # the fresh temporaries are reused in place
    e *= -1.0 / a1_v
    e = xp.exp(e)
    denominator = e + 1.0
    denominator *= denominator
    e *= 2**PSI_BITS * vth / a1_v
    e /= denominator
    return e


def sigmoid_surrogate_table(vth_scaled: int, a1: float) -> tuple[int, tuple[int, ...]]:
    """The fixed-point form of :func:`sigmoid_surrogate_float` as ``(shift, table)``: the
    surrogate at distance ``d = |v - vth<<6|`` is ``table[min(d >> shift, SIZE - 1)]``, with
    ``table[i]`` the float surrogate at the bucket's midpoint ``(i + 1/2) 2**shift``, floored,
    and the last entry 0. ``shift`` is the smallest at which every distance of the last bucket
    and beyond has a surrogate below one LSB (it falls with the distance). ``a1`` in
    thresholds, at least :data:`SIGMOID_MIN_WIDTH` (so no entry exceeds ``2**PSI_BITS``)."""
    def psi(distance):
        return sigmoid_surrogate_float(vth_scaled + distance, vth_scaled, a1 * vth_scaled, NUMPY)

    shift = 0
    while psi(np.float64((SIGMOID_TABLE_SIZE - 1) << shift)) >= 1:
        shift += 1
    middles = (np.arange(SIGMOID_TABLE_SIZE - 1) + 0.5) * 2**shift
    return shift, tuple(int(p) for p in np.floor(psi(middles))) + (0,)


def sigmoid_surrogate_fixed(v, vth_scaled: int, shift: int, table: tuple[int, ...], xp):
    """The integer sigmoid surrogate: :func:`sigmoid_surrogate_table`'s entry for the distance
    of ``v`` from the threshold (int32)."""
    index = clamp(xp.abs(v - vth_scaled) >> shift, None, len(table) - 1, xp)
    values = like(v, np.asarray(table, dtype=np.int32))
    return xp.reshape(xp.take(values, xp.reshape(index, (-1,))), tuple(v.shape))


def surrogate_width_shift(vth_scaled: int, psi_width: float) -> int:
    """``log2`` of the surrogate half-width: ``psi_width * vth<<6`` rounded to a power of two
    (shifts only, as on chip), at least ``2**PSI_BITS``. Float uses the same width."""
    return max(PSI_BITS, int(round(math.log2(max(psi_width * vth_scaled, 1)))))


def output_delta(y_star, spikes, xp):
    """The output layer's third factor ``(y* - s_K) * 2**DELTA_SHIFT`` (DRTP's Algorithm 1,
    output branch, in the hidden layers' third-factor units); exact in both precisions."""
    return (y_star - xp.astype(spikes, y_star.dtype)) * 2**DELTA_SHIFT
