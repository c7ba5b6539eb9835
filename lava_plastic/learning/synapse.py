"""The plastic synapse, written once: its forward pass, the accumulation of (third factor,
presynaptic input) pairs and the weight write. The Lava models of
:class:`~lava_plastic.processes.plastic_dense.process.PlasticDense` and the engine call these
functions; weight arithmetic lives nowhere else.

Fixed point: the forward pass is Lava's bit-accurate Dense (int32 wrap, ``weight_exp``); the
accumulator is a saturating signed 32-bit register; a write adds ``acc * 2**-lr_shift``
stochastically rounded, ``(acc + noise) >> lr_shift`` with ``noise`` uniform in
``[0, 2**lr_shift)`` (so the expected update is exact), and saturates the weights to signed 8
bits. Float computes the same quantities without rounding or saturation.
"""
from __future__ import annotations

from lava_plastic import fixed_point as fp
from lava_plastic.engine import dense_fixed, dense_float
from lava_plastic.learning.plan import LayerPlan
from lava_plastic.rules.base import PLASTIC_WEIGHT_BITS
from lava_plastic.noise import STREAM_ROUNDING, key_hash, stream_bits
from lava_plastic.xp import blocks, device


def forward(lp: LayerPlan, weights, s_in, xp):
    """The synaptic input a layer sends for input ``s_in`` ``(batch, n_in)``: ``W x`` shifted by
    the layer's exponent (Lava's Dense arithmetic in fixed point; exactly in float)."""
    if lp.fixed:
        return dense_fixed(weights, s_in, lp.weight_exp, lp.graded_in, lp.forward_matmul, xp,
                           lp.forward_bound, lp.forward_chunks)
    a = dense_float(weights, s_in, lp.graded_in, xp)
    return a if lp.weight_exp == 0 else a * 2.0**lp.weight_exp


def trace_step(lp: LayerPlan, trace, previous_input, xp):
    """The presynaptic term of a step, the trace of the inputs up to the previous step:
    ``p <- decay p + s`` (DRTP's decay 0: the previous input; OTTT's ``a^ <- lam a^ + s``,
    section 3.1 of the OPZO paper; fixed point ``(p * factor) >> 12`` toward zero). ``trace``
    ``None``: a sample's first step."""
    if previous_input is None:
        return None
    if trace is None or not lp.trace_decay:
        return previous_input
    if lp.fixed:  # the 12-bit factor, shifted toward zero as Loihi decays its state
        return previous_input + fp.shift_right_toward_zero(trace * lp.trace_decay,
                                                           fp.DECAY_BITS, xp)
    return previous_input + lp.trace_decay * trace


def accumulate(lp: LayerPlan, delta, pre, xp):
    """The update accumulator of a write, ``sum_rows delta^T pre``: ``(rows, n_out)``,
    ``(rows, n_in)`` -> ``(n_out, n_in)``.

    Fixed point: an exact integer product (in the plan's static dtype), as int32. The register
    is a saturating signed ``ACC_BITS``-bit accumulator, but
    :func:`~lava_plastic.learning.plan.compile_plan` refuses every configuration in which a
    write's sum (with its rounding noise) could reach its limit, so the saturation provably never
    acts and summing a sample's steps at once (the engine) or step by step gives the same
    integers.
    """
    if lp.fixed:
        return fp.exact_int_matmul(delta.T, pre, lp.acc_matmul, xp, result="int32")
    return delta.T @ xp.astype(pre, delta.dtype, copy=False)


def rounding_stream(lp: LayerPlan, update: int) -> int:
    """The noise stream that rounds update number ``update`` of the layer stochastically: the
    counter-based bits keyed by ``(seed, stream, layer, update)`` (:mod:`lava_plastic.noise`),
    so a Lava model and the engine, on numpy or torch, whole or block by block, draw identical
    noise."""
    return key_hash(lp.seed, STREAM_ROUNDING, lp.k, update)


def write(lp: LayerPlan, weights, acc, update: int, xp):
    """The weights after writing the accumulated update ``acc`` (update number ``update`` of
    the layer): float ``W + acc * 2**-lr_shift`` (in place of ``acc``, which is consumed);
    fixed point ``(acc + noise) >> lr_shift`` (stochastic rounding, in the 32-bit register: the
    plan keeps the sum in range) added and saturated to signed 8 bits, block by block on a CPU
    (:func:`lava_plastic.xp.blocks`)."""
    if not lp.fixed:
        acc *= 2.0**-lp.lr_shift
        acc += weights
        return acc
    new = xp.empty_like(weights)
    flat_weights, flat_acc, flat_new = (xp.reshape(a, (-1,)) for a in (weights, acc, new))
    stream = rounding_stream(lp, update)
    for part in blocks(flat_new.shape[0], new):
        noise = stream_bits(stream, (part.stop - part.start,), lp.lr_shift, xp, device(new),
                            part.start)  # int32 in [0, 2**lr_shift)
        step = flat_acc[part] + noise
        step >>= lp.lr_shift
        flat_new[part] = fp.clip_signed(flat_weights[part] + step, PLASTIC_WEIGHT_BITS, xp)
    return new


def direction(lp: LayerPlan, acc, xp):
    """The accumulated update in weight units, ``acc * 2**-lr_shift``: what an optimiser
    (:mod:`lava_plastic.optim`, float only) receives instead of the on-chip write."""
    return acc * 2.0**-lp.lr_shift
