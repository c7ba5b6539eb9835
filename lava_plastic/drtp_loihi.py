"""DRTP in Lava's own learning engine: ``LearningDense`` synapses with a ``Loihi3FLearningRule``
and :class:`~lava_plastic.processes.drtp_3f_lif.process.DRTP3FLIF` neurons that send the third
factor as the y2/y3 traces (the form a Loihi 2 chip runs with its learning engine).

::

    SampleSource ──> LearningDense_1 ──> DRTP3FLIF_1 ──> LearningDense_2 ──> ... ──> SpikeCounter
         │ labels           ^ y1,y2,y3,bap  │
         ├─> Dense(B_k) ──> DRTP3FLIF_k.a_third_factor_in
         └─> Dense(I)   ──> output layer's a_third_factor_in

The rule (:func:`lava_plastic.rules.drtp.loihi_rule_strings`) learns every step
(``t_epoch = 1``), so weights change within a sample, whereas :class:`DRTPDense` writes a
sample's summed update at its end. With ``frozen_forward=True`` every layer is driven by a
stock Dense holding the initial weights and the LearningDense only learns in its shadow: the
third factors then do not depend on the learned weights and the learned weights equal the
engine's summed update exactly (float) — the set-up the tests compare.

Presynaptic traces are spikes (``x1`` impulse 1 in float, ``x1_impulse`` in fixed point, with
the fastest decay), so the input layer takes binary spikes, not graded payloads.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.proc.dense.process import Dense, LearningDense

from lava_plastic.drtp_lava import StreamGraph, stock_dense_args
from lava_plastic.drtp_network import DRTPNetwork, modulation_weights
from lava_plastic.processes.drtp_3f_lif.process import DRTP3FLIF
from lava_plastic.rules import drtp

FLOAT_TRACE_TAU = 1e-6
"""Float pre-trace time constant: exp(-1/tau) underflows to 0, so x1 is this step's spike."""
FIXED_TRACE_TAU = 1
"""Fixed point: the fastest decay Lava's integer traces allow (x1 keeps ~e^-1 of itself)."""
FIXED_X1_IMPULSE_BITS = 4
"""Fixed point: a presynaptic spike sets x1 (7 bits) to 2**4."""
FIXED_TRACE_PRODUCT_SHIFT = 3
"""Lava's bit-approximate engine yields a product of two traces as 2**-3 of its float value."""
Y3_FLOAT_DECAY = float(np.exp(-1 / np.iinfo(np.uint16).max))
"""Loihi3FLearningRule gives y1..y3 a time constant of 65535 steps, so in float the rule reads
the third factor decayed by exp(-1/65535) = 1 - 1.5e-5 within the step."""


def learning_rule(net: DRTPNetwork, rule: drtp.DRTP, k: int, seed: int = 0):
    """Layer ``k``'s Loihi 3-factor rule and the neuron's ``y_shift``.

    The learning rate ``2**-lr_shift`` of the network's own update is carried partly by the
    rule's literal ``2**-s`` (s <= 7, Lava's smallest) and partly by the neuron (``y_shift``).
    Float: LearningDense holds ``w * 2**weight_exp``, so the total shift is
    ``lr_shift - weight_exp``. Fixed point: the x1 impulse (``2**4``), the engine's ``2**-3``
    for a two-trace product and the doubled weight storage (``2**1``, see
    :func:`lava_plastic.drtp_lava.stock_dense_args`) add up to a factor 1, so the same shift
    applies (the y2/y3 traces saturate at 7 bits).
    """
    shift = net.lr_shift(rule, k) - net.weight_exp(k)
    if net.fixed:
        shift += FIXED_X1_IMPULSE_BITS - FIXED_TRACE_PRODUCT_SHIFT - 1
    rule_shift = min(7, max(0, shift))
    strings = drtp.loihi_rule_strings(rule_shift)
    if net.fixed:
        lr = Loihi3FLearningRule(**strings, x1_impulse=2**FIXED_X1_IMPULSE_BITS, x1_tau=FIXED_TRACE_TAU,
                                 t_epoch=1, rng_seed=seed)
    else:
        lr = Loihi3FLearningRule(**strings, x1_impulse=1.0, x1_tau=FLOAT_TRACE_TAU, t_epoch=1)
    return lr, shift - rule_shift


class LoihiDRTP(StreamGraph):
    """The learning-engine graph, driven like :class:`lava_plastic.drtp_lava.LavaDRTP`
    (learning is gated by the neurons, which then send zero traces). ``weights()`` returns the
    weights in the network's weight units."""

    def __init__(self, net: DRTPNetwork, rule: drtp.DRTP, weights, bs, train_x, train_y,
                 test_x=None, test_y=None, frozen_forward: bool = False):
        if net.in_bits(0) != 0:
            raise ValueError("the learning-engine form takes binary input spikes: set input_bits=0")
        super().__init__(net, rule, weights, train_x, train_y, test_x, test_y)
        if not np.all((self.data == 0) | (self.data == 1)):
            raise ValueError("the learning-engine form takes binary input spikes (0/1)")
        ms = modulation_weights(net, bs)
        port = self.source.s_out
        for k in range(net.n_layers):
            output = k == net.n_layers - 1
            lr, y_shift = learning_rule(net, rule, k, seed=rule.seed + k)
            w = np.asarray(weights[k])
            dense_args = stock_dense_args(net, w, net.weight_exp(k))
            plastic = LearningDense(learning_rule=lr, name=f"plastic{k}", **dense_args)
            lif = DRTP3FLIF(shape=(net.sizes[k + 1],), sample_steps=net.n_steps, du=net.du,
                            dv=net.dv, vth_bits=net.vth_bits, width_shift=net.width_shift(rule),
                            output=output, y_shift=y_shift, learning_rule=lr, name=f"lif{k}")
            port.connect(plastic.s_in)
            if frozen_forward:
                frozen = Dense(name=f"frozen{k}", **dense_args)
                port.connect(frozen.s_in)
                frozen.a_out.connect(lif.a_in)
            else:
                plastic.a_out.connect(lif.a_in)
            for name in ("bap", "y1", "y2", "y3"):
                getattr(lif, f"s_out_{name}").connect(getattr(plastic, f"s_in_{name}"))
            port = self._add_layer(k, ms, plastic, lif, lif.a_third_factor_in)
        port.connect(self.counter.s_in)
        self.gates = [lif.learning for lif in self.neurons]

    def weights(self) -> tuple[np.ndarray, ...]:
        """Weights in network units (float: divided by ``2**weight_exp``; fixed: halved, as
        they are stored doubled in the mixed-sign Dense format)."""
        out = []
        for k, syn in enumerate(self.synapses):
            w = np.asarray(syn.weights.get())
            out.append(w / 2 if self.net.fixed else w / 2.0**self.net.weight_exp(k))
        return tuple(out)
