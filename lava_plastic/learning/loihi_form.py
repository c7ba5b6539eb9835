"""The three-factor rules in the form of Lava's learning engine (``Loihi3FLearningRule`` on
``LearningDense``), as plain strings and numbers: the Lava layer
(:mod:`lava_plastic.lava_graph.loihi`) turns them into Lava objects.

Every rule of this package pairs the third factor of step ``t`` with the presynaptic term of
step ``t - 1`` (the input, or the online rules' trace of the inputs up to it, with their
``aligned=False``); in the learning engine ``dt = u0*x1 - u0*t`` copies the presynaptic trace into
the synaptic tag each step and ``dw = 2^-s*u0*t*y2 - 2^-s*u0*t*y3`` reads the tag *before* that
copy. The neuron sends its signed third factor as two non-negative traces, ``y2`` (positive part)
and ``y3`` (negative part).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from lava_plastic.errors import LavaPlasticError
from lava_plastic.learning.plan import LayerPlan

TRACE_BITS = 7
"""Loihi's learning-engine traces (y1..y3, x1, x2) are 7-bit unsigned."""
MAX_RULE_SHIFT = 7
"""Lava's smallest rule literal is 2**-7."""
FIXED_X1_IMPULSE_BITS = 4
"""Fixed point: a presynaptic spike sets x1 (7 bits) to 2**4."""
FIXED_TRACE_PRODUCT_SHIFT = 3
"""Lava's bit-approximate engine yields a product of two traces as 2**-3 of its float value."""
FIXED_WEIGHT_STORAGE_SHIFT = 1
"""A bit-accurate mixed-sign Dense stores ``2 w`` (see ``lava_graph.plastic.stock_dense_args``)."""


FLOAT_TRACE_TAU = 1e-6
"""Float pre-trace time constant of a rule without a trace: exp(-1/tau) underflows to 0, so x1 is
this step's spike."""
FIXED_TRACE_TAU = 1
"""Fixed point: the fastest decay Lava's integer traces allow (x1 keeps ~e^-1 of itself)."""


@dataclass(frozen=True)
class LoihiForm:
    """One layer's learning-engine rule: ``dw``, ``dt`` strings, the neuron's ``y_shift``
    (the part of the learning rate the rule's literal cannot carry) and the presynaptic trace
    ``x1``: its impulse per spike and time constant (OTTT's trace for the online rules,
    ``exp(-1/tau)`` the synapse's ``trace_decay``; the previous spike alone otherwise)."""

    dw: str
    dt: str
    y_shift: int
    x1_impulse: float
    x1_tau: float


def third_factor_traces(delta, y_shift: int, fixed: bool, xp):
    """Split a signed third factor into the two non-negative traces a Loihi 3-factor rule reads:
    ``y2 = max(delta, 0) * 2**-y_shift`` and ``y3 = max(-delta, 0) * 2**-y_shift``. Fixed
    point: a truncating right shift, saturated to the 7-bit trace range (0..127)."""
    pos, neg = xp.maximum(delta, 0), xp.maximum(-delta, 0)
    if fixed:
        top = 2**TRACE_BITS - 1
        return xp.minimum(pos >> y_shift, top), xp.minimum(neg >> y_shift, top)
    return pos * 2.0**-y_shift, neg * 2.0**-y_shift


def loihi_form(lp: LayerPlan) -> LoihiForm:
    """Layer ``lp``'s rule with ``t_epoch = 1``.

    The update ``2**-lr_shift`` of the plan is carried partly by the rule's literal ``2**-s``
    (``s <= 7``) and partly by the neuron (``y_shift``). Float: the LearningDense holds
    ``w * 2**weight_exp``, so the total shift is ``lr_shift - weight_exp``. Fixed point: the x1
    impulse (``2**4``), the engine's ``2**-3`` for a two-trace product and the doubled weight
    storage (``2**1``) add up to a factor 1, so the same shift applies (the y2/y3 traces
    saturate at 7 bits).
    """
    shift = lp.lr_shift - lp.weight_exp
    if lp.fixed:
        shift += FIXED_X1_IMPULSE_BITS - FIXED_TRACE_PRODUCT_SHIFT - FIXED_WEIGHT_STORAGE_SHIFT
    return _form(lp, shift, "u0*x1 - u0*t")


def _form(lp: LayerPlan, shift: int, dt: str) -> LoihiForm:
    """The layer's form with tag rule ``dt`` and the weights moving by ``2**-shift`` times the
    tag times the third factor: the shift split between the rule's literal (at most
    ``MAX_RULE_SHIFT``) and the neuron's ``y_shift``; the presynaptic trace ``x1``."""
    rule_shift = min(MAX_RULE_SHIFT, max(0, shift))
    c = f"2^-{rule_shift}"
    if lp.fixed:
        impulse, tau = 2.0**FIXED_X1_IMPULSE_BITS, FIXED_TRACE_TAU
    else:  # a spike adds its unit in the trace's units (the online rules' graded activity)
        impulse = 2.0**lp.in_bits
        tau = -1 / math.log(lp.trace_decay) if lp.trace_decay else FLOAT_TRACE_TAU
    return LoihiForm(dw=f"{c}*u0*t*y2 - {c}*u0*t*y3", dt=dt, y_shift=shift - rule_shift,
                     x1_impulse=impulse, x1_tau=tau)


def perturbation_form(lp: LayerPlan) -> LoihiForm:
    """Node perturbation's rule (NP without LOCO's projector) with ``t_epoch = 1``; the neuron
    (:class:`~lava_plastic.processes.loihi_perturbed.process.LoihiPerturbedLIF`) holds
    ``-TD xi`` and drives the rule with its traces:

    * ``dt = u0*x1*y1 - y0*t``: the tag counts the presynaptic spikes (``x1``, the step's spike)
      while the neuron's ``y1`` is 1, its clean run; the neuron's back-propagating action
      potential ``y0`` at the clean run's first step clears the count of the sample before;
    * ``dw = 2^-s*u0*t*y2 - 2^-s*u0*t*y3``: at the perturbed run's last step, where ``y2`` and
      ``y3`` carry the third factor's two signs, the weights move by the count times it.

    So a synapse of any layer pairs ``-TD xi`` with its input's clean-run count, and the tag
    holds it through the perturbed run (a trace could not: it would count both runs). The
    engine's first layer pairs with the input itself (its rate, the count over ``T``): that
    layer's shift adds ``log2 T`` (``T`` a power of two). The shift is split between the rule's
    literal and the neuron (``y_shift``) as in :func:`loihi_form` (:func:`_form`).
    """
    rate_bits = 0
    if lp.k == 0:
        rate_bits = int(round(math.log2(lp.n_steps)))
        if 2**rate_bits != lp.n_steps:
            raise LavaPlasticError(f"the learning-engine form of node perturbation pairs the first "
                                   f"layer with its input's count: T must be a power of two, got "
                                   f"{lp.n_steps}")
    shift = lp.lr_shift + rate_bits - lp.weight_exp
    if lp.fixed:  # two two-trace products: x1*y1 into the tag, then t*y2 into the weight
        shift += (FIXED_X1_IMPULSE_BITS - 2 * FIXED_TRACE_PRODUCT_SHIFT
                  - FIXED_WEIGHT_STORAGE_SHIFT)
    return _form(lp, shift, "u0*x1*y1 - y0*t")
