"""Every rule in Lava's own learning engine: ``LearningDense`` synapses with a
``Loihi3FLearningRule`` (:func:`lava_plastic.learning.loihi_form.loihi_form`) and
:class:`~lava_plastic.processes.loihi_3f_lif.process.LoihiThreeFactorLIF` neurons that send the
third factor as the y2/y3 traces (the form a Loihi 2 chip runs with its learning engine). The
feedback is wired as in :class:`~lava_plastic.lava_graph.plastic.PlasticGraph`, into the
neurons' ``a_third_factor_in``.

The rule learns every step (``t_epoch = 1``), so weights change within a sample, whereas
:class:`PlasticDense` writes a sample's summed update at its end. With ``frozen_forward=True``
every layer is driven by a stock Dense holding the initial weights and the LearningDense only
learns in its shadow: the third factors then do not depend on the learned weights and the
learned weights equal the engine's summed update exactly (float), the set-up the tests compare.

Presynaptic traces are spikes (``x1`` impulse 1 in float, ``2**4`` in fixed point, with the
fastest decay), so the input layer takes binary spikes, not graded payloads.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.proc.dense.process import Dense, LearningDense

from lava_plastic.errors import LavaPlasticError
from lava_plastic.learning.loihi_form import loihi_form, perturbation_form
from lava_plastic.learning.plan import is_online
from lava_plastic.lava_graph.plastic import StreamGraph, stock_dense_args
from lava_plastic.processes.loihi_3f_lif.process import LoihiThreeFactorLIF
from lava_plastic.processes.loihi_online.process import LoihiOnlineLIF, LoihiReadout
from lava_plastic.processes.loihi_perturbed.process import LoihiPerturbedLIF
from lava_plastic.rules.loco import is_perturbative

Y3_FLOAT_DECAY = float(np.exp(-1 / np.iinfo(np.uint16).max))
"""Loihi3FLearningRule gives y1..y3 a time constant of 65535 steps, so in float the rule reads
the third factor decayed by exp(-1/65535) = 1 - 1.5e-5 within the step."""


class LoihiGraph(StreamGraph):
    """The learning-engine graph, driven like :class:`~lava_plastic.lava_graph.plastic.PlasticGraph`
    (learning is gated by the neurons, which then send zero traces). ``weights()`` returns the
    weights in the network's weight units."""

    def __init__(self, plan, weights, train_x, train_y, test_x=None, test_y=None, bs=None,
                 frozen_forward: bool = False):
        rule = plan.rule
        if is_online(rule):
            # what a LearningDense cannot hold: the error paired with a trace of several steps
            # ago, graded activity (its x1 counts spikes), a second (clean) pass, fixed point
            # (Lava's integer trace decay is stochastic and 7-bit: it only approximates OTTT's)
            for refused, why in ((rule.aligned, "pairs the error with the current trace: use "
                                  "aligned=False"),
                                 (rule.noisy and rule.site == "activity", "takes binary spikes: "
                                  "use membrane noise"),
                                 (rule.two_point, "runs one pass: no two-point estimate"),
                                 (plan.net.fixed, "form of the online rules runs in float"),
                                 (rule.feedback_kind == "backprop", "form does not backpropagate")):
                if refused:
                    raise LavaPlasticError(f"the learning engine {why}")
        if getattr(rule, "projected", False):
            raise LavaPlasticError("LOCO's projector cannot run in the learning engine: (P x)_j "
                                   "mixes every presynaptic input of a synapse, whose rule reads "
                                   "only its own traces, and P comes from a batch's PCA, k-means "
                                   "and Gram-Schmidt; plain NP (rule np) has a learning-engine "
                                   "form")
        if is_perturbative(rule) and plan.batch_size != 1:
            raise LavaPlasticError("the learning engine writes every sample's update: batch size 1")
        if plan.net.in_bits(0) != 0:
            raise LavaPlasticError("the learning-engine form takes binary input spikes: set "
                                   "input_bits=0")
        for x in (train_x, test_x):
            if x is not None and not np.all((np.asarray(x) == 0) | (np.asarray(x) == 1)):
                raise LavaPlasticError("the learning-engine form takes binary input spikes (0/1)")
        self.frozen_forward = frozen_forward
        super().__init__(plan, weights, train_x, train_y, test_x, test_y, bs)

    def _make_layer(self, lp, weights, port):
        form = perturbation_form(lp) if self.perturbative else loihi_form(lp)
        seed = dict(rng_seed=lp.seed + lp.k) if lp.fixed else {}
        rule = Loihi3FLearningRule(dw=form.dw, dt=form.dt, x1_impulse=form.x1_impulse,
                                   x1_tau=form.x1_tau, t_epoch=1, **seed)
        dense_args = stock_dense_args(lp.fixed, weights, lp.weight_exp)
        if self.online and lp.k:  # the hidden activity is graded: a spike is 2**ACTIVITY_BITS
            dense_args["num_message_bits"] = 24
        plastic = LearningDense(learning_rule=rule, name=f"plastic{lp.k}", **dense_args)
        mod_in = None
        if self.perturbative:
            neuron = LoihiPerturbedLIF(plan=lp, rule=self.plan.rule, y_shift=form.y_shift,
                                       learning_rule=rule, name=f"lif{lp.k}")
            mod_in = neuron.label_in
        elif not self.online:
            neuron = LoihiThreeFactorLIF(plan=lp, feedback=self.plan.feedback,
                                         y_shift=form.y_shift, learning_rule=rule,
                                         name=f"lif{lp.k}")
        elif lp.output:
            neuron = LoihiReadout(plan=lp, rule=self.plan.rule, y_shift=form.y_shift,
                                  learning_rule=rule, name="readout_neurons")
            mod_in = neuron.label_in
        else:
            neuron = LoihiOnlineLIF(plan=lp, rule=self.plan.rule, y_shift=form.y_shift,
                                    learning_rule=rule, name=f"lif{lp.k}")
            self.alphas.append(neuron.alpha)
        port.connect(plastic.s_in)
        driver = Dense(name=f"frozen{lp.k}", **dense_args) if self.frozen_forward else plastic
        if self.frozen_forward:
            port.connect(driver.s_in)
        driver.a_out.connect(neuron.a_in)
        for name in ("bap", "y1", "y2", "y3"):
            getattr(neuron, f"s_out_{name}").connect(getattr(plastic, f"s_in_{name}"))
        self.gates.append(neuron.learning)
        return plastic, neuron, neuron.a_third_factor_in if mod_in is None else mod_in

    def weights(self) -> tuple[np.ndarray, ...]:
        """Weights in network units (float: divided by ``2**weight_exp``; fixed: halved, as
        they are stored doubled in the mixed-sign Dense format)."""
        out = []
        for lp, syn in zip(self.plan.layers, self.synapses):
            w = np.asarray(syn.weights.get())
            out.append(w / 2 if lp.fixed else w / 2.0**lp.weight_exp)
        return tuple(out)
