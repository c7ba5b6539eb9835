"""The perturbation rules' batch (NP and LOCO, :mod:`lava_plastic.rules.loco`), in the Lava
graph's step order and with its delays.

Each sample of the batch runs twice from rest, ``n_steps`` steps each, on Lava's LIF network
(spiking output): clean, then with every perturbed layer's neurons biased by ``sigma xi`` for
the whole run. The engine runs both as one batch of twice the rows (the clean rows first). At
each step every synapse sends what it weighted the step before (one step of Dense delay; dropped
at a run's first step, when the neurons start from rest) and every neuron integrates (with its
bias) and fires. The synapses count the inputs they receive during the clean run: the
presynaptic rate ``x`` (times ``T``; the first layer's input is the payload itself, its rate).

After the two runs the output neurons' counts give ``TD`` (eq. 28), which reaches every
perturbed layer, whose neurons form ``-TD xi`` (:func:`lava_plastic.rules.loco.third_factor`).
Each synapse's accumulator is ``sum_samples delta^T x`` (NP) or ``delta^T (P x)`` (LOCO, with
``P`` from the batch's clean inputs, computed on the host: :func:`projector_bases`), written
after the batch as every rule's (:func:`lava_plastic.learning.synapse.write`).
"""
from __future__ import annotations

import numpy as np

from lava_plastic.engine import fire
from lava_plastic.errors import LavaPlasticError
from lava_plastic.learning import synapse
from lava_plastic.learning.neuron import NeuronState, integrate, rest
from lava_plastic.learning.parallel import DataParallel
from lava_plastic.learning.plan import Plan
from lava_plastic.rules.loco import (bias, empty_directions, project, projector_basis,
                                     quantize_basis, sigma_scale, temporal_difference,
                                     third_factor, xi)
from lava_plastic.xp import NUMPY, device, like, namespace, to_numpy


def initial_directions(plan: Plan) -> tuple:
    """Each layer's empty direction buffer (LOCO's rule state; NP has none)."""
    if not plan.rule.projected:
        return ()
    return tuple(empty_directions(lp.n_in) for lp in plan.layers)


def run_step(lp, state: NeuronState, a_in, bias_k, t: int, xp):
    """One step of a perturbation rule's LIF neuron at position ``t`` of a run: from rest, and
    dropping the synaptic input, at ``t == 0`` (each run starts from rest); integrate with the
    bias ``bias_k`` (the perturbation, or 0), fire, reset to 0, count. Returns ``(state,
    spikes)``; ``state.count`` holds the run's spikes so far."""
    if t == 0:
        state = rest(lp, a_in.shape[0], xp, device(a_in), state.v.dtype)
        a_in = xp.zeros_like(a_in)
    u, v = integrate(lp, state, a_in, bias_k, xp)
    v, spikes = fire(v, lp.vth)
    return NeuronState(u, v, state.count + xp.astype(spikes, state.count.dtype)), spikes


def forward(plan: Plan, weights, payload, biases, xp):
    """Run ``payload`` ``(rows, n_in)`` for ``n_steps`` steps from rest, each layer's neurons
    biased by ``biases[k]`` (``(rows, n_k)``, or ``None``). Returns each layer's input counts
    over the run, ``(rows, n_in_k)`` (the first layer's: the payload, its rate) and the output
    spike counts ``(rows, C)``."""
    layers = plan.layers
    rows = payload.shape[0]
    states = [rest(lp, rows, xp, device(payload), weights[0].dtype) for lp in layers]
    # direct coding: the first layer's synaptic input is the same every step
    a_first = synapse.forward(layers[0], weights[0], payload, xp)
    layer_in = [None] * len(layers)
    for t in range(plan.net.n_steps):
        s = payload
        for k, lp in enumerate(layers):
            if t == 0:
                a_in = xp.zeros_like(states[k].v)
            else:
                a_in = a_first if k == 0 else synapse.forward(lp, weights[k], layer_in[k], xp)
            bias_k = 0 if biases[k] is None else biases[k]
            states[k], spikes = run_step(lp, states[k], a_in, bias_k, t, xp)
            layer_in[k] = s
            s = spikes
    inputs = [presynaptic_term(lp, payload, states[lp.k - 1].count if lp.k else None)
              for lp in layers]
    return inputs, states[-1].count


def presynaptic_term(lp, s_in, count):
    """What a synapse pairs with its neurons' third factor: the input itself at the first layer
    (direct coding sends the rate, the payload, every step), else the clean run's input count."""
    return s_in if lp.k == 0 else count


def layer_update(rule, lp, delta, pre, directions, parallel: DataParallel | None = None):
    """Layer ``lp``'s update accumulator of a batch, ``sum delta^T x`` (NP) or ``sum delta^T (P
    x)`` (LOCO: ``P`` from the batch's presynaptic terms ``pre`` and the direction buffer, on the
    host, :func:`~lava_plastic.rules.loco.projector_basis`; fixed point with ``Q`` rounded to
    16 bits), and the direction buffer after the batch. The engine and the Lava synapse call
    this. With ``parallel``, ``delta`` and ``pre`` are this rank's rows: the projector sees
    every rank's rows (gathered in batch order) and the accumulator is this rank's share."""
    xp = namespace(pre)
    if rule.projected:
        rows = pre if parallel is None else parallel.gather_rows([pre], 1)[0]
        q, directions = projector_basis(rule, to_numpy(rows), directions)
        q = quantize_basis(q) if lp.fixed else q
        projected = project(to_numpy(pre), q, lp.fixed)
        pre = like(pre, projected)
    return synapse.accumulate(lp, delta, pre, xp), directions


def run_batch(plan: Plan, weights, payload, targets, rows, learn: bool, directions=(),
              parallel: DataParallel | None = None):
    """Present a batch (``payload`` from :func:`lava_plastic.learning.engine.encode_input`,
    ``targets`` its 0/1 targets ``(batch, C)``, ``rows`` the samples' ordinals, which key
    ``xi``). Returns the clean run's output spike counts ``(batch, C)``, each layer's update
    accumulator (``None`` unless ``learn``; zeros for a layer that does not learn) and LOCO's
    direction buffers after the batch. With ``parallel`` the batch is this rank's share and
    the accumulators are summed over all ranks' shares."""
    xp = namespace(payload)
    rule, net = plan.rule, plan.net
    n_layers = len(plan.layers)
    if not learn:
        return forward(plan, weights, payload, [None] * n_layers, xp)[1], None, directions
    batch = payload.shape[0]
    dtype = weights[0].dtype
    sigma = sigma_scale(net.fixed, rule.sigma)
    xis, biases = [], []
    for lp in plan.layers:
        if rule.learns(lp.k, n_layers):
            xi_k = xi(rule, lp.k, rows, lp.n_out, net.fixed, xp, dtype, device(payload))
            perturbed = bias(xi_k, sigma, net.vth_bits, net.fixed, xp)
            xis.append(xi_k)
            biases.append(xp.concat([xp.zeros_like(perturbed), perturbed]))
        else:
            xis.append(None)
            biases.append(None)
    inputs, out = forward(plan, weights, xp.concat([payload, payload]), biases, xp)
    clean_out, perturbed_out = out[:batch], out[batch:]
    clean_inputs = [x[:batch] for x in inputs]
    td = temporal_difference(clean_out, perturbed_out, targets, net.n_steps, xp)
    accs, after = [], []
    for lp, xi_k, x in zip(plan.layers, xis, clean_inputs):
        buffer = directions[lp.k] if rule.projected else None
        if xi_k is None:  # a layer that is not perturbed does not learn
            delta = xp.zeros((batch, lp.n_out), dtype=xp.int32 if net.fixed else dtype,
                             device=device(payload))
        else:
            delta = third_factor(td, xi_k, net.fixed, xp)
        acc, buffer = layer_update(rule, lp, delta, x, buffer, parallel)
        accs.append(acc)
        after.append(buffer)
    if parallel is not None:
        parallel.sum(accs)
    return clean_out, tuple(accs), tuple(after) if rule.projected else directions


def surrogate_gradient(plan: Plan, weights, payload, targets):
    """The reference the perturbation rules estimate: the gradient of ``sum_samples sum_i (c_i -
    T y_i)^2`` (eq. 27's loss in count units) with respect to each layer's weights, by
    backpropagation through time of the clean run (float numpy, float plans only) with a
    triangular surrogate derivative of each spike, ``max(0, 1 - |v - vth| / vth) / vth``, the
    reset treated as a constant (as surrogate-gradient training does). The delays are the
    graph's: layer ``k``'s input at step ``t`` is what its source emitted at ``t - 1``, and a
    run's first step drops its input. Returns one ``(n_out, n_in)`` array per layer, in weight
    units (the synapse's ``W``)."""
    if plan.net.fixed:
        raise LavaPlasticError("the surrogate gradient is a float reference: use a float plan")
    layers, n_steps = plan.layers, plan.net.n_steps
    if not all(lp.memoryless for lp in layers):
        raise LavaPlasticError("the surrogate gradient takes currents without memory (du = 4095)")
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    scale = [2.0**lp.weight_exp for lp in layers]
    inputs, v_pre, spikes = [], [], []  # per step, per layer
    states = [rest(lp, payload.shape[0], NUMPY) for lp in layers]
    s_prev = [None] * len(layers)
    for t in range(n_steps):  # the engine's forward (run_step's arithmetic), recorded
        step_in, step_v, step_s = [], [], []
        for k, lp in enumerate(layers):
            source = payload if k == 0 else s_prev[k - 1]
            a = (np.zeros_like(states[k].v) if t == 0
                 else synapse.forward(lp, weights[k], source, NUMPY))
            u, pre = integrate(lp, states[k], a, 0, NUMPY)
            v, fired = fire(pre.copy(), lp.vth)
            states[k] = NeuronState(u, v, states[k].count)
            s = fired.astype(np.float64)
            step_in.append(source if t else None)
            step_v.append(pre)
            step_s.append(s)
        s_prev = step_s
        inputs.append(step_in)
        v_pre.append(step_v)
        spikes.append(step_s)
    counts = sum(step[-1] for step in spikes)
    d_counts = 2 * (counts - n_steps * np.asarray(targets, dtype=np.float64))
    grads = [np.zeros_like(w) for w in weights]
    d_v_next = [np.zeros_like(x) for x in v_pre[0]]
    d_s_from_above = [np.zeros_like(x) for x in spikes[0]]
    for t in range(n_steps - 1, -1, -1):
        d_s_below = [np.zeros_like(x) for x in spikes[0]]
        for k in range(len(layers) - 1, -1, -1):
            lp = layers[k]
            d_s = d_counts if k == len(layers) - 1 else d_s_from_above[k]
            psi = np.maximum(0, 1 - np.abs(v_pre[t][k] - lp.vth) / lp.vth) / lp.vth
            d_v = d_s * psi + d_v_next[k] * (1 - lp.dv) * (1 - spikes[t][k])
            d_v_next[k] = d_v
            if t == 0:
                continue
            grads[k] += (d_v.T @ inputs[t][k]) * scale[k]
            if k:  # the input of step t is the spikes of layer k - 1 at step t - 1
                d_s_below[k - 1] = (d_v @ weights[k]) * scale[k]
        d_s_from_above = d_s_below
    return grads


def projected_gradient(plan: Plan, weights, payload, gradient, directions) -> list:
    """Each layer's ``gradient`` projected as LOCO projects its update on this batch, ``g Q
    Q^T``, with ``Q`` from the batch's clean inputs and the layer's ``directions``."""
    inputs, _ = forward(plan, weights, payload, [None] * len(plan.layers), namespace(payload))
    bases = [projector_basis(plan.rule, to_numpy(x), d)[0] for x, d in zip(inputs, directions)]
    return [(g @ q) @ q.T for g, q in zip(gradient, bases)]


def update_alignment(plan: Plan, weights, payload, targets, draws: int, directions=(),
                     projected: bool = False):
    """Per layer, the cosine between the rule's update averaged over ``draws`` perturbations of
    the same batch (each from the same ``directions``) and the descent direction of
    :func:`surrogate_gradient` (float numpy): how well the estimate points downhill. With
    ``projected`` (LOCO), the descent direction projected as LOCO projects its update, ``-g Q
    Q^T`` with the batch's ``Q`` (eq. 1): how well it points downhill within its subspace."""
    gradient = surrogate_gradient(plan, weights, payload, targets)
    if projected:
        gradient = projected_gradient(plan, weights, payload, gradient, directions)
    total = [np.zeros_like(g) for g in gradient]
    batch = payload.shape[0]
    for draw in range(draws):
        _, accs, _ = run_batch(plan, weights, payload, targets,
                               np.arange(batch) + batch * draw, True, directions)
        total = [t + np.asarray(a, dtype=np.float64) for t, a in zip(total, accs)]
    return [float(-(t * g).sum() / (np.linalg.norm(t) * np.linalg.norm(g)))
            for t, g in zip(total, gradient)]
