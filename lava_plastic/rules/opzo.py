"""OPZO and its baselines as rule values: online training of a spiking network through time
(OTTT) with the hidden layers' instantaneous gradient estimated from a direct top-down signal
(Xiao et al., "Online Pseudo-Zeroth-Order Training of Neuromorphic Spiking Neural Networks",
../shared/papers/opzo.txt).

The network (section 3.1, App. C.3.2): LIF neurons of eq. 1 (leak 0.5, reset by subtraction,
``PlasticNetwork(reset="subtract", dv=2048)``) and a non-spiking readout
``o[t] = W s[t]`` whose sum over the window classifies. At every step the instantaneous loss
``L(o[t], y)`` (OTTT's mix of cross-entropy and MSE, App. C.3.2) gives the error
``e[t] = dL/do``, and each layer learns (eq. 7)

    ``dW_k = -eta * (g_k ⊙ psi(u_k)) a_k^T``     (``a_k``: the presynaptic trace, section 3.1)
    ``dW_out = -eta * e a_out^T``                   (the readout's own gradient)

with ``psi`` the sigmoid surrogate (``a1 = 0.25``) and ``g_k`` the hidden layer's estimated
gradient, from the feedback kind:

* ``momentum`` (OPZO, eqs. 5-6): ``g_k = M_k e`` with the momentum feedback connections
  ``M_k <- lam M_k + (1 - lam) z_k o~^T`` learnt from the noise ``alpha z_k`` injected into
  layer ``k`` and the perturbed output ``o~`` it caused (one point, eq. 6; ``M`` starts at
  zero; the ``1/alpha`` of eq. 6 dropped as in App. C.3.2 unless ``scale_by_alpha``), or with
  ``two_point`` from ``z_k (o~ - o)^T`` against a clean pass (eq. 5);
* ``random`` (DFA, Fig. 1c): ``g_k = B_k^T e`` through a fixed random ``B_k``;
* ``scalar`` (ZO_sp, eq. 3 with node perturbation, Fig. 1d): ``g_k = z_k L / alpha``;
* ``backprop`` (the paper's "BP" row, OTTT): ``g_k`` backpropagated layer by layer through the
  weights and the same surrogate (engine and float only: the reference gradient).

The noise (section 4.4, App. C.2): Gaussian, Rademacher or sphere values
(:func:`lava_plastic.noise.row_perturbation`, keyed by seed, layer, sample and step, so a Lava
model and the engine draw the same), added to the hidden layers' activity (the paper's default:
the next layer receives the graded ``s + alpha z``) or membrane potential, antithetic pairs
``(z, -z)`` on consecutive steps as an option; ``alpha`` decays linearly from ``alpha`` to
``alpha_end`` over the epochs (App. C.3.2).

Fixed point (Loihi 2's arithmetic; float computes the same quantities in the same units
without rounding or saturation):

=============================  ==========================================================
neuron ``u``, ``v``            Lava's 24-bit LIF arithmetic, reset by subtracting ``vth << 6``
noise ``z``                    integers in units of ``2**-12`` (:mod:`lava_plastic.noise`)
``alpha``                      ``round(alpha * 2**ALPHA_BITS)``; membrane noise ``(alpha z)``
                               to voltage units toward zero, the voltage saturated again
hidden activity                ``s << 6`` plus the activity noise toward zero in ``2**-6``, times
                               ``round(2**8 / (1 - rate))`` and ``>> 8`` for dropout, signed
                               10 bits (``ACTIVITY_REGISTER_BITS``)
trace                          ``(a * (4096 - dv)) >> 12`` toward zero, plus the input
surrogate                      the sigmoid's 64-entry table (:mod:`lava_plastic.rules.base`)
error ``e``                    the ``sse`` loss only: ``(o - y) >> (vth bits - 7)``, floored,
                               signed 9 bits (``|e| < 2``); ZO_sp's loss ``sum e^2 >> 8``
``M``                          int64 in units of ``2**-24``; ``1 - lam = 2**-shift``
                               (:func:`momentum_shift`): ``M - (M >> shift) + (z o~ / n) >>
                               (12 + vth bits - 24 + shift)``, rounding toward zero
modulation ``-g``              ``-(M e >> (24 - log2 gain))`` and
                               ``-(z L round(2**16 / alpha)) >> 20`` toward zero,
                               DFA's ``(-B)^T e >> 7`` floored (a Dense),
                               saturated to signed 8 bits
third factor                   ``psi * m`` (hidden), ``-e << 4`` (readout): signed 13 bits
accumulator, write             32 bits, the plan's static bound; stochastic rounding to 8 bits
=============================  ==========================================================

Spatial BP and eq. 6's ``1/alpha`` run in float only.

Pipelining: in the Lava graph every synapse delays one step, so the output at step ``t`` carries
the noise injected at hidden layer ``k`` at step ``t - lag_k`` (``lag_k = K - 1 - k`` for ``K``
weight layers), and the error of step ``t`` reaches the hidden layers at step ``t + 1``. ``M_k``
pairs ``z_k[t - lag_k]`` with ``o[t]``; each hidden layer keeps its surrogate and its synapse its
trace for ``lag_k + 1`` steps, so the error is paired with the wavefront that caused it
(:attr:`lava_plastic.learning.plan.LayerPlan.align`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from lava_plastic import fixed_point as fp
from lava_plastic.errors import LavaPlasticError
from lava_plastic.noise import DISTRIBUTIONS
from lava_plastic.xp import int64
from lava_plastic.rules.base import check_hyper_parameters, is_number

LOSSES = ("mix", "mse", "ce", "sse")
"""Instantaneous losses: ``mix`` is OTTT's ``(1 - MSE_WEIGHT) CE + MSE_WEIGHT MSE`` (the
paper's, App. C.3.2), ``mse`` the mean squared error over the classes, ``ce`` cross-entropy of
the softmax, ``sse`` half the summed squared error, whose gradient ``e = o - y`` needs neither
a division nor an exponential: the fixed-point loss."""
MSE_WEIGHT = 0.05
"""The MSE share of OTTT's loss mix (Xiao et al. 2022, their code's ``lamb``)."""
NOISE_SITES = ("activity", "membrane")
"""Where the noise enters a hidden neuron: added to its output (the paper's default, section
4.4) or to its membrane potential before the threshold."""
FEEDBACKS = ("momentum", "random", "scalar", "backprop")


ERROR_BITS = 7
"""Fixed point: the error ``e`` in units of ``2**-7`` (the modulation's), a signed
``ERROR_REGISTER_BITS``-bit saturating register."""
ERROR_REGISTER_BITS = 9
"""|e| < 2: the readout's third factor ``-e << (DELTA_SHIFT - ERROR_BITS)`` fits 13 bits."""
ALPHA_BITS = 8
"""Fixed point: the noise scale as ``round(alpha * 2**8)`` and ZO_sp's ``1/alpha`` likewise."""
M_BITS = 24
"""Fixed point: OPZO's ``M`` in units of ``2**-24`` (``1 - lam`` of 1e-5 moves it by a few
hundred units per unit estimate), an int64 register."""


def fixed_scale(value: float, bits: int, what: str) -> int:
    """``round(value * 2**bits)``, refusing a scale that rounds to 0 (one ``LavaPlasticError``)."""
    scaled = int(round(value * 2**bits))
    if scaled < 1:
        raise LavaPlasticError(f"{what} {value} is below the fixed-point resolution 2**-{bits}")
    return scaled


def momentum_shift(momentum: float) -> int:
    """Fixed point: ``1 - lam`` as a power of two ``2**-shift`` (eq. 6's moving average as a
    shift, as learning rates are), refusing ``lam`` below 0.5 or above ``1 - 2**-40``."""
    if not 0.5 <= momentum <= 1 - 2**-40:
        raise LavaPlasticError(f"fixed point takes momentum in [0.5, 1 - 2**-40], got {momentum}")
    return int(round(-math.log2(1 - momentum)))


def softmax(o, xp):
    shifted = o - xp.max(o, axis=1, keepdims=True)
    exp = xp.exp(shifted)
    return exp / xp.sum(exp, axis=1, keepdims=True)


def output_error(o, y_star, loss: str, xp):
    """``e = dL/do`` per row for outputs ``o`` and one-hot targets ``y_star`` ``(batch, C)``:
    ``softmax(o) - y`` (CE), ``2 (o - y) / C`` (the MSE's mean over the classes), or their
    :data:`MSE_WEIGHT` mix."""
    n_classes = o.shape[1]
    if loss == "sse":
        return o - y_star
    mse = (o - y_star) * (2.0 / n_classes)
    if loss == "mse":
        return mse
    ce = softmax(o, xp) - y_star
    if loss == "ce":
        return ce
    return (1 - MSE_WEIGHT) * ce + MSE_WEIGHT * mse


def loss_value(o, y_star, loss: str, xp):
    """The instantaneous loss ``L(o, y)`` of each row (:func:`output_error`'s loss)."""
    if loss == "sse":
        return 0.5 * xp.sum((o - y_star) ** 2, axis=1)
    mse = xp.mean((o - y_star) ** 2, axis=1)
    if loss == "mse":
        return mse
    shifted = o - xp.max(o, axis=1, keepdims=True)
    ce = xp.log(xp.sum(xp.exp(shifted), axis=1)) - xp.sum(shifted * y_star, axis=1)
    if loss == "ce":
        return ce
    return (1 - MSE_WEIGHT) * ce + MSE_WEIGHT * mse


def output_error_fixed(a_in, y_star, vth_bits: int, xp):
    """Fixed point (``sse`` only: ``e = o - y``): the error of the readout's synaptic input
    ``a_in`` (``o`` in units of ``2**-vth_bits``) against the one-hot target, floored to units
    of ``2**-ERROR_BITS`` and saturated to ``ERROR_REGISTER_BITS`` bits."""
    e = int64(a_in, xp) - (int64(y_star, xp) << vth_bits)
    return fp.clip_signed(e >> (vth_bits - ERROR_BITS), ERROR_REGISTER_BITS, xp)


def loss_value_fixed(e, xp):
    """Fixed point: ``sse``'s ``L = sum e^2 / 2`` of each row of the fixed error, in units of
    ``2**-ERROR_BITS`` (floored)."""
    e = int64(e, xp)
    return xp.sum(e * e, axis=1) >> (ERROR_BITS + 1)


def momentum_estimate(z, o_tilde):
    """The batch's sum of eq. 6's one-point estimates, ``sum_b z_b o~_b^T`` ``(n_k, C)``, for
    the noise ``z`` ``(batch, n_k)`` that reached the output ``o~`` ``(batch, C)`` (fixed
    point: exact integers, ``z`` in units of ``2**-NOISE_BITS`` and ``o~`` the readout's
    synaptic input)."""
    return z.T @ o_tilde


def momentum_step(m, estimate, count: int, momentum: float, scale: float):
    """OPZO eq. 6 in place of ``m`` ``(n_k, C)``: ``M <- lam M + (1 - lam) scale estimate /
    count``, with ``estimate`` the sum of ``count`` samples' ``z o~^T``
    (:func:`momentum_estimate`, consumed) and ``scale`` ``1/alpha`` or 1 (App. C.3.2). One
    step of the graph (a batch of one) is one update; a batch averages its samples' estimates
    in one update (across ranks too)."""
    estimate *= (1 - momentum) * scale / max(count, 1)
    m *= momentum
    m += estimate
    return m


def momentum_step_fixed(m, estimate, count: int, shift: int, estimate_shift: int, xp):
    """Eq. 6 in fixed point: ``M <- M - (M >> shift) + (estimate / count) >> (estimate_shift +
    shift)``, every division rounding toward zero (a floor would add half a unit of drift at
    every step, which the moving average accumulates into a bias of ``2**(shift - 1)`` units),
    ``M`` in units of ``2**-M_BITS``, ``1 - lam = 2**-shift`` (:func:`momentum_shift`) and
    ``estimate_shift`` the bits taking the estimate's units to ``M``'s (at least
    ``-shift``). Returns the new ``M`` (int64)."""
    mean = xp.sign(estimate) * (xp.abs(estimate) // max(count, 1))
    increment = fp.shift_right_toward_zero(mean, estimate_shift + shift, xp)
    return m - fp.shift_right_toward_zero(m, shift, xp) + increment


def alpha_at(alpha: float, alpha_end: float, epoch: int, epochs: int) -> float:
    """The noise scale of ``epoch`` (1-based) of ``epochs``: linear from ``alpha`` at the first
    to ``alpha_end`` at the last (App. C.3.2)."""
    if epochs <= 1:
        return alpha
    return alpha + (alpha_end - alpha) * (epoch - 1) / (epochs - 1)


@dataclass(frozen=True)
class OPZO:
    """OPZO (``feedback="momentum"``) as a value; ``ZO``, ``OPZODFA`` and ``OTTTBP`` are the same
    value with another feedback.

    ``lr``: the on-chip learning rate (powers of two, as every rule's; an optimiser such as
    AdamW takes its own). ``psi_width``: the sigmoid surrogate's ``a1`` in thresholds.
    ``alpha``, ``alpha_end``: the noise scale's linear schedule over the epochs (in thresholds on
    the membrane, in spikes on the activity). ``momentum``: ``lam`` of eq. 6. ``noise``: the
    distribution (:data:`lava_plastic.noise.DISTRIBUTIONS`). ``site``: :data:`NOISE_SITES`.
    ``antithetic``: ``z`` on even steps, ``-z`` on the odd step after (needs an even window).
    ``loss``: :data:`LOSSES`. ``scale_by_alpha``: keep eq. 6's ``1/alpha``. ``two_point``:
    ``M`` learns from ``z (o~ - o)^T`` (eq. 5), ``o`` the output of a clean forward pass beside
    the perturbed one (with the same dropout mask), instead of eq. 6's ``z o~^T``.
    ``feedback_gain``: OPZO's hidden layers receive ``-gain * M e`` (a power of two, 1 to
    ``2**M_BITS``). With AdamW it changes next to nothing (the optimiser normalises the update's
    scale up to its epsilon, which is why App. C.3.2 can drop eq. 6's ``1/alpha``); with the
    on-chip SGD rule it is the hidden layers' learning rate relative to the readout's, and in
    fixed point it is what lets the 8-bit modulation register resolve ``M e``, whose entries
    are of order ``alpha |W_out| |e|`` (1e-3 at alpha = 0.2 on MNIST): at gain 1 they round to
    0 and the hidden layers do not learn (BENCHMARKS.md, "Fixed point against float").
    """

    lr: float = 2.0**-10
    n_classes: int = 10
    seed: int = 0
    psi_width: float = 0.25
    alpha: float = 0.2
    alpha_end: float = 0.01
    momentum: float = 0.99999
    noise: str = "gaussian"
    site: str = "activity"
    antithetic: bool = False
    loss: str = "mix"
    scale_by_alpha: bool = False
    two_point: bool = False
    aligned: bool = True
    feedback_gain: float = 1.0

    name: ClassVar[str] = "opzo"
    feedback_kind: ClassVar[str] = "momentum"
    surrogate: ClassVar[str] = "sigmoid"
    online: ClassVar[bool] = True

    def __post_init__(self):
        check_hyper_parameters(self)
        for label, value in (("alpha", self.alpha), ("alpha_end", self.alpha_end)):
            if not (is_number(value) and math.isfinite(value) and value > 0):
                raise LavaPlasticError(f"{label} must be a positive number, got {value!r}")
        if not (is_number(self.momentum) and 0 <= self.momentum < 1):
            raise LavaPlasticError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.two_point and self.feedback_kind != "momentum":
            raise LavaPlasticError(f"two_point is eq. 5's estimate of OPZO's M, not an option of "
                                   f"{self.name}")
        gain = self.feedback_gain
        if not (is_number(gain) and math.isfinite(gain) and gain >= 1
                and math.log2(gain) == int(math.log2(gain)) and gain <= 2**M_BITS):
            raise LavaPlasticError(f"feedback gain must be a power of two from 1 to 2**{M_BITS}, "
                                   f"got {gain!r}")
        if gain != 1 and self.feedback_kind != "momentum":
            raise LavaPlasticError(f"feedback_gain scales OPZO's M e, not an option of {self.name}")
        for label, value, allowed in (("noise", self.noise, DISTRIBUTIONS),
                                      ("noise site", self.site, NOISE_SITES),
                                      ("loss", self.loss, LOSSES)):
            if value not in allowed:
                raise LavaPlasticError(f"unknown {label} {value!r}; choose from "
                                       f"{', '.join(allowed)}")

    @property
    def noisy(self) -> bool:
        """Whether training injects noise (DFA and BP need none)."""
        return self.feedback_kind in ("momentum", "scalar")

    def layer_lr(self, k: int, n_layers: int) -> float:
        return self.lr

    @property
    def gain_bits(self) -> int:
        """``log2(feedback_gain)``: fixed point shifts ``M e`` this many bits less."""
        return int(math.log2(self.feedback_gain))

    def alpha_of(self, epoch: int, epochs: int) -> float:
        return alpha_at(self.alpha, self.alpha_end, epoch, epochs)


@dataclass(frozen=True)
class ZO(OPZO):
    """ZO_sp: hidden layers learn from their own noise times the scalar loss (eq. 3)."""

    name: ClassVar[str] = "zo"
    feedback_kind: ClassVar[str] = "scalar"


@dataclass(frozen=True)
class OPZODFA(OPZO):
    """DFA on the OPZO network: a fixed random ``B_k`` carries the error (Fig. 1c)."""

    name: ClassVar[str] = "opzo-dfa"
    feedback_kind: ClassVar[str] = "random"


@dataclass(frozen=True)
class OTTTBP(OPZO):
    """OTTT with spatial backpropagation of the instantaneous error (the paper's BP row)."""

    name: ClassVar[str] = "ottt-bp"
    feedback_kind: ClassVar[str] = "backprop"
