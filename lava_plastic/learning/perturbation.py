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
from lava_plastic.learning import synapse
from lava_plastic.learning.neuron import integrate, rest
from lava_plastic.learning.parallel import DataParallel
from lava_plastic.learning.plan import Plan
from lava_plastic.rules.loco import (bias, empty_directions, projector_basis, quantize_basis,
                                     project, sigma_scale, temporal_difference, third_factor, xi)
from lava_plastic.xp import device, like, namespace, to_numpy


def initial_directions(plan: Plan) -> tuple:
    """Each layer's empty direction buffer (LOCO's rule state; NP has none)."""
    if not plan.rule.projected:
        return ()
    return tuple(empty_directions(lp.n_in) for lp in plan.layers)


def forward(plan: Plan, weights, payload, biases, xp):
    """Run ``payload`` ``(rows, n_in)`` for ``n_steps`` steps from rest, each layer's neurons
    biased by ``biases[k]`` (``(rows, n_k)``, or ``None``). Returns each layer's input counts
    over the run, ``(rows, n_in_k)`` (the first layer's: the payload, its rate) and the output
    spike counts ``(rows, C)``."""
    layers = plan.layers
    dtype = weights[0].dtype
    rows = payload.shape[0]
    states = [rest(lp, rows, xp, device(payload), dtype) for lp in layers]
    counts = [xp.zeros_like(states[k].v) for k in range(len(layers))]
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
            u, v = integrate(lp, states[k], a_in, 0 if biases[k] is None else biases[k], xp)
            v, spikes = fire(v, lp.vth)
            states[k] = type(states[k])(u, v, states[k].count)
            counts[k] += xp.astype(spikes, counts[k].dtype)
            layer_in[k] = s
            s = spikes
    inputs = [payload] + counts[:-1]
    return inputs, counts[-1]


def projector_bases(plan: Plan, inputs, directions, parallel: DataParallel | None = None):
    """LOCO's ``Q_l`` of every layer from the batch's clean inputs (host numpy float64, the
    same function the Lava model calls; fixed point rounds it to :func:`quantize_basis`) and the
    direction buffers after the batch. With ``parallel`` every rank gathers the whole batch's
    inputs first, so all compute the same ``Q``."""
    bases, after = [], []
    for lp, x, buffer in zip(plan.layers, inputs, directions):
        if parallel is not None:
            x = parallel.gather_rows([x], 1)[0]
        q, buffer = projector_basis(plan.rule, to_numpy(x), buffer)
        bases.append(quantize_basis(q) if lp.fixed else q)
        after.append(buffer)
    return bases, tuple(after)


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
    if rule.projected:
        bases, directions = projector_bases(plan, clean_inputs, directions, parallel)
        host = [project(to_numpy(x), q, net.fixed) for x, q in zip(clean_inputs, bases)]
        clean_inputs = [like(x, h) if not net.fixed else like(x, h.astype(np.int64))
                        for x, h in zip(clean_inputs, host)]
    accs = []
    for lp, xi_k, x in zip(plan.layers, xis, clean_inputs):
        if xi_k is None:
            accs.append(xp.zeros((lp.n_out, lp.n_in), dtype=xp.int32 if net.fixed else dtype,
                                 device=device(payload)))
            continue
        delta = third_factor(td, xi_k, net.fixed, xp)
        accs.append(synapse.accumulate(lp, delta, x, xp))
    if parallel is not None:
        parallel.sum(accs)
    return clean_out, tuple(accs), directions
