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

Float and fixed point (the formats: :mod:`lava_plastic.rules.opzo`). Updates accumulate over
the batch and are written after it, as the DRTP engine's; ``M`` is updated every step.
"""
from __future__ import annotations

from lava_plastic import fixed_point as fp
from lava_plastic.engine import fire, lif_fixed_voltage, lif_float_voltage
from lava_plastic.learning import synapse
from lava_plastic.learning.neuron import NeuronState, current, rest, surrogate
from lava_plastic.learning.network import ACTIVITY_BITS, ACTIVITY_REGISTER_BITS
from lava_plastic.learning.parallel import DataParallel
from lava_plastic.learning.plan import LayerPlan, Plan
from lava_plastic.noise import (NOISE_BITS, STREAM_DROPOUT, STREAM_PERTURBATION, row_bits,
                                row_perturbation)
from lava_plastic.rules.base import B_SHIFT, DELTA_SHIFT, MOD_BITS
from lava_plastic.rules.opzo import (ALPHA_BITS, ERROR_BITS, M_BITS, fixed_scale, loss_value,
                                     loss_value_fixed, momentum_estimate, momentum_shift,
                                     momentum_step, momentum_step_fixed, output_error,
                                     output_error_fixed)
from lava_plastic.xp import device, int64, namespace

ACTIVITY_UNIT = 2**ACTIVITY_BITS
"""A spike in the hidden activity's units."""
DROPOUT_BITS = 16
"""Uniform bits per dropout decision (a neuron is kept when they reach ``rate * 2**16``)."""
KEEP_BITS = 8
"""Fixed point: a kept neuron's activity and third factor are multiplied by ``round(2**8 /
(1 - rate))`` and shifted right by 8 (floor)."""


def noise_scale(fixed: bool, alpha: float):
    """The noise scale as :func:`hidden_step` and :func:`hidden_delta` take it: ``alpha`` in
    float, the integer factor ``round(alpha * 2**ALPHA_BITS)`` in fixed point (one
    ``LavaPlasticError`` where it rounds to 0)."""
    return fixed_scale(alpha, ALPHA_BITS, "the noise scale alpha") if fixed else alpha


def noise(rule, lp: LayerPlan, rows, t: int, xp, dtype, dev):
    """The noise ``z`` of hidden layer ``lp`` at step ``t`` for the samples of ordinals
    ``rows``, ``(batch, n_k)`` in the float dtype (fixed point: int32 in units of
    ``2**-NOISE_BITS``): keyed by ``(seed, perturbation stream, k, step)`` and the ordinal (:func:`lava_plastic.noise.row_perturbation`); antithetic noise
    draws at even steps and negates the draw at the odd step after."""
    step, negate = (t // 2, t % 2 == 1) if rule.antithetic else (t, False)
    values = row_perturbation((rule.seed, STREAM_PERTURBATION, lp.k, step), rows, lp.n_out,
                              rule.noise, xp, dev)
    # fixed point keeps the integers (units of 2**-NOISE_BITS), float their values
    z = values if lp.fixed else xp.astype(values, dtype) * 2.0**-NOISE_BITS
    return -z if negate else z


def dropout_mask(rule, lp: LayerPlan, rows, rate: float, xp, dtype, dev):
    """Each sample's dropout mask of hidden layer ``lp`` ``(batch, n_k)``, constant over the
    sample: ``1 / (1 - rate)`` for a kept neuron (fixed point: ``round(2**KEEP_BITS / (1 -
    rate))``), 0 for a dropped one, keyed by the seed, the layer and the sample's ordinal;
    ``None`` for rate 0."""
    if rate == 0:
        return None
    bits = row_bits((rule.seed, STREAM_DROPOUT, lp.k), rows, lp.n_out, DROPOUT_BITS, xp, dev)
    kept = bits >= int(round(rate * 2**DROPOUT_BITS))
    if lp.fixed:  # the rescaling as an integer factor and a shift (hidden_step)
        return xp.astype(kept, xp.int64) * int(round(2**KEEP_BITS / (1.0 - rate)))
    return xp.astype(kept, dtype) * (1.0 / (1.0 - rate))


def hidden_step(lp: LayerPlan, site: str, state: NeuronState, a_in, z, alpha: float, mask, xp):
    """One step of a hidden OTTT neuron (eq. 1: leak, reset by subtraction), its noise ``alpha
    z`` (``None``: none) entering at ``site`` and its dropout ``mask`` (``None``: none).
    Returns ``(state, out, psi)``: the activity it sends (spikes, plus the noise at the
    activity site, times the mask; in units of ``2**-ACTIVITY_BITS``) and the surrogate of its
    pre-reset potential."""
    u = current(lp, state.u, a_in, xp)
    if lp.fixed:
        return _hidden_step_fixed(lp, site, state, u, z, alpha, mask, xp)
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


def _hidden_step_fixed(lp: LayerPlan, site: str, state: NeuronState, u, z, alpha: int, mask,
                       xp):
    """:func:`hidden_step` in Loihi 2's arithmetic: Lava's 24-bit voltage update; membrane noise
    ``(alpha z) vth`` scaled toward zero to the voltage's units and the voltage saturated
    again; the activity ``s << ACTIVITY_BITS`` plus the noise scaled toward zero to its units,
    times the mask's factor shifted right by ``KEEP_BITS``, saturated to
    ``ACTIVITY_REGISTER_BITS``. ``alpha`` is ``round(alpha * 2**ALPHA_BITS)``; ``z`` integers
    in units of ``2**-NOISE_BITS``."""
    v = lif_fixed_voltage(state.v, u, lp.dv, 0, xp)
    noise_bits = ALPHA_BITS + NOISE_BITS
    # the noise is scaled toward zero: a floor would add half a unit to every neuron, every step
    if z is not None and site == "membrane":  # vth is 2**(vth bits + 6) voltage units
        scaled = scale_toward_zero(alpha * int64(z, xp), lp.vth_bits + fp.VTH_SHIFT - noise_bits,
                                   xp)
        v = fp.saturate(v + scaled, fp.UV_BITS, xp)
    psi = surrogate(lp, v, xp)
    v, spikes = fire(v, lp.vth, lp.reset_subtract)
    out = xp.astype(spikes, xp.int64) << ACTIVITY_BITS
    if z is not None and site == "activity":
        out = out + scale_toward_zero(alpha * int64(z, xp), ACTIVITY_BITS - noise_bits, xp)
    if mask is not None:
        out = (out * mask) >> KEEP_BITS
    out = fp.clip_signed(out, ACTIVITY_REGISTER_BITS, xp)
    return NeuronState(u, xp.astype(v, xp.int32), state.count), out, psi


def scale_toward_zero(x, exponent: int, xp):
    """``x * 2**exponent`` in integers, a right shift rounding toward zero (symmetric noise
    stays symmetric)."""
    return x << exponent if exponent >= 0 else fp.shift_right_toward_zero(x, -exponent, xp)


def hidden_delta(lp: LayerPlan, kind: str, psi, mod, z, alpha, mask):
    """A hidden layer's third factor (eq. 7, in the synapse's units ``2**DELTA_SHIFT``) from
    the surrogate ``psi`` and noise ``z`` of the wavefront it pairs with and its modulatory
    input ``mod``: the projected descent signal ``-g`` (``momentum``: ``-M e``, ``random``:
    ``-B^T e``, ``backprop``: ``W^T delta``), or for ``scalar`` (ZO_sp) the broadcast loss ``L``,
    giving ``-g = -z L / alpha``. Fixed point: ``-g`` saturated to the signed ``MOD_BITS``
    modulation register, times the integer surrogate (and the mask's factor, shifted)."""
    if lp.fixed:  # alpha is round(alpha * 2**ALPHA_BITS); mod in units of 2**-ERROR_BITS
        m = mod
        if kind == "scalar":  # -z L / alpha: units 2**-NOISE_BITS, 2**-ERROR_BITS, 1/alpha's
            inverse = int(round(2 ** (2 * ALPHA_BITS) / alpha))
            m = -fp.shift_right_toward_zero(int64(z) * (mod * inverse),
                                            NOISE_BITS + ALPHA_BITS)
        delta = int64(psi) * fp.clip_signed(m, MOD_BITS)
        return delta if mask is None else (delta * mask) >> KEEP_BITS
    m = z * (mod * (-1.0 / alpha)) if kind == "scalar" else mod
    delta = psi * (m * 2.0**B_SHIFT)
    return delta if mask is None else delta * mask


def readout_output(lp: LayerPlan, a_in):
    """The readout's output ``o`` for its synaptic input ``a_in``: in thresholds (fixed point:
    the input itself, in units of ``2**-vth_bits``)."""
    return a_in if lp.fixed else a_in / lp.vth


def readout_error(lp: LayerPlan, rule, a_in, y_star, xp):
    """The readout's output (:func:`readout_output`), its error ``e = dL/do`` (fixed point:
    :func:`lava_plastic.rules.opzo.output_error_fixed`) and, for ZO_sp, the loss:
    ``(o, e, L)``."""
    o = readout_output(lp, a_in)
    scalar = rule.feedback_kind == "scalar"
    if lp.fixed:
        e = output_error_fixed(a_in, y_star, lp.vth_bits, xp)
        return o, e, loss_value_fixed(e, xp) if scalar else None
    loss = loss_value(o, y_star, rule.loss, xp) if scalar else None
    return o, output_error(o, y_star, rule.loss, xp), loss


def readout_delta(lp: LayerPlan, e):
    """The readout's third factor: its own gradient ``-e`` in the synapse's units (fixed point:
    shifted from the error's units, within 13 bits)."""
    if lp.fixed:
        return -(int64(e) << (DELTA_SHIFT - ERROR_BITS))
    return e * -(2.0**DELTA_SHIFT)


def momentum_modulation(lp: LayerPlan, rule, m, e):
    """OPZO's projected descent signal ``-gain M e`` ``(batch, n_k)`` (eq. 5, ``rule``'s
    ``feedback_gain``) for errors ``e`` ``(batch, C)`` and ``M`` ``(n_k, C)`` (fixed point:
    units of ``2**-ERROR_BITS``, rounded toward zero)."""
    if lp.fixed:  # toward zero: a floor would turn M's smallest products into a bias
        return -fp.shift_right_toward_zero(int64(e) @ m.T, M_BITS - rule.gain_bits)
    projected = e @ m.T
    return projected * -rule.feedback_gain


def random_modulation(lp: LayerPlan, b, e):
    """DFA's projected descent signal ``-B^T e`` (fixed point: ``B`` in 8 bits, floored to
    units of ``2**-ERROR_BITS``)."""
    if lp.fixed:  # (-B)^T e floored, as a Dense of the negated B with weight_exp -B_SHIFT
        return (int64(e) @ -int64(b)) >> B_SHIFT
    return -(e @ b)


def momentum_estimate_of(lp: LayerPlan, z, caused):
    """Eq. 6's summed estimate ``sum_b z_b o~_b^T`` of hidden layer ``lp`` (fixed point:
    exact in int64)."""
    if lp.fixed:
        return momentum_estimate(int64(z), int64(caused))
    return momentum_estimate(z, caused)


def momentum_update(lp: LayerPlan, rule, m, estimate, count: int, alpha: float):
    """Eq. 6 for hidden layer ``lp`` from the summed ``estimate`` of ``count`` samples: float
    in place of ``m``, fixed point into a new register (:func:`lava_plastic.rules.opzo.
    momentum_step_fixed`: ``z`` in units of ``2**-NOISE_BITS`` times the readout's input, in
    units of ``2**-vth_bits``). Returns the new ``M``."""
    if lp.fixed:
        return momentum_step_fixed(m, int64(estimate), count, momentum_shift(rule.momentum),
                                   NOISE_BITS + lp.vth_bits - M_BITS, namespace(estimate))
    return momentum_step(m, estimate, count, rule.momentum,
                         1.0 / alpha if rule.scale_by_alpha else 1.0)


def backprop_modulation(plan: Plan, upper, weights_above):
    """Spatial BP's ``W^T delta`` in real units from the layer above's third factor ``upper``
    (units ``2**DELTA_SHIFT``) and weights (weight units)."""
    return (upper @ weights_above) * 2.0 ** (-DELTA_SHIFT - plan.net.weight_bits)


def run_batch(plan: Plan, weights, feedback, payload, y_star, rows, learn: bool,
              alpha: float = 0.0, dropout: float = 0.0, parallel: DataParallel | None = None,
              events: list | None = None):
    """Present a batch (``payload`` ``(batch, n_in)``, the same input every step, or
    ``(batch, steps, n_in)``, an input per step and none after the last; one-hot ``y_star``;
    the samples' ordinals ``rows`` keying their noise) for ``n_steps`` steps from rest. Returns
    the readout's summed outputs ``(batch, C)`` (in voltage units), and, if ``learn``, each
    layer's update accumulator (ascent directions, as the DRTP engine's) and the feedback state
    after the batch (float: ``M_k`` updated in place), else ``None, feedback``. ``alpha``: the
    noise scale; ``dropout``: the hidden layers' dropout rate (training only). With
    ``parallel`` the batch is this rank's share (``rows`` their global ordinals): every step's
    estimates of ``M`` and the accumulators are summed across the ranks, so every rank learns
    what one process learns from the whole batch. ``events``: a list with an entry per hidden
    layer, to which the layer's count of non-zero outputs sent is added, per sample (the
    messages of :mod:`lava_plastic.cost`)."""
    xp = namespace(payload)
    rule, layers = plan.rule, plan.layers
    n_layers, hidden = len(layers), len(layers) - 1
    fixed = plan.net.fixed
    dtype, dev = weights[0].dtype, device(payload)
    batch = payload.shape[0]
    kind = rule.feedback_kind
    noisy = learn and rule.noisy
    if noisy:
        alpha = noise_scale(fixed, alpha)
    masks = [dropout_mask(rule, lp, rows, dropout if learn else 0.0, xp, dtype, dev)
             for lp in layers[:-1]]
    if not fixed:
        y_star = xp.astype(y_star, dtype)
    neurons = [rest(lp, batch, xp, dev, dtype) for lp in layers[:-1]]
    summed = xp.zeros((batch, plan.net.n_classes), dtype=xp.int64 if fixed else dtype,
                      device=dev)
    layer_in = [None] * n_layers
    traces = [None] * n_layers
    # A constant input (direct coding): the first layer's synaptic input is computed once, and
    # in float its trace is the payload times the trace of a constant 1 (fixed point's decay
    # rounds: its trace is kept as it is).
    constant = payload.ndim == 2
    first_factor = constant and not fixed
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
        if clean:
            o_clean = clean_step(plan, weights, clean_neurons, clean_in, s, a_first, masks, t, xp)
        for k, lp in enumerate(layers):
            a_in = synaptic_input(lp, weights[k], layer_in[k], t, a_first, batch, xp)
            previous = (1.0 if k == 0 and first_factor else layer_in[k]) if t else None
            pre = traces[k] = synapse.trace_step(lp, traces[k], previous, xp)
            if lp.hidden:
                z = noise(rule, lp, rows, t, xp, dtype, dev) if noisy else None
                neurons[k], out, psi = hidden_step(lp, rule.site, neurons[k], a_in, z, alpha,
                                                   masks[k], xp)
                if events is not None:
                    events[k] = events[k] + xp.sum(xp.astype(out != 0, xp.int64), axis=1)
                if learn:
                    psi_lines[k].append(psi)
                    pre_lines[k].append(pre)
                    z_lines[k].append(z)
            else:
                summed = summed + xp.astype(a_in, summed.dtype)
                if learn:
                    o, e, loss = readout_error(lp, rule, a_in, y_star, xp)
                out_pre, out = pre, None
            layer_in[k] = s
            s = out
        if not learn:
            continue
        # At t = 0 the readout's input is dropped: nothing caused o[0], and no error is sent
        # (the graph's readout has not received the sample's target yet).
        if not t:
            e = loss = None
        else:  # the readout learns from its own error and the input that caused o[t]
            accs[-1] = _add(accs[-1], synapse.accumulate(layers[-1], readout_delta(layers[-1], e),
                                                         out_pre, xp))
        if e_prev is not None:
            upper = readout_delta(layers[-1], e_prev)  # BP: the layer above's third factor
            for k in reversed(range(hidden)):
                lp = layers[k]
                step = t - lp.align
                if step < 0:
                    break
                if kind == "momentum":
                    mod = momentum_modulation(lp, rule, feedback[k], e_prev)
                elif kind == "random":
                    mod = random_modulation(lp, feedback[k], e_prev)
                elif kind == "scalar":
                    mod = loss_prev[:, None]
                else:
                    mod = backprop_modulation(plan, upper, weights[k + 1])
                delta = upper = hidden_delta(lp, kind, psi_lines[k][step], mod,
                                             z_lines[k][step], alpha, masks[k])
                pre = pre_lines[k][step]
                if pre is None:  # the sample's first step: no input yet
                    continue
                if k == 0 and first_factor:
                    first_sum = _add(first_sum, delta * pre)
                else:
                    accs[k] = _add(accs[k], synapse.accumulate(lp, delta, pre, xp))
        if kind == "momentum":
            learning = [k for k in range(hidden) if t - layers[k].lag >= 0]
            caused = o - o_clean if clean else o  # what the noise changed in the output
            estimates = [momentum_estimate_of(layers[k], z_lines[k][t - layers[k].lag], caused)
                         for k in learning]
            total = batch
            if parallel is not None:
                parallel.sum(estimates)
                total = parallel.batch_rows
            feedback = list(feedback)
            for k, estimate in zip(learning, estimates):
                feedback[k] = momentum_update(layers[k], rule, feedback[k], estimate, total, alpha)
            feedback = tuple(feedback)
        e_prev, loss_prev = e, loss
    if not learn:
        return summed, None, feedback
    if first_factor:
        if first_sum is None:
            first_sum = xp.zeros((batch, layers[0].n_out), dtype=dtype, device=dev)
        accs[0] = synapse.accumulate(layers[0], first_sum, payload, xp)
    for k, lp in enumerate(layers):
        if accs[k] is None:
            accs[k] = xp.zeros((lp.n_out, lp.n_in), dtype=xp.int32 if fixed else dtype,
                               device=dev)
    if parallel is not None:
        parallel.sum(accs)
    return summed, tuple(accs), feedback


def synaptic_input(lp: LayerPlan, weights, layer_in, t: int, a_first, batch: int, xp):
    """What layer ``lp``'s synapse delivers at step ``t``: what it weighted at ``t - 1``
    (``layer_in``), nothing at a sample's first step (the neurons drop it), and for the first
    layer of a constant input its synaptic input computed once (``a_first``)."""
    if t == 0:
        return xp.zeros((batch, lp.n_out), dtype=xp.int32 if lp.fixed else weights.dtype,
                        device=device(weights))
    if lp.k == 0 and a_first is not None:
        return a_first
    return synapse.forward(lp, weights, layer_in, xp)


def clean_step(plan: Plan, weights, neurons, layer_in, s, a_first, masks, t: int, xp):
    """One step of the clean pass of eq. 5 (no noise, the same dropout masks), in place of
    ``neurons`` and ``layer_in``; returns its readout's output (:func:`readout_output`)."""
    for k, lp in enumerate(plan.layers):
        a_in = synaptic_input(lp, weights[k], layer_in[k], t, a_first, s.shape[0], xp)
        layer_in[k] = s
        if lp.output:
            return readout_output(lp, a_in)
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
