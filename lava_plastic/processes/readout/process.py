"""The non-spiking readout of the online rules and its error."""
from __future__ import annotations

import typing as ty

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess

from lava_plastic.learning.plan import LayerPlan


class Readout(AbstractProcess):
    """The output layer of the online rules (OPZO App. C.3.2): its output at a step is its
    synaptic input, ``o[t] = W s[t-1]`` (dropped at a sample's first step); the sum over the
    sample classifies (a graded :class:`~lava_plastic.processes.spike_counter.process.
    SpikeCounter` on ``s_out``). Every step it forms the instantaneous error ``e = dL/do``
    against the target (which arrives on ``label_in`` through a Dense, one step late: at the
    first step, where nothing caused ``o``, it sends zeros) and sends its synapse its own third
    factor ``-e`` (``delta_out``), the hidden layers' feedback ``e`` (``error_out``), the loss
    (``loss_out``, ZO_sp) and ``o`` in thresholds (``o_out``, what ``M`` learns from; with
    OPZO's two-point estimate, eq. 5, ``o`` minus the clean pass's output on ``a_clean_in``).

    ``plan``: the layer's :class:`~lava_plastic.learning.plan.LayerPlan`; ``rule``: the rule.
    """

    def __init__(self, *, plan: LayerPlan, rule, name: ty.Optional[str] = None) -> None:
        super().__init__(plan=plan, rule=rule, name=name)
        add_readout_interface(self, plan)
        self.delta_out = OutPort(shape=(plan.n_out,))
        self.a_clean_in = InPort(shape=(plan.n_out,))


def add_readout_interface(proc: AbstractProcess, plan: LayerPlan) -> None:
    """What every readout process has, whatever carries its third factor: ``a_in``,
    ``label_in``, ``s_out``, ``error_out``, ``loss_out``, ``o_out`` (the step:
    :func:`lava_plastic.processes.readout.models.readout_spk`)."""
    shape = (plan.n_out,)
    proc.a_in = InPort(shape=shape)
    proc.label_in = InPort(shape=shape)
    proc.s_out = OutPort(shape=shape)
    proc.error_out = OutPort(shape=shape)
    proc.loss_out = OutPort(shape=(1,))
    proc.o_out = OutPort(shape=shape)
