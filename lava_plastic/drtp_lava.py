"""A :class:`~lava_plastic.drtp_network.DRTPNetwork` as a Lava process graph that learns.

::

    SampleSource.s_out ──> DRTPDense_1 ──> DRTPLIF_1 ──> DRTPDense_2 ──> ... ──> DRTPLIF_K ──> SpikeCounter
         │                     ^   delta_out │                                     │
         │ label_out           └─────────────┘                                     │
         ├──> Dense(B_1) ──> DRTPLIF_1.mod_in      (one Dense(B_k) per hidden layer)
         └──> Dense(I)   ──> DRTPLIF_K.mod_in      (the output layer's target)

The source holds the training samples followed by the test samples; ``cursor`` Vars select
which part is presented. Training runs many samples inside one ``run()``; evaluation sets every
synapse's ``learning`` Var to 0 first. Models are found by Lava's standard discovery with
``Loihi2SimCfg(select_tag="floating_pt" | "fixed_pt")``. :class:`LavaDRTP` stops its runtime when
its ``with`` block ends, also on errors.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.proc.dense.process import Dense

from lava_plastic.drtp_network import DRTPNetwork, check_weights, encode_input, modulation_weights
from lava_plastic.lava_graph import run_config
from lava_plastic.processes.drtp_dense.process import DRTPDense
from lava_plastic.processes.drtp_lif.process import DRTPLIF
from lava_plastic.processes.sample_source.process import SampleSource
from lava_plastic.processes.spike_counter.process import SpikeCounter
from lava_plastic.rules import drtp


def stock_dense_args(net: DRTPNetwork, w: np.ndarray, weight_exp: int) -> dict:
    """Arguments of a stock (Learning)Dense that computes ``(w @ s) * 2**weight_exp``.

    Float: Lava's float Dense has no exponent, so it holds ``w * 2**weight_exp``. Fixed point: a
    bit-accurate Dense keeps only even mixed-sign 8-bit weights, so it holds ``2 w`` with
    ``weight_exp - 1``; a sum of even numbers halves exactly.
    """
    if net.fixed:
        return dict(weights=2 * np.asarray(w).astype(np.int64), weight_exp=weight_exp - 1,
                    num_weight_bits=8)
    return dict(weights=np.asarray(w) * 2.0**weight_exp)


class StreamGraph:
    """What both DRTP graphs share: the data source (training rows, then test rows), the
    readout, the run configuration, and the driving: :meth:`present`, :meth:`train_epoch`,
    :meth:`evaluate`, :meth:`counts`. Subclasses build the layers (each through :meth:`_add_layer`) and list in ``gates`` the
    one-element Vars that switch learning on and off. Use as a context manager (or call
    :meth:`stop`): the runtime is stopped on exit, also on errors."""

    def __init__(self, net: DRTPNetwork, rule: drtp.DRTP, weights, train_x, train_y,
                 test_x=None, test_y=None):
        if rule.n_classes != net.n_classes:
            raise ValueError(f"rule has {rule.n_classes} classes, network {net.n_classes}")
        check_weights(net, weights)
        test_x = train_x[:0] if test_x is None else test_x
        test_y = train_y[:0] if test_y is None else test_y
        labels = np.concatenate([train_y, test_y]).astype(np.int64)
        drtp.one_hot(labels, net.n_classes)  # validates the labels
        self.net, self.rule = net, rule
        self.n_train, self.n_test = len(train_x), len(test_x)
        self.data = np.concatenate([encode_input(net, train_x), encode_input(net, test_x)])
        self.source = SampleSource(data=self.data, labels=labels, n_classes=net.n_classes,
                                   sample_steps=net.n_steps, name="source")
        self.counter = SpikeCounter(shape=(net.n_classes,), n_samples=len(labels),
                                    sample_steps=net.n_steps, name="readout")
        self.run_cfg = run_config(net.precision)
        self.synapses, self.neurons, self.gates = [], [], []

    def _add_layer(self, k: int, ms, synapse, neuron, mod_port):
        """Register layer ``k``'s synapse and neuron processes and carry the label to the
        neuron's modulatory port through a stock Dense: ``B_k^T y*`` (``ms[k]``, third-factor
        units) for a hidden layer, ``y*`` for the output layer. Returns the neuron's spike port,
        the next layer's input."""
        output = k == self.net.n_layers - 1
        target = np.eye(self.net.n_classes, dtype=np.int64) if output else ms[k]
        proj = Dense(name=f"target{k}", **stock_dense_args(self.net, target.T, 0))
        self.source.label_out.connect(proj.s_in)
        proj.a_out.connect(mod_port)
        self.synapses.append(synapse)
        self.neurons.append(neuron)
        return neuron.s_out

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
        self.source.run(condition=RunSteps(num_steps=n_samples * self.net.n_steps),
                        run_cfg=self.run_cfg)

    def counts(self, start: int, n_samples: int) -> np.ndarray:
        """Output spike counts of samples ``start .. start + n_samples - 1`` as last presented."""
        return np.asarray(self.counter.counts.get())[start : start + n_samples].astype(np.int64)

    def train_epoch(self) -> np.ndarray:
        """Present every training sample once, in order, learning on. Returns their output
        spike counts (seen while learning)."""
        self.present(0, self.n_train, learning=True)
        return self.counts(0, self.n_train)

    def evaluate(self) -> np.ndarray:
        """Present every test sample once with learning off. Returns their output spike counts."""
        if self.n_test == 0:
            raise ValueError("no test samples were given")
        self.present(self.n_train, self.n_test, learning=False)
        return self.counts(self.n_train, self.n_test)

    def stop(self):
        if self.source.runtime is not None:
            self.source.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class LavaDRTP(StreamGraph):
    """The DRTP graph with our plastic synapses (:class:`DRTPDense`) and neurons
    (:class:`DRTPLIF`). ``weights()`` reads the learnt weights back."""

    def __init__(self, net: DRTPNetwork, rule: drtp.DRTP, weights, bs, train_x, train_y,
                 test_x=None, test_y=None):
        super().__init__(net, rule, weights, train_x, train_y, test_x, test_y)
        ms = modulation_weights(net, bs)
        port = self.source.s_out
        for k in range(net.n_layers):
            output = k == net.n_layers - 1
            syn = DRTPDense(weights=np.asarray(weights[k]), weight_exp=net.weight_exp(k),
                            graded=k == 0, lr_shift=net.lr_shift(rule, k), seed=rule.seed,
                            layer=k, sample_steps=net.n_steps, name=f"drtp_dense{k}")
            lif = DRTPLIF(shape=(net.sizes[k + 1],), sample_steps=net.n_steps, du=net.du,
                          dv=net.dv, vth_bits=net.vth_bits, width_shift=net.width_shift(rule),
                          output=output, name=f"drtp_lif{k}")
            port.connect(syn.s_in)
            syn.a_out.connect(lif.a_in)
            lif.delta_out.connect(syn.delta_in)
            port = self._add_layer(k, ms, syn, lif, lif.mod_in)
        port.connect(self.counter.s_in)
        self.gates = [syn.learning for syn in self.synapses]

    def weights(self) -> tuple[np.ndarray, ...]:
        dtype = np.int64 if self.net.fixed else np.float64
        return tuple(np.asarray(s.weights.get()).astype(dtype) for s in self.synapses)
