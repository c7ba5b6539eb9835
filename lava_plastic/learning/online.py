"""The online rules' batch (OPZO, ZO_sp, DFA and spatial BP on OTTT's network,
:mod:`lava_plastic.rules.opzo`), in the Lava graph's step order and with its delays.

At step ``t`` of a sample (from rest, ``n_steps`` steps):

1. each synapse sends what it weighted at ``t - 1`` (one step of Dense delay; dropped at
   ``t = 0``) and takes its trace of the inputs up to ``t - 1``, the presynaptic term
   that caused this step's potential (``p <- decay p + s``);
2. each hidden layer integrates, takes the surrogate of its (noisy, with membrane noise)
   pre-reset potential, fires (reset by subtraction) and sends its spikes (plus ``alpha z``
   with activity noise; times its dropout mask); the readout's output is its synaptic input;
3. the readout forms the error ``e[t]`` of the step and learns from it with its previous input;
4. each hidden layer ``k`` receives the feedback of ``e[t - 1]`` (sent one step on) and pairs it
   with its surrogate and its synapse's trace of ``align_k`` steps earlier, the wavefront that
   caused that error;
5. ``M_k`` learns from ``z_k[t - lag_k]`` and ``o[t]`` (OPZO).

Float only so far. Updates accumulate over the batch and are written after it, as the DRTP
engine's; ``M`` is updated every step.
"""
from __future__ import annotations

from lava_plastic.engine import fire, lif_float_voltage
from lava_plastic.learning import synapse
from lava_plastic.learning.neuron import NeuronState, current, rest, surrogate
from lava_plastic.learning.network import ACTIVITY_BITS
from lava_plastic.learning.parallel import DataParallel
from lava_plastic.learning.plan import LayerPlan, Plan
from lava_plastic.noise import (NOISE_BITS, STREAM_DROPOUT, STREAM_PERTURBATION, row_bits,
                                row_perturbation)
from lava_plastic.rules.base import B_SHIFT, DELTA_SHIFT
from lava_plastic.rules.opzo import loss_value, momentum_estimate, momentum_step, output_error
from lava_plastic.xp import device, namespace

ACTIVITY_UNIT = 2**ACTIVITY_BITS
"""A spike in the hidden activity's units."""
DROPOUT_BITS = 16
"""Uniform bits per dropout decision (a neuron is kept when they reach ``rate * 2**16``)."""


def noise(rule, lp: LayerPlan, rows, t: int, xp, dtype, dev):
    """The noise ``z`` of hidden layer ``lp`` at step ``t`` for the samples of ordinals
    ``rows``, ``(batch, n_k)`` in the float dtype: keyed by ``(seed, perturbation stream, k,
    step)`` and the ordinal (:func:`lava_plastic.noise.row_perturbation`); antithetic noise
    draws at even steps and negates the draw at the odd step after."""
    step, negate = (t // 2, t % 2 == 1) if rule.antithetic else (t, False)
    values = row_perturbation((rule.seed, STREAM_PERTURBATION, lp.k, step), rows, lp.n_out,
                              rule.noise, xp, dev)
    z = xp.astype(values, dtype) * 2.0**-NOISE_BITS
    return -z if negate else z


def dropout_mask(rule, lp: LayerPlan, rows, rate: float, xp, dtype, dev):
    """Each sample's dropout mask of hidden layer ``lp`` ``(batch, n_k)``, constant over the
    sample: ``1 / (1 - rate)`` for a kept neuron, 0 for a dropped one, keyed by the seed, the
    layer and the sample's ordinal; ``None`` for rate 0."""
    if rate == 0:
        return None
    bits = row_bits((rule.seed, STREAM_DROPOUT, lp.k), rows, lp.n_out, DROPOUT_BITS, xp, dev)
    return xp.astype(bits >= int(round(rate * 2**DROPOUT_BITS)), dtype) * (1.0 / (1.0 - rate))


def hidden_step(lp: LayerPlan, site: str, state: NeuronState, a_in, z, alpha: float, mask, xp):
    """One step of a hidden OTTT neuron (eq. 1: leak, reset by subtraction), its noise ``alpha
    z`` (``None``: none) entering at ``site`` and its dropout ``mask`` (``None``: none).
    Returns ``(state, out, psi)``: the activity it sends (spikes, plus the noise at the
    activity site, times the mask; in units of ``2**-ACTIVITY_BITS``) and the surrogate of its
    pre-reset potential."""
    u = current(lp, state.u, a_in, xp)
    v = lif_float_voltage(state.v, u, lp.dv, 0.0)
    if z is not None and site == "membrane":
        v = v + (alpha * lp.vth) * z
    psi = surrogate(lp, v, xp)
    v, spikes = fire(v, lp.vth, lp.reset_subtract)
    out = xp.astype(spikes, v.dtype) * float(ACTIVITY_UNIT)  # graded: 1.0 is 2**ACTIVITY_BITS
    if z is not None and site == "activity":
        out = out + (alpha * ACTIVITY_UNIT) * z
    if mask is not None:
        out = out * mask
    return NeuronState(u, v, state.count), out, psi


def hidden_delta(kind: str, psi, mod, z, alpha: float, mask):
    """A hidden layer's third factor (eq. 7, in the synapse's units ``2**DELTA_SHIFT``) from
    the surrogate ``psi`` and noise ``z`` of the wavefront it pairs with and its modulatory
    input ``mod``: the projected descent signal ``-g`` (``momentum``: ``-M e``, ``random``:
    ``-B^T e``, ``backprop``: ``W^T delta``), or for ``scalar`` (ZO_sp) the broadcast loss ``L``,
    giving ``-g = -z L / alpha``."""
    m = z * (mod * (-1.0 / alpha)) if kind == "scalar" else mod
    delta = psi * (m * 2.0**B_SHIFT)
    return delta if mask is None else delta * mask


def readout_delta(e):
    """The readout's third factor: its own gradient ``-e`` in the synapse's units."""
    return e * -(2.0**DELTA_SHIFT)


def momentum_modulation(m, e):
    """OPZO's projected descent signal ``-M e`` ``(batch, n_k)`` (eq. 5) for errors ``e``
    ``(batch, C)`` and ``M`` ``(n_k, C)``."""
    return -(e @ m.T)


def backprop_modulation(plan: Plan, upper, weights_above):
    """Spatial BP's ``W^T delta`` in real units from the layer above's third factor ``upper``
    (units ``2**DELTA_SHIFT``) and weights (weight units)."""
    return (upper @ weights_above) * 2.0 ** (-DELTA_SHIFT - plan.net.weight_bits)


def run_batch(plan: Plan, weights, feedback, payload, y_star, rows, learn: bool,
              alpha: float = 0.0, dropout: float = 0.0, parallel: DataParallel | None = None):
    """Present a batch (``payload`` ``(batch, n_in)``, the same input every step, or
    ``(batch, steps, n_in)``, an input per step and none after the last; one-hot ``y_star``;
    the samples' ordinals ``rows`` keying their noise) for ``n_steps`` steps from rest. Returns the readout's
    summed outputs ``(batch, C)`` (in voltage units), and, if ``learn``, each layer's update
    accumulator (ascent directions, as the DRTP engine's) and the feedback state after the
    batch (``M_k`` updated in place), else ``None, feedback``. ``alpha``: the noise scale;
    ``dropout``: the hidden layers' dropout rate (training only). With ``parallel`` the batch is
    this rank's share (``rows`` their global ordinals): every step's estimates of ``M`` and the
    accumulators are summed across the ranks, so every rank learns what one process learns
    from the whole batch."""
    xp = namespace(payload)
    rule, layers = plan.rule, plan.layers
    n_layers, hidden = len(layers), len(layers) - 1
    dtype, dev = weights[0].dtype, device(payload)
    batch = payload.shape[0]
    kind = rule.feedback_kind
    noisy = learn and rule.noisy
    masks = [dropout_mask(rule, lp, rows, dropout if learn else 0.0, xp, dtype, dev)
             for lp in layers[:-1]]
    y_star = xp.astype(y_star, dtype)
    neurons = [rest(lp, batch, xp, dev, dtype) for lp in layers[:-1]]
    summed = xp.zeros((batch, plan.net.n_classes), dtype=dtype, device=dev)
    layer_in = [None] * n_layers
    traces = [None] * n_layers
    # A constant input (direct coding): the first layer's synaptic input is computed once, and
    # its trace is the payload times the trace of a constant 1.
    constant = payload.ndim == 2
    a_first = synapse.forward(layers[0], weights[0], payload, xp) if constant else None
    no_input = None if constant else xp.zeros_like(payload[:, 0])
    psi_lines = [[] for _ in range(hidden)]
    pre_lines = [[] for _ in range(hidden)]
    z_lines = [[] for _ in range(hidden)]  # each step's noise, for M and ZO_sp
    first_sum, accs = None, [None] * n_layers
    e_prev = loss_prev = None
    # eq. 5: a clean pass beside the perturbed one, whose output M's estimate subtracts
    clean = learn and kind == "momentum" and rule.two_point
    clean_neurons = [rest(lp, batch, xp, dev, dtype) for lp in layers[:-1]] if clean else None
    clean_in = [None] * n_layers
    for t in range(plan.net.n_steps):
        if constant:
            s = payload
        else:
            s = payload[:, t] if t < payload.shape[1] else no_input
        o = None
        if clean:
            o_clean = clean_step(plan, weights, clean_neurons, clean_in, s, a_first, masks, t, xp)
        for k, lp in enumerate(layers):
            if t == 0:
                a_in = xp.zeros((batch, lp.n_out), dtype=dtype, device=dev)
            elif k == 0 and constant:
                a_in = a_first
            else:
                a_in = synapse.forward(lp, weights[k], layer_in[k], xp)
            previous = (1.0 if k == 0 and constant else layer_in[k]) if t else None
            pre = traces[k] = synapse.trace_step(lp, traces[k], previous, xp)
            if lp.hidden:
                z = noise(rule, lp, rows, t, xp, dtype, dev) if noisy else None
                neurons[k], out, psi = hidden_step(lp, rule.site, neurons[k], a_in, z, alpha,
                                                   masks[k], xp)
                if learn:
                    psi_lines[k].append(psi)
                    pre_lines[k].append(pre)
                    z_lines[k].append(z)
            else:
                o = a_in / lp.vth  # the readout's output, in thresholds
                summed = summed + a_in
                out_pre, out = pre, None
            layer_in[k] = s
            s = out
        if not learn:
            continue
        # At t = 0 the readout's input is dropped: nothing caused o[0], and no error is sent
        # (the graph's readout has not received the sample's target yet).
        e = output_error(o, y_star, rule.loss, xp) if t else None
        if t:  # the readout learns from its own error and the input that caused o[t]
            accs[-1] = _add(accs[-1], synapse.accumulate(layers[-1], readout_delta(e), out_pre,
                                                         xp))
        if e_prev is not None:
            upper = readout_delta(e_prev)  # BP: the layer above's third factor
            for k in reversed(range(hidden)):
                lp = layers[k]
                step = t - lp.align
                if step < 0:
                    break
                if kind == "momentum":
                    mod = momentum_modulation(feedback[k], e_prev)
                elif kind == "random":
                    mod = -(e_prev @ feedback[k])
                elif kind == "scalar":
                    mod = loss_prev[:, None]
                else:
                    mod = backprop_modulation(plan, upper, weights[k + 1])
                delta = upper = hidden_delta(kind, psi_lines[k][step], mod, z_lines[k][step],
                                             alpha, masks[k])
                pre = pre_lines[k][step]
                if pre is None:  # the sample's first step: no input yet
                    continue
                if k == 0 and constant:
                    first_sum = _add(first_sum, delta * pre)
                else:
                    accs[k] = _add(accs[k], synapse.accumulate(lp, delta, pre, xp))
        if kind == "momentum":
            scale = 1.0 / alpha if rule.scale_by_alpha else 1.0
            learning = [k for k in range(hidden) if t - layers[k].lag >= 0]
            caused = o - o_clean if clean else o  # what the noise changed in the output
            estimates = [momentum_estimate(z_lines[k][t - layers[k].lag], caused)
                         for k in learning]
            total = batch
            if parallel is not None:
                parallel.sum(estimates)
                total = parallel.batch_rows
            for k, estimate in zip(learning, estimates):
                momentum_step(feedback[k], estimate, total, rule.momentum, scale)
        e_prev = e
        if kind == "scalar" and t:
            loss_prev = loss_value(o, y_star, rule.loss, xp)
    if not learn:
        return summed, None, feedback
    if constant:
        if first_sum is None:
            first_sum = xp.zeros((batch, layers[0].n_out), dtype=dtype, device=dev)
        accs[0] = synapse.accumulate(layers[0], first_sum, payload, xp)
    for k, lp in enumerate(layers):
        if accs[k] is None:
            accs[k] = xp.zeros((lp.n_out, lp.n_in), dtype=dtype, device=dev)
    if parallel is not None:
        parallel.sum(accs)
    return summed, tuple(accs), feedback


def clean_step(plan: Plan, weights, neurons, layer_in, s, a_first, masks, t: int, xp):
    """One step of the clean pass of eq. 5 (no noise, the same dropout masks), in place of
    ``neurons`` and ``layer_in``; returns its readout's output (in thresholds)."""
    for k, lp in enumerate(plan.layers):
        if t == 0:
            a_in = xp.zeros((s.shape[0], lp.n_out), dtype=weights[0].dtype, device=device(s))
        elif k == 0 and a_first is not None:
            a_in = a_first
        else:
            a_in = synapse.forward(lp, weights[k], layer_in[k], xp)
        layer_in[k] = s
        if lp.output:
            return a_in / lp.vth
        neurons[k], s, _ = hidden_step(lp, "activity", neurons[k], a_in, None, 0.0, masks[k], xp)


def _add(total, term):
    """``total + term`` in place of ``total`` (either may be ``None``: nothing yet)."""
    if term is None:
        return total
    if total is None:
        return term
    total += term
    return total


def gradient_alignment(plan: Plan, reference: Plan, weights, feedback, payload, y_star, rows,
                       alpha: float) -> list[float]:
    """Per layer, the cosine similarity between the update ``plan``'s rule makes on a batch and
    the one ``reference``'s makes (OTTT-BP: the spatially backpropagated gradient, the paper's
    Fig. 4) with the same weights, samples and ordinals; ``feedback`` is not changed (``M`` is
    learnt on a copy). Rules with noise see the noisy forward pass they train with, the
    reference its own."""
    xp = namespace(payload)
    own = tuple(xp.asarray(f, copy=True) for f in feedback)
    _, accs, _ = run_batch(plan, weights, own, payload, y_star, rows, True, alpha)
    _, ref_accs, _ = run_batch(reference, weights, (), payload, y_star, rows, True, alpha)
    cosines = []
    for a, b in zip(accs, ref_accs):
        norm = float(xp.sqrt(xp.sum(a * a) * xp.sum(b * b)))
        cosines.append(float(xp.sum(a * b)) / norm if norm else 0.0)
    return cosines
