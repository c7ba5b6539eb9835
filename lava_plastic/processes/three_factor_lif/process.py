"""The three-factor LIF neuron of every rule."""
from __future__ import annotations

import typing as ty

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_plastic.learning.plan import LayerPlan


def add_neuron_interface(proc: AbstractProcess, shape) -> None:
    """What every three-factor LIF process has, whatever carries its modulation and third
    factor: ``a_in``, ``s_out``, ``signal_out`` and the state ``u``, ``v``, ``count``."""
    proc.a_in = InPort(shape=shape)
    proc.s_out = OutPort(shape=shape)
    proc.signal_out = OutPort(shape=shape)
    proc.u = Var(shape=shape, init=0)
    proc.v = Var(shape=shape, init=0)
    proc.count = Var(shape=shape, init=0)


class ThreeFactorLIF(AbstractProcess):
    """LIF neurons (Lava's LIF arithmetic, no bias) that start every sample from rest, dropping
    the synaptic input of the sample's first step, and send their plastic synapse the third
    factor every step (:func:`lava_plastic.learning.neuron.neuron_step`).

    Ports: ``a_in`` synaptic input; ``mod_in`` the modulatory input (a hidden layer: its
    feedback projection; the output layer: the target ``y*``, both through a Dense); ``s_out``
    spikes; ``delta_out`` the third factor; ``signal_out`` (output layer) the signal the rule's
    feedback projects to the hidden layers, e.g. DFA's error. Vars ``u``, ``v`` and ``count``
    (spikes since the sample started).

    ``plan``: the layer's :class:`~lava_plastic.learning.plan.LayerPlan`; ``feedback``: the
    rule's feedback value (:mod:`lava_plastic.rules.feedback`).
    """

    def __init__(self, *, plan: LayerPlan, feedback, name: ty.Optional[str] = None) -> None:
        super().__init__(plan=plan, feedback=feedback, name=name)
        shape = (plan.n_out,)
        add_neuron_interface(self, shape)
        self.mod_in = InPort(shape=shape)
        self.delta_out = OutPort(shape=shape)
