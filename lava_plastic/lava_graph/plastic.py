"""One Lava graph builder and driver for every rule.

::

    SampleSource.s_out ──> PlasticDense_1 ──> ThreeFactorLIF_1 ──> ... ──> ThreeFactorLIF_K ──> SpikeCounter
         │                     ^  delta_out │                                │
         │                     └────────────┘                                │ signal_out (DFA, sDFA)
         ├─ label_out ──> Dense(I) ──> ThreeFactorLIF_K.mod_in               │
         └─ label_out (DRTP) or signal_out ──> Dense(B_k^T) ──> ThreeFactorLIF_k.mod_in

The rule's feedback names where the hidden layers' projections are sent from (``source``:
the source's labels, or the output neurons' signal), the only wiring that differs between rules.
The source holds the training samples followed by the test samples; ``cursor`` Vars select which
part is presented. Training runs many samples inside one ``run()``; evaluation sets every
learning gate to 0 first. Models are found by Lava's standard discovery with
``Loihi2SimCfg(select_tag="floating_pt" | "fixed_pt")``.

The runtime is stopped when the ``with`` block ends, on errors, on Ctrl-C and on SIGTERM
(:class:`lava_plastic.lava_graph.signals.RuntimeGuard`): Ctrl-C surfaces as
``KeyboardInterrupt`` and SIGTERM as :class:`~lava_plastic.interrupt.Terminated` once
every Lava process and shared-memory segment is gone.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.proc.dense.process import Dense

from lava_plastic.errors import LavaPlasticError
from lava_plastic.learning.engine import check_weights, encode_input, init_feedback
from lava_plastic.learning.plan import Plan, check_on_chip, is_online
from lava_plastic.lava_graph import run_config
from lava_plastic.lava_graph.signals import RuntimeGuard
from lava_plastic.processes.momentum_feedback.process import MomentumFeedback
from lava_plastic.processes.online_lif.process import OnlineLIF
from lava_plastic.processes.perturbed_lif.process import PerturbedLIF
from lava_plastic.processes.plastic_dense.process import PlasticDense
from lava_plastic.processes.readout.process import Readout
from lava_plastic.processes.sample_source.process import SampleSource
from lava_plastic.processes.spike_counter.process import SpikeCounter
from lava_plastic.processes.three_factor_lif.process import ThreeFactorLIF
from lava_plastic.rules.base import B_SHIFT, check_labels
from lava_plastic.rules.loco import is_perturbative


def stock_dense_args(fixed: bool, w: np.ndarray, weight_exp: int) -> dict:
    """Arguments of a stock (Learning)Dense that computes ``(w @ s) * 2**weight_exp``.

    Float: Lava's float Dense has no exponent, so it holds ``w * 2**weight_exp``. Fixed point: a
    bit-accurate Dense keeps only even mixed-sign 8-bit weights, so it holds ``2 w`` with
    ``weight_exp - 1``; a sum of even numbers halves exactly.
    """
    if fixed:
        return dict(weights=2 * np.asarray(w).astype(np.int64), weight_exp=weight_exp - 1,
                    num_weight_bits=8)
    return dict(weights=np.asarray(w) * 2.0**weight_exp)


class StreamGraph:
    """What every plastic graph shares: the data source (training rows, then test rows), the
    layers and the feedback wiring, the readout, the run configuration, and the driving:
    :meth:`present`, :meth:`train_epoch`, :meth:`evaluate`, :meth:`counts`. Subclasses make and
    connect each layer's synapse and neuron (:meth:`_make_layer`) and list in ``gates`` the one-element Vars
    that switch learning on and off. Use as a context manager (or call :meth:`stop`).

    ``bs``: the hidden layers' real ``(C, n_k)`` feedback matrices (default: drawn from the
    rule's seed, as the engine's :func:`~lava_plastic.learning.engine.init_state` does).
    ``batch_sizes``: NP and LOCO write the update of each batch of the training rows, taken in
    order: the sizes of an epoch's batches (default: all of the plan's batch size; LOCO's
    batches of one class, laid out in the training rows, have a short last batch per class).
    """

    def __init__(self, plan: Plan, weights, train_x, train_y, test_x=None, test_y=None, bs=None,
                 dropout: float = 0.0, batch_sizes=None):
        net = plan.net
        self.online = is_online(plan.rule)
        self.perturbative = is_perturbative(plan.rule)
        # the perturbation rules present each sample twice: clean, then perturbed
        self.window = 2 * net.n_steps if self.perturbative else net.n_steps
        check_on_chip(plan.rule)
        if not 0 <= dropout < 1:
            raise LavaPlasticError(f"dropout must be in [0, 1), got {dropout!r}")
        if dropout and not self.online:
            raise LavaPlasticError("dropout is an option of the online rules, not of "
                                   f"{plan.rule.name}")
        self.dropout = float(dropout)
        self.batch_sizes = (plan.batch_size,) if batch_sizes is None else tuple(batch_sizes)
        if batch_sizes is not None and (sum(self.batch_sizes) != len(train_x)
                                        or max(self.batch_sizes) > plan.batch_size):
            raise LavaPlasticError(f"batch sizes must cover the {len(train_x)} training rows, each "
                                   f"at most the plan's {plan.batch_size}")
        check_weights(net, weights)
        test_x = train_x[:0] if test_x is None else test_x
        test_y = train_y[:0] if test_y is None else test_y
        labels = check_labels(np.concatenate([np.asarray(train_y), np.asarray(test_y)]),
                              net.n_classes)
        if len(train_x) != len(train_y) or len(test_x) != len(test_y):
            raise LavaPlasticError("each input needs one label")
        self.plan, self.net = plan, net
        self.n_train, self.n_test = len(train_x), len(test_x)
        self.data = np.concatenate([encode_input(net, train_x), encode_input(net, test_x)])
        feedback = init_feedback(plan, bs)
        self.source = SampleSource(data=self.data, labels=labels, n_classes=net.n_classes,
                                   sample_steps=self.window, name="source")
        self.counter = SpikeCounter(shape=(net.n_classes,), n_samples=len(labels),
                                    sample_steps=self.window, graded=self.online, name="readout")
        self.run_cfg = run_config(net.precision)
        self.guard = RuntimeGuard(self.source)
        self.synapses, self.neurons, self.gates = [], [], []
        self.alphas, self.feedbacks = [], []  # the online rules' noise scales and M processes
        mod_ports = []
        port = self.source.s_out
        for lp, w in zip(plan.layers, weights):
            synapse, neuron, mod_in = self._make_layer(lp, np.asarray(w), port)
            self.synapses.append(synapse)
            self.neurons.append(neuron)
            mod_ports.append(mod_in)
            port = neuron.s_out
        if self.perturbative:
            self._wire_perturbation(mod_ports)
            return
        port.connect(self.counter.s_in)
        if self.online:
            self._wire_online_feedback(feedback, mod_ports)
        else:
            self._wire_feedback(feedback, mod_ports)

    def _wire_feedback(self, feedback, mod_ports):
        """The output layer's target ``y*`` through ``Dense(I)``; each hidden layer's feedback
        vector (the labels, or the output neurons' signal) through ``Dense(B_k^T)``. The
        projections take graded spikes: a signal may be signed (a 0/1 target sums alike)."""
        fixed, n_classes = self.net.fixed, self.net.n_classes
        target = Dense(name="target", num_message_bits=24,
                       **stock_dense_args(fixed, np.eye(n_classes, dtype=np.int64), 0))
        self.source.label_out.connect(target.s_in)
        target.a_out.connect(mod_ports[-1])
        sent = {"label": self.source.label_out,
                "output": self.neurons[-1].signal_out}[self.plan.feedback.source]
        for k, (b, mod_in) in enumerate(zip(feedback, mod_ports[:-1])):
            projection = Dense(name=f"feedback{k}", num_message_bits=24,
                               **stock_dense_args(fixed, b.T, 0))
            sent.connect(projection.s_in)
            projection.a_out.connect(mod_in)

    def _wire_perturbation(self, mod_ports):
        """NP and LOCO: the output neurons' target through ``Dense(I)``; their ``TD`` to every
        hidden layer's neurons, the same step (a broadcast); their clean run's spikes to the
        counter."""
        fixed, n_classes = self.net.fixed, self.net.n_classes
        target = Dense(name="target", num_message_bits=24,
                       **stock_dense_args(fixed, np.eye(n_classes, dtype=np.int64), 0))
        self.source.label_out.connect(target.s_in)
        target.a_out.connect(mod_ports[-1])
        output = self.neurons[-1]
        for neuron in self.neurons[:-1]:
            output.td_out.connect(neuron.td_in)
        output.clean_out.connect(self.counter.s_in)

    def _wire_online_feedback(self, feedback, mod_ports):
        """The online rules: the readout's target through ``Dense(I)``; each hidden layer's
        modulatory input from the readout's signals, one step on: OPZO ``-M_k e`` from its
        :class:`MomentumFeedback` (which learns from the readout's ``o``), DFA ``-B_k^T e``
        through a Dense, ZO_sp the loss through a Dense of ones."""
        fixed, n_classes, rule = self.net.fixed, self.net.n_classes, self.plan.rule
        readout = self.neurons[-1]
        target = Dense(name="target", num_message_bits=24,
                       **stock_dense_args(fixed, np.eye(n_classes, dtype=np.int64), 0))
        self.source.label_out.connect(target.s_in)
        target.a_out.connect(mod_ports[-1])
        for lp, mod_in in zip(self.plan.layers, mod_ports[:-1]):
            if rule.feedback_kind == "momentum":
                mf = MomentumFeedback(plan=lp, rule=rule, n_classes=n_classes, m=feedback[lp.k],
                                      name=f"momentum{lp.k}")
                readout.error_out.connect(mf.e_in)
                readout.o_out.connect(mf.o_in)
                mf.m_out.connect(mod_in)
                self.feedbacks.append(mf)
                self.gates.append(mf.learning)
                self.alphas.append(mf.alpha)
                continue
            exp = 0
            if rule.feedback_kind == "random":  # fixed point: 8-bit B in units of 2**-B_SHIFT
                sent, w = readout.error_out, -np.asarray(feedback[lp.k]).T
                exp = -B_SHIFT if fixed else 0
            else:  # scalar: the loss to every neuron
                sent, w = readout.loss_out, np.ones((lp.n_out, 1), dtype=np.int64)
            projection = Dense(name=f"feedback{lp.k}", num_message_bits=24,
                               **stock_dense_args(fixed, w, exp))
            sent.connect(projection.s_in)
            projection.a_out.connect(mod_in)

    def _make_layer(self, lp, weights, port):
        """Layer ``lp``'s synapse and neuron, fed by ``port``; returns ``(synapse, neuron,
        modulatory port)``."""
        raise NotImplementedError

    def feedback(self) -> tuple[np.ndarray, ...]:
        """OPZO's ``M_k`` as they stand (empty for the other rules; fixed point: int64)."""
        dtype = np.int64 if self.net.fixed else np.float64
        return tuple(np.asarray(mf.m.get()).astype(dtype) for mf in self.feedbacks)

    def set_alpha(self, alpha: float):
        """The online rules' noise scale from the next run on (the epoch's, say)."""
        if not alpha > 0:
            raise LavaPlasticError(f"the noise scale alpha must be positive, got {alpha!r}")
        for var in self.alphas:
            self._assign(var, alpha)

    def _assign(self, var, value: int):
        """Set a one-element Var: its initial value before the first run (Lava can set Vars
        only in a started runtime), else through the runtime."""
        if self.source.runtime is None:
            var.init = np.array([value])
        else:
            var.set(np.array([value]))

    def present(self, start: int, n_samples: int, learning: bool):
        """Run samples ``start .. start + n_samples - 1`` (training rows first, then test rows),
        with learning on or off."""
        for proc in (self.source, self.counter):
            self._assign(proc.cursor, start)
        for gate in self.gates:
            self._assign(gate, int(learning))
        if self.source.runtime is None:
            self.guard.create_runtime(self.run_cfg)
        self.source.run(condition=RunSteps(num_steps=n_samples * self.window),
                        run_cfg=self.run_cfg)

    def counts(self, start: int, n_samples: int) -> np.ndarray:
        """Output spike counts (a readout's summed outputs) of samples ``start .. start +
        n_samples - 1`` as last presented."""
        counts = np.asarray(self.counter.counts.get())[start : start + n_samples]
        return counts.astype(np.float64 if self.online and not self.net.fixed else np.int64)

    def train_epoch(self) -> np.ndarray:
        """Present every training sample once, in order, learning on. Returns their output
        spike counts (seen while learning)."""
        self.present(0, self.n_train, learning=True)
        return self.counts(0, self.n_train)

    def evaluate(self) -> np.ndarray:
        """Present every test sample once with learning off. Returns their output spike counts."""
        if self.n_test == 0:
            raise LavaPlasticError("no test samples were given")
        self.present(self.n_train, self.n_test, learning=False)
        return self.counts(self.n_train, self.n_test)

    def stop(self):
        """Stop the runtime: every Lava process ends and the shared memory is freed."""
        self.guard.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class PlasticGraph(StreamGraph):
    """The graph with our plastic synapses (:class:`PlasticDense`) and three-factor neurons
    (:class:`ThreeFactorLIF`), for every rule. ``weights()`` reads the learnt weights back."""

    def _make_layer(self, lp, weights, port):
        rule = self.plan.rule
        clean = self.online and rule.two_point  # OPZO's eq. 5: a clean pass beside
        synapse = PlasticDense(plan=lp, weights=weights, clean=clean,
                               rule=rule if self.perturbative else None,
                               batch_sizes=self.batch_sizes if self.perturbative else (1,),
                               name=f"plastic_dense{lp.k}")
        if self.perturbative:
            neuron = PerturbedLIF(plan=lp, rule=rule, name=f"lif{lp.k}")
            mod_in = neuron.label_in
            self.gates.append(neuron.learning)
        elif not self.online:
            neuron = ThreeFactorLIF(plan=lp, feedback=self.plan.feedback, name=f"lif{lp.k}")
            mod_in = neuron.mod_in
        elif lp.output:
            neuron = Readout(plan=lp, rule=rule, name="readout_neurons")
            mod_in = neuron.label_in
        else:
            neuron = OnlineLIF(plan=lp, rule=rule, dropout=self.dropout, name=f"lif{lp.k}")
            mod_in = neuron.mod_in
            self.gates.append(neuron.learning)
            self.alphas.append(neuron.alpha)
        port.connect(synapse.s_in)
        synapse.a_out.connect(neuron.a_in)
        neuron.delta_out.connect(synapse.delta_in)
        if clean:
            (self.source.s_out if lp.k == 0 else self.neurons[-1].s_clean_out).connect(
                synapse.s_clean_in)
            synapse.a_clean_out.connect(neuron.a_clean_in)
        self.gates.append(synapse.learning)
        return synapse, neuron, mod_in

    def weights(self) -> tuple[np.ndarray, ...]:
        dtype = np.int64 if self.net.fixed else np.float64
        return tuple(np.asarray(s.weights.get()).astype(dtype) for s in self.synapses)

    def directions(self) -> tuple[np.ndarray, ...]:
        """LOCO's direction buffers as they stand, the rows in use (empty for other rules)."""
        if not getattr(self.plan.rule, "projected", False):
            return ()
        return tuple(np.asarray(s.directions.get())[: int(s.n_directions.get()[0])]
                     for s in self.synapses)
