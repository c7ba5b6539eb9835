"""The per-layer plan: every constant a layer's Lava models and the engine use, derived once from
the network description and the rule (formats, shifts, delays, learning-rate shifts, bounds).

The builder hands each Lava process its :class:`LayerPlan` as a process parameter and the engine
reads the same objects, so no constant is derived twice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from lava_plastic import fixed_point as fp
from lava_plastic.errors import LavaPlasticError
from lava_plastic.learning.network import ACTIVITY_REGISTER_BITS, PlasticNetwork
from lava_plastic.rules.loco import check_sigma, is_perturbative, layer_lr_factor
from lava_plastic.rules.opzo import momentum_shift
from lava_plastic.rules.base import (ACC_BITS, DELTA_BITS, DELTA_SHIFT, MAX_LR_SHIFT,
                                     PLASTIC_WEIGHT_MAX, Rule, sigmoid_surrogate_table,
                                     surrogate_width_shift)


@dataclass(frozen=True)
class LayerPlan:
    """Layer ``k`` (0-based; the last is the output layer) in its precision's units.

    ``du``, ``dv``, ``vth``: fixed point the 12-bit decays and ``vth << 6``; float their limits
    (decay fractions ``(du + 1) / 4096`` and ``dv / 4096``, ``v`` divided by 64).
    ``surrogate``: the rule's local factor. ``psi_width``: the triangle's half-width, fixed
    point as a shift (``log2`` in voltage units), float in ``v`` units; the sigmoid's ``a1`` in
    ``v`` units (float) or its table's index shift (fixed point, with the table in
    ``psi_table``, empty otherwise). ``weight_exp``: the Dense output shift. ``lr_shift``: the update is
    ``acc * 2**-lr_shift``. ``first_valid``: the first step of a sample whose (third factor,
    previous input) pair is learnt: 1, since the first step's input belongs to the previous
    sample and the modulatory signals arrive one step late. ``acc_matmul`` and
    ``forward_matmul``: dtypes in which the integer products are exact (static bounds,
    :func:`lava_plastic.fixed_point.matmul_dtype`), the forward product in ``forward_chunks``
    slices of its inputs (:func:`lava_plastic.fixed_point.exact_product`). ``forward_bound`` bounds ``|W x|`` and
    ``a_bound`` the synaptic input after the exponent, so fixed-point wraps that provably change
    nothing are skipped. ``reset_subtract``: a spike subtracts the threshold from the voltage
    instead of zeroing it (:attr:`PlasticNetwork.reset`).

    The presynaptic term of the pairs (:mod:`lava_plastic.rules.opzo` for the online rules):
    ``trace_decay`` is the retention of the synapse's trace of its input, ``p <- decay p + s``
    (0: the previous input, DRTP's; the postsynaptic membrane's ``1 - dv/4096`` for OTTT's
    trace, in fixed point the 12-bit factor ``4096 - dv``), in the units of the input,
    ``2**-in_bits`` (the payload's fraction bits at the first layer, the online rules' graded
    activity's, 0 for DRTP's spikes: :meth:`PlasticNetwork.in_bits`). ``lag``: steps from this
    layer's activity to the output (``K - 1 - k``). ``align``: steps between a hidden neuron's
    potential and the error that reaches it about that wavefront (``lag + 1`` for the online
    rules, whose error is formed at the output every step and sent one step on; 0 otherwise):
    the layer pairs the error with the surrogate and trace of ``align`` steps earlier.
    """

    k: int
    n_in: int
    n_out: int
    fixed: bool
    output: bool
    graded_in: bool
    n_steps: int
    du: float | int
    dv: float | int
    vth: float | int
    psi_width: float | int
    surrogate: str
    psi_table: tuple[int, ...]
    weight_exp: int
    lr_shift: int
    seed: int
    first_valid: int
    acc_matmul: str
    forward_matmul: str
    forward_chunks: int
    forward_bound: int
    a_bound: int
    reset_subtract: bool
    trace_decay: float | int
    in_bits: int
    lag: int
    align: int

    @property
    def hidden(self) -> bool:
        return not self.output

    @property
    def vth_bits(self) -> int:
        """The threshold is ``2**vth_bits`` (``vth`` is ``vth << 6`` in fixed point)."""
        if self.fixed:
            return self.vth.bit_length() - 1 - fp.VTH_SHIFT
        return int(round(math.log2(self.vth)))

    @property
    def memoryless(self) -> bool:
        """Whether the current forgets itself every step (``du`` at its end: 4095 in fixed
        point, 1 in float), so that it depends on the step's input alone."""
        return self.du == (fp.DECAY_UNITY - 1 if self.fixed else 1.0)


@dataclass(frozen=True, eq=False)
class Plan:
    """A network and a rule, compiled: the rule, the description and one :class:`LayerPlan`
    per layer. ``batch_size`` is the largest number of samples whose updates one write sums."""

    net: PlasticNetwork
    rule: Rule
    layers: tuple[LayerPlan, ...]
    batch_size: int

    @property
    def feedback(self):
        return self.rule.feedback


def lr_shift(net: PlasticNetwork, lr: float, k: int) -> int:
    """The accumulator shift giving layer ``k`` the real learning rate ``lr``, rounded to a
    power of two (float uses the same power)."""
    shift = int(round(DELTA_SHIFT + net.in_bits(k) - net.weight_bits - math.log2(lr)))
    if not 0 <= shift <= MAX_LR_SHIFT:
        raise LavaPlasticError(f"learning rate {lr} gives an accumulator shift {shift} outside "
                               f"[0, {MAX_LR_SHIFT}]")
    return shift


def trace_decay(net: PlasticNetwork, traced: bool):
    """The retention of a synapse's trace: OTTT's follows its postsynaptic membrane,
    ``1 - dv/4096`` (fixed point: the 12-bit factor ``4096 - dv``); 0 without a trace."""
    if not traced:
        return 0 if net.fixed else 0.0
    return fp.DECAY_UNITY - net.dv if net.fixed else 1 - net.dv / fp.DECAY_UNITY


def check_on_chip(rule: Rule) -> None:
    """Refuse, for a Lava graph, a rule with no on-chip form: spatial BP is the engine's
    reference (one ``LavaPlasticError``)."""
    if getattr(rule, "feedback_kind", None) == "backprop":
        raise LavaPlasticError(f"spatial BP ({rule.name}) runs in the engine only: it is the "
                               f"reference, not an on-chip rule")


def is_online(rule: Rule) -> bool:
    """Whether ``rule`` trains online through time from an output error at every step (OPZO and
    its baselines, :mod:`lava_plastic.rules.opzo`)."""
    return getattr(rule, "online", False)


def check_rule(net: PlasticNetwork, rule: Rule) -> None:
    """Refuse a rule the network cannot be trained with (one ``LavaPlasticError``)."""
    if rule.n_classes != net.n_classes:
        raise LavaPlasticError(f"rule has {rule.n_classes} classes, network {net.n_classes}")
    online = is_online(rule)
    if is_perturbative(rule):
        if net.output != "spiking":
            raise LavaPlasticError(f"{rule.name} learns from output spike counts: use "
                                   "output='spiking'")
        check_sigma(rule.sigma, net.vth_bits)
        narrowest = min(net.sizes[:-1])
        if rule.projected and rule.rank > narrowest:
            raise LavaPlasticError(f"rank {rule.rank} exceeds the narrowest layer input "
                                   f"({narrowest} neurons)")
        return
    if online and net.output != "readout":
        raise LavaPlasticError(f"{rule.name} learns from the error of a readout output: use "
                               f"output='readout'")
    if not online and net.output != "spiking":
        raise LavaPlasticError(f"{rule.name} learns from output spikes: use output='spiking'")
    if online and net.fixed:
        for refused, why in ((rule.feedback_kind == "backprop", "spatial BP runs in float: it "
                              "is the reference"),
                             (rule.loss != "sse", f"fixed point learns from the sse loss's error "
                              f"e = o - y, not {rule.loss}'s"),
                             (rule.scale_by_alpha, "fixed point drops eq. 6's 1/alpha")):
            if refused:
                raise LavaPlasticError(f"{rule.name}: {why}")
        if rule.feedback_kind == "momentum":  # 1 - lambda must be a power of two
            momentum_shift(rule.momentum)
    if getattr(rule, "antithetic", False) and net.n_steps % 2:
        raise LavaPlasticError("antithetic noise pairs consecutive steps: the number of steps "
                               f"must be even, got {net.n_steps}")
    if online and net.n_steps <= net.n_layers:
        raise LavaPlasticError(f"a readout {net.n_layers} layers deep first sees a sample at step "
                               f"{net.n_layers}: use more than {net.n_layers} steps")


def compile_plan(net: PlasticNetwork, rule: Rule, batch_size: int = 1) -> Plan:
    """The :class:`Plan` of ``net`` trained by ``rule`` with up to ``batch_size`` samples per
    write. Refuses, before anything runs, a configuration whose static bound lets the 32-bit
    accumulator saturate: a sample adds at most ``(T - 1) * 2**DELTA_SHIFT * max_input`` per
    weight, and the write adds its rounding noise, below ``2**lr_shift``."""
    check_rule(net, rule)
    if int(batch_size) != batch_size or batch_size < 1:
        raise LavaPlasticError(f"batch size must be a positive integer, got {batch_size!r}")
    if rule.surrogate == "sigmoid":
        width, table = sigmoid_surrogate_table(net.vth_scaled, rule.psi_width)
        float_width = rule.psi_width * net.vth
    else:
        width, table = surrogate_width_shift(net.vth_scaled, rule.psi_width), ()
        float_width = 2.0**width / 2**fp.VTH_SHIFT
    layers = []
    online = is_online(rule)
    n_layers = net.n_layers
    for k in range(n_layers):
        graded = k == 0
        max_in = 2 ** (net.in_bits(k)) if graded else 1
        pair_bound = 2**DELTA_SHIFT * max_in
        hidden = k < n_layers - 1
        if online:  # the readout's third factor may reach 2**12; a trace sums its decaying inputs
            max_in = 2 ** (ACTIVITY_REGISTER_BITS - 1) if k else 2 ** net.in_bits(0)
            trace_bound = max_in * fp.DECAY_UNITY // max(net.dv, 1) if hidden else max_in
            pair_bound = 2 ** (DELTA_SHIFT + 1) * trace_bound
        acc_bound = (net.n_steps - 1) * batch_size * pair_bound
        lr = rule.layer_lr(k, n_layers)
        if is_perturbative(rule):  # one (third factor, input count) pair per sample
            max_in = max_in if graded else net.n_steps
            if rule.projected:  # |P x| <= |x| <= sqrt(n) max, plus the rounding
                max_in = math.isqrt(net.sizes[k] * max_in**2) + 2
            acc_bound = batch_size * 2 ** (DELTA_BITS - 1) * max_in
            lr *= layer_lr_factor(net.n_classes, net.n_steps, rule.sigma, k)
        shift = lr_shift(net, lr, k)
        # the write adds rounding noise below 2**shift to the register
        if net.fixed and acc_bound + 2**shift > 2 ** (ACC_BITS - 1):
            raise LavaPlasticError(f"layer {k}: {batch_size} samples of {net.n_steps} steps can "
                                   f"saturate the {ACC_BITS}-bit update accumulator; use a smaller "
                                   f"batch or fewer steps")
        term_bound = (PLASTIC_WEIGHT_MAX + 1) * max_in
        forward_bound = term_bound * net.sizes[k]
        forward_matmul, forward_chunks = fp.exact_product(term_bound, net.sizes[k])
        exp = net.weight_exp(k)
        common = dict(k=k, n_in=net.sizes[k], n_out=net.sizes[k + 1], fixed=net.fixed,
                      # the online rules' hidden activity is graded when noise is added to it
                      output=not hidden, graded_in=graded or online, n_steps=net.n_steps,
                      weight_exp=exp,
                      lr_shift=shift,
                      seed=rule.seed, first_valid=1, surrogate=rule.surrogate,
                      acc_matmul=fp.matmul_dtype(acc_bound),
                      forward_matmul=forward_matmul, forward_chunks=forward_chunks,
                      forward_bound=forward_bound, reset_subtract=net.reset == "subtract",
                      trace_decay=trace_decay(net, online and hidden),
                      in_bits=net.in_bits(k),
                      lag=n_layers - 1 - k,
                      align=n_layers - k if online and hidden and rule.aligned else 0,
                      a_bound=forward_bound << exp if exp >= 0 else (forward_bound >> -exp) + 1)
        if net.fixed:
            layers.append(LayerPlan(**common, du=net.du, dv=net.dv, vth=net.vth_scaled,
                                    psi_width=width, psi_table=table))
        else:
            layers.append(LayerPlan(**common, du=(net.du + 1) / fp.DECAY_UNITY,
                                    dv=net.dv / fp.DECAY_UNITY, vth=float(net.vth),
                                    psi_width=float_width, psi_table=()))
    return Plan(net, rule, tuple(layers), int(batch_size))
