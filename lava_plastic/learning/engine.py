"""The Lava graph of a plastic network, batched: one training loop for every rule.

:func:`run_batch` presents a batch for ``n_steps`` steps from rest in the graph's step order and
with its delays, calling the functions the Lava models call (:mod:`.neuron`, :mod:`.synapse`,
:mod:`lava_plastic.rules.feedback`):

* a sample is presented by direct coding: the payload ``round(x * 2**input_bits)`` (fixed) or
  ``x * 2**input_bits`` (float) at every step;
* each synapse sends the input it weighted in the previous step (one step of Dense delay); every
  neuron starts each sample at rest and drops the input that arrives in the sample's first step;
* each hidden layer's modulatory input at step ``t`` is its feedback projection of the vector
  sent at step ``t - 1`` (the target, or the output neurons' signal); the output layer's is the
  target, also one step late;
* the synapse pairs its neurons' third factor at step ``t`` with its own input at step ``t - 1``
  (the input that caused the potential), from the sample's second step on;
* updates accumulate over the batch's samples and are written when the batch ends.

With batch size 1 this is the Lava graph exactly (fixed point bit for bit); a larger batch is a
chip that sums the updates of that many samples before it writes. Every function takes any
array namespace (numpy, torch): the host draws the initial values, encodes and validates the
input, then the arithmetic runs where the arrays live.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lava_plastic.errors import LavaPlasticError
from lava_plastic.learning import synapse
from lava_plastic.learning.network import PlasticNetwork
from lava_plastic.learning.parallel import DataParallel
from lava_plastic.learning.neuron import current, modulation, neuron_step, rest
from lava_plastic.learning import online, perturbation
from lava_plastic.learning.plan import Plan, is_online
from lava_plastic.rules.loco import is_perturbative
from lava_plastic.optim import make_optimizer
from lava_plastic.rules.base import (PLASTIC_WEIGHT_MAX, PLASTIC_WEIGHT_MIN, check_labels,
                                     he_uniform, one_hot)
from lava_plastic.rules.feedback import project, projection_matrices, projection_weights
from lava_plastic.xp import device, like, namespace, to_numpy


# ---------------------------------------------------------------------------------------------
# Parameters and input (host side)
# ---------------------------------------------------------------------------------------------
def init_weights(net: PlasticNetwork, seed: int, output_weight: float | None = None,
                 gain: float = 1.0) -> tuple[np.ndarray, ...]:
    """He-uniform initial weights (the DRTP paper's initialiser) in weight units, times
    ``gain`` (a sparse input, such as NETtalk's seven one-hot letters in 189 inputs, drives a
    He-initialised layer too weakly to fire); fixed point rounds them to the nearest integer.
    ``output_weight``: every output-layer weight starts at
    this one real value instead (each output neuron then has the same drive for every input
    pattern, just below threshold for a small positive value: node perturbation cannot revive
    an output neuron that He-uniform weights leave silent for its own class)."""
    if not (np.isfinite(gain) and gain > 0):
        raise LavaPlasticError(f"the initial weights' gain must be a positive number, got {gain!r}")
    rng = np.random.default_rng([seed, 0x57])
    weights = []
    for k, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:])):
        w = he_uniform(rng, (n_out, n_in), fan_in=n_in) * (gain * 2**net.weight_bits)
        if output_weight is not None and k == net.n_layers - 1:
            if not np.isfinite(output_weight):
                raise LavaPlasticError("the output weight must be a finite number, got "
                                       f"{output_weight!r}")
            w = np.full((n_out, n_in), output_weight * 2.0**net.weight_bits)
        if net.fixed:
            w = np.rint(w).astype(np.int64)
            if w.min() < PLASTIC_WEIGHT_MIN or w.max() > PLASTIC_WEIGHT_MAX:
                raise LavaPlasticError("initial weights do not fit 8 bits: lower weight_bits")
        weights.append(w)
    return tuple(weights)


def check_weights(net: PlasticNetwork, weights) -> None:
    """Refuse weights that do not fit the description: one ``(n_out, n_in)`` matrix per layer,
    finite, and in fixed point integers within the signed 8-bit range (nothing is rounded or
    clipped silently)."""
    if len(weights) != net.n_layers:
        raise LavaPlasticError(f"need {net.n_layers} weight matrices, got {len(weights)}")
    for k, w in enumerate(weights):
        expected = (net.sizes[k + 1], net.sizes[k])
        if tuple(w.shape) != expected:
            raise LavaPlasticError(f"layer {k}: weights must have shape {expected}, got "
                                   f"{tuple(w.shape)}")
        w = to_numpy(w)
        if not np.all(np.isfinite(w)):
            raise LavaPlasticError(f"layer {k}: weights hold NaN or infinite values")
        if net.fixed and (not np.array_equal(w, np.round(w)) or np.min(w) < PLASTIC_WEIGHT_MIN
                          or np.max(w) > PLASTIC_WEIGHT_MAX):
            raise LavaPlasticError(f"layer {k}: fixed-point weights must be integers in "
                                   f"[{PLASTIC_WEIGHT_MIN}, {PLASTIC_WEIGHT_MAX}]")


def init_feedback(plan: Plan, bs=None) -> tuple[np.ndarray, ...]:
    """The hidden layers' feedback matrices in modulation units: ``bs`` (real ``(C, n_k)``
    matrices) or the rule's own, drawn from its seed. The online rules' (real units): OPZO's
    ``M_k`` ``(n_k, C)`` at zero (after eq. 5), DFA's ``B_k``, none for ZO_sp and BP."""
    net = plan.net
    if is_perturbative(plan.rule):
        return ()
    if is_online(plan.rule):
        kind = plan.rule.feedback_kind
        if kind == "momentum":  # fixed point: int64 registers in units of 2**-M_BITS
            return tuple(np.zeros((n, net.n_classes), dtype=np.int64 if net.fixed else np.float64)
                         for n in net.hidden_sizes)
        if kind == "random":
            if bs is None:
                bs = projection_matrices(plan.rule.seed, net.n_classes, net.hidden_sizes)
            # checked as DRTP's are; real in float (the rule projects the real error), 8-bit in
            # fixed point (units of 2**-B_SHIFT)
            quantized = projection_weights(bs, net.n_classes, net.hidden_sizes, net.fixed)
            return quantized if net.fixed else tuple(np.asarray(b, np.float64) for b in bs)
        return ()
    if bs is None:
        bs = projection_matrices(plan.rule.seed, net.n_classes, net.hidden_sizes)
    return projection_weights(bs, net.n_classes, net.hidden_sizes, net.fixed)


def encode_input(net: PlasticNetwork, x, sequence: bool = False) -> np.ndarray:
    """Direct coding payload of ``x`` in [0, 1] for ``net`` (:func:`direct_payload`)."""
    return direct_payload(x, net.sizes[0], net.input_bits, net.fixed, sequence)


def direct_payload(x, n_in: int, input_bits: int, fixed: bool, sequence: bool = False):
    """Direct coding payload of ``x`` in [0, 1], ``(batch, n_in)``: ``x * 2**input_bits``,
    rounded half to even in fixed point. ``sequence``: ``x`` is ``(batch, steps, n_in)``, an
    input per step (event frames, say), encoded alike. The trained network's input and a
    deployed one's (:mod:`lava_plastic.deploy`)."""
    x = to_numpy(x)
    shape = "(batch, steps, {})" if sequence else "(batch, {})"
    if x.ndim != (3 if sequence else 2) or x.shape[-1] != n_in:
        raise LavaPlasticError(f"input must have shape {shape.format(n_in)}, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise LavaPlasticError("input holds NaN or infinite values")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise LavaPlasticError(f"input values must lie in [0, 1], got [{x.min()}, {x.max()}]")
    payload = x.astype(np.float64) * 2**input_bits
    return np.rint(payload).astype(np.int64) if fixed else payload


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class TrainState:
    """What training changes and carries: the weights (any namespace; int32 in fixed point),
    the hidden layers' feedback matrices (modulation units; the online rules': OPZO's ``M_k``
    ``(n_k, C)``, which training updates in place, or DFA's real ``B_k``), the optimiser state,
    the number of writes so far (which keys the fixed-point stochastic rounding) and of samples
    presented while learning (whose ordinals key the online rules' noise and the perturbation
    rules' ``xi``), and the rule's own state (LOCO: each layer's buffer of past principal
    directions, host numpy)."""

    weights: tuple
    feedback: tuple
    opt_state: object
    n_updates: int
    n_samples: int = 0
    rule_state: tuple = ()


FLOAT_DTYPES = ("float64", "float32")
"""Float training computes in float64 (the parity contract with the Lava graph) or float32 (a
training option: half the memory traffic, accuracy within seed spread)."""


def init_state(plan: Plan, weights=None, bs=None, optimizer=None, template=None,
               dtype: str = "float64") -> TrainState:
    """A fresh :class:`TrainState`: ``weights`` (default :func:`init_weights` from the rule's
    seed), feedback matrices from ``bs`` (default the rule's own), optimiser state. Float
    networks compute in ``dtype`` (:data:`FLOAT_DTYPES`; the weights and feedback are cast to
    it). With ``template``, an array of another namespace or device (a torch tensor, say), the
    arrays are moved there and training runs there."""
    if dtype not in FLOAT_DTYPES:
        raise LavaPlasticError(f"dtype must be one of {FLOAT_DTYPES}, got {dtype!r}")
    if plan.net.fixed and dtype != "float64":
        raise LavaPlasticError("fixed point computes in integers: the float32 option is for float "
                               "networks")
    weights = init_weights(plan.net, plan.rule.seed) if weights is None else tuple(weights)
    check_weights(plan.net, weights)
    feedback = init_feedback(plan, bs)
    if plan.net.fixed:  # 8-bit registers: int32 passes run at twice int64's rate or more
        weights = tuple(to_numpy(w).astype(np.int32) for w in weights)
    else:
        weights = tuple(to_numpy(w).astype(dtype) for w in weights)
        feedback = tuple(b.astype(dtype) for b in feedback)
    if template is not None:
        weights = tuple(like(template, to_numpy(w)) for w in weights)
        feedback = tuple(like(template, b) for b in feedback)
    rule_state = perturbation.initial_directions(plan) if is_perturbative(plan.rule) else ()
    return TrainState(weights, feedback, optimizer.init(weights) if optimizer else None, 0,
                      rule_state=rule_state)


def _on_engine(template, value):
    """Host array ``value`` moved where ``template`` lives, float values in its dtype."""
    moved = like(template, value)
    if value.dtype.kind == "f":
        moved = namespace(template).astype(moved, template.dtype, copy=False)
    return moved


def run_batch(plan: Plan, state: TrainState, payload, y_star, learn: bool,
              parallel: DataParallel | None = None):
    """Present a batch (``payload`` ``(batch, n_in)`` from :func:`encode_input`, ``y_star`` its
    one-hot targets) for ``n_steps`` steps from rest. Returns the output spike counts
    ``(batch, C)`` and, if ``learn``, each layer's update accumulator summed over the batch
    (the synapses' ``acc``), else ``None``. Float arithmetic runs in the weights' dtype. With
    ``parallel`` the batch is this rank's share and the accumulators are summed over all
    ranks' shares (:func:`accumulators`)."""
    xp = namespace(payload)
    layers, feedback = plan.layers, plan.feedback
    weights, n_layers = state.weights, len(plan.layers)
    if not plan.net.fixed:
        y_star = xp.astype(y_star, weights[0].dtype)
    batch = payload.shape[0]
    neurons = [rest(lp, batch, xp, device(payload), weights[0].dtype) for lp in layers]
    later_accs = [None] * (n_layers - 1)
    layer_in = [None] * n_layers
    sent = {"label": y_star, "output": xp.zeros_like(y_star)}
    projected, mods = None, None
    # Direct coding sends the same payload every step, so the first layer's synaptic input is
    # the same every step too: computed once (the same numbers the Dense computes each step).
    # For the same reason sum_t delta_t x^T = (sum_t delta_t) x^T: its third factors are
    # summed as they come, and multiplied once (exact in fixed point).
    a_first = synapse.forward(layers[0], weights[0], payload, xp)
    # A current without memory follows its input, so the first layer's repeats too (from t = 1).
    u_first = (current(layers[0], xp.zeros_like(a_first), a_first, xp) if layers[0].memoryless
               else None)
    first_sum = None
    for t in range(plan.net.n_steps):
        s = payload
        if sent[feedback.source] is not projected:  # the target stays the same all sample long
            projected = sent[feedback.source]
            mods = [modulation(lp, project(projected, b, lp.fixed, xp), xp)
                    for b, lp in zip(state.feedback, layers)] + [y_star]
        for k, lp in enumerate(layers):
            if not t:
                a_in = xp.zeros_like(a_first if k == 0 else neurons[k].u)
            else:
                a_in = a_first if k == 0 else synapse.forward(lp, weights[k], layer_in[k], xp)
            neurons[k], spikes, delta, signal = neuron_step(lp, feedback, neurons[k], a_in, mods[k],
                                                            t, xp, u_first if k == 0 else None)
            if learn and t >= lp.first_valid:
                if k:  # summed step by step: thin (n_out, rows) products run slowly in BLAS
                    step_acc = synapse.accumulate(lp, delta, layer_in[k], xp)
                    if later_accs[k - 1] is None:
                        later_accs[k - 1] = step_acc  # a fresh array, summed into in place
                    else:
                        later_accs[k - 1] += step_acc
                elif first_sum is None:
                    first_sum = delta  # a fresh array, summed into in place
                else:
                    first_sum += delta
            layer_in[k] = s
            s = spikes
        if signal is not None:
            sent["output"] = signal
    counts = xp.astype(neurons[-1].count, xp.int64)
    if not learn:
        return counts, None
    return counts, accumulators(plan, (first_sum, payload), later_accs, xp, parallel)


def accumulators(plan: Plan, first_factors, later_accs, xp,
                 parallel: DataParallel | None = None) -> tuple:
    """Each layer's accumulator ``sum_rows delta^T pre``: the first layer's from its factors
    ``(delta, pre)`` (one row per sample: the third factors summed over the steps, and the
    payload), the later layers' as summed step by step.

    Across ranks, when the first layer's factors are smaller than its accumulator, the factor
    rows of every rank are gathered in batch order and multiplied, which gives the
    single-process numbers exactly, in float too; the other accumulators are summed across
    ranks."""
    lp, (delta, pre) = plan.layers[0], first_factors
    # decided from the plan alone, so that every rank takes the same branch
    gather = parallel is not None and plan.batch_size * (lp.n_out + lp.n_in) < lp.n_out * lp.n_in
    if gather:
        delta, pre = parallel.gather_rows([delta, xp.astype(pre, delta.dtype, copy=False)], 1)
    accs = [synapse.accumulate(lp, delta, pre, xp)] + list(later_accs)
    if parallel is not None:
        parallel.sum(accs[1:] if gather else accs)
    return tuple(accs)


def predict(plan: Plan, state: TrainState, x, batch_size: int = 500,
            parallel: DataParallel | None = None):
    """Output spike counts ``(n, C)`` for inputs ``x`` in [0, 1], learning off. With
    ``parallel``, each rank counts its share of the samples and every rank returns all counts
    (numpy)."""
    check_weights(plan.net, state.weights)
    template = state.weights[0]
    xp = namespace(template)
    rows = np.arange(len(x))
    if parallel is not None:
        rows = parallel.for_batch(len(x)).share(rows)
    online_rule = is_online(plan.rule)
    score_dtype = template.dtype if online_rule and not plan.net.fixed else xp.int64
    out = [xp.zeros((0, plan.net.n_classes), dtype=score_dtype, device=device(template))]
    for i in range(0, len(rows), batch_size):
        xb = _on_engine(template, encode_input(plan.net, x[rows[i : i + batch_size]],
                                               sequence=online_rule and np.ndim(x) == 3))
        no_label = xp.zeros((xb.shape[0], plan.net.n_classes), dtype=xp.int64,
                            device=device(template))
        if online_rule:
            out.append(online.run_batch(plan, state.weights, state.feedback, xb, no_label,
                                        None, learn=False)[0])
        elif is_perturbative(plan.rule):
            out.append(perturbation.run_batch(plan, state.weights, xb, no_label, None,
                                              learn=False)[0])
        else:
            out.append(run_batch(plan, state, xb, no_label, learn=False)[0])
    if parallel is None:
        return xp.concat(out)
    counts = np.zeros((len(x), plan.net.n_classes), dtype=np.float64 if online_rule else np.int64)
    counts[rows] = to_numpy(xp.concat(out))
    parallel.sum([counts])
    return counts


def accuracy(counts, labels) -> float:
    """Fraction of samples whose most active output neuron (lowest index on ties) is the label:
    spike counts, or a readout's summed outputs."""
    return float(np.mean(to_numpy(counts).argmax(axis=1) == to_numpy(labels)))


def train_epoch(plan: Plan, state: TrainState, x, labels, batch_size: int, optimizer, order,
                parallel: DataParallel | None = None, alpha: float = 0.0, dropout: float = 0.0):
    """One pass over ``(x, labels)`` in the sample ``order`` given, cut into batches of
    ``batch_size``, or over the batches given (a list of index arrays, each at most
    ``batch_size`` long: LOCO's batches of one class, say). ``optimizer``: ``None``
    for the on-chip rule (:func:`synapse.write` per batch, the summed update of the batch's
    samples), or an :mod:`lava_plastic.optim` value (float only) fed with
    :func:`synapse.direction`. With ``parallel``, this rank runs its share of each batch and
    the accumulators are summed across ranks before every rank writes the same update.
    The online rules (:mod:`.online`) take the epoch's noise scale ``alpha`` and the hidden
    layers' ``dropout`` rate.
    Returns the new state and the output spike counts (a readout's summed outputs) of every
    sample, seen while learning, in the rows of ``x`` (numpy)."""
    check_weights(plan.net, state.weights)
    labels = check_targets(labels, plan.net.n_classes)
    if len(labels) != len(x):
        raise LavaPlasticError(f"got {len(x)} inputs and {len(labels)} labels")
    online_rule = is_online(plan.rule)
    if online_rule:
        check_online_options(plan, alpha, dropout)
    if isinstance(order, list):
        batches = [np.asarray(b) for b in order]
        if any(len(b) > batch_size or not len(b) for b in batches):
            raise LavaPlasticError(f"every batch must hold 1 to {batch_size} samples")
        order = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
    else:
        order = np.asarray(order)
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    template = state.weights[0]
    xp = namespace(template)
    weights, opt_state, n_updates = list(state.weights), state.opt_state, state.n_updates
    if optimizer is not None:  # one copy, then the optimiser updates in place
        weights = [xp.asarray(w, copy=True) for w in weights]
    # M learns in place: a copy, so that the state passed in stays as it was
    feedback = tuple(xp.asarray(f, copy=True) for f in state.feedback)
    n_samples, rule_state = state.n_samples, state.rule_state
    seen = np.zeros((len(x), plan.net.n_classes), dtype=np.float64 if online_rule else np.int64)
    for idx in batches:
        n_batch = len(idx)
        if getattr(plan.rule, "class_batches", False):
            check_one_class(plan.rule, labels[idx])
        batch_parallel = None if parallel is None else parallel.for_batch(n_batch)
        if batch_parallel is not None:
            idx = batch_parallel.share(idx)
        payload = _on_engine(template, encode_input(plan.net, x[idx],
                                                    sequence=online_rule and np.ndim(x) == 3))
        y_star = like(template, targets(labels[idx], plan.net.n_classes))
        if online_rule or is_perturbative(plan.rule):  # the ordinals key their noise
            positions = np.arange(n_batch)
            if batch_parallel is not None:
                positions = batch_parallel.share(positions)
            rows = like(template, n_samples + positions)
        if online_rule:
            counts, accs, feedback = online.run_batch(plan, weights, feedback, payload, y_star,
                                                      rows, True, alpha, dropout, batch_parallel)
        elif is_perturbative(plan.rule):
            counts, accs, rule_state = perturbation.run_batch(plan, weights, payload, y_star,
                                                              rows, True, rule_state,
                                                              batch_parallel)
        else:
            batch_state = TrainState(tuple(weights), feedback, opt_state, n_updates)
            counts, accs = run_batch(plan, batch_state, payload, y_star, learn=True,
                                     parallel=batch_parallel)
        n_samples += n_batch
        seen[idx] = to_numpy(counts)
        if optimizer is None:
            weights = [synapse.write(lp, w, a, n_updates, xp)
                       for lp, w, a in zip(plan.layers, weights, accs)]
        else:
            directions = tuple(synapse.direction(lp, a, xp) for lp, a in zip(plan.layers, accs))
            opt_state = optimizer.step_into(weights, directions, opt_state)
        n_updates += 1
    if parallel is not None:
        seen_rows = seen[order]
        parallel.sum([seen_rows])
        seen[order] = seen_rows
    return TrainState(tuple(weights), feedback, opt_state, n_updates, n_samples,
                      rule_state), seen


def check_targets(labels, n_classes: int) -> np.ndarray:
    """Training targets as :func:`targets` takes them: class labels (checked by
    :func:`~lava_plastic.rules.base.check_labels`) or multi-hot rows ``(n, n_classes)`` of 0s
    and 1s (NETtalk's), int64."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        return check_labels(labels, n_classes)
    if labels.shape[1] != n_classes:
        raise LavaPlasticError(f"multi-hot targets must have {n_classes} columns, got "
                               f"{labels.shape[1]}")
    if not np.all((labels == 0) | (labels == 1)):
        raise LavaPlasticError("multi-hot targets must hold only 0 and 1")
    return labels.astype(np.int64)


def check_one_class(rule, batch_labels) -> None:
    """Refuse a batch that mixes classes (labels, or multi-hot target rows) for a rule whose
    ``class_batches`` requires batches of one class."""
    classes = np.unique(batch_labels, axis=0)
    if len(classes) > 1:
        shown = classes.tolist() if classes.ndim == 1 else f"{len(classes)} target codes"
        raise LavaPlasticError(f"a batch mixes classes {shown}: {rule.name} with "
                               "class_batches=True learns from batches of one class")


def targets(labels, n_classes: int) -> np.ndarray:
    """The 0/1 target rows of checked ``labels`` (:func:`check_targets`): one-hot for class
    labels, multi-hot rows as they are."""
    return labels if labels.ndim == 2 else one_hot(labels, n_classes)


def check_online_options(plan: Plan, alpha: float, dropout: float) -> None:
    """Refuse what the online rules cannot train with (one ``LavaPlasticError`` each)."""
    if plan.rule.noisy and not (np.isfinite(alpha) and alpha > 0):
        raise LavaPlasticError(f"the noise scale alpha must be positive, got {alpha!r}")
    if not (np.isfinite(dropout) and 0 <= dropout < 1):
        raise LavaPlasticError(f"dropout must be in [0, 1), got {dropout!r}")


def make_optimizer_for(net: PlasticNetwork, name: str, lr: float, weight_decay: float = 0.0):
    """``None`` (the on-chip rule) for ``sgd``; Adam or AdamW (float only) with ``lr`` and
    ``weight_decay`` in real weight units, converted to weight units."""
    if name == "sgd":
        if weight_decay:
            raise LavaPlasticError("weight decay is an option of adamw")
        return None
    if net.fixed:
        raise LavaPlasticError(f"{name} runs in float only; fixed point trains with the on-chip "
                               "SGD rule")
    return make_optimizer(name, lr * 2**net.weight_bits, weight_decay * 2.0**-net.weight_bits)
