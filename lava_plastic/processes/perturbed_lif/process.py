"""The neuron of the perturbation rules (NP, LOCO): Lava's LIF, run twice per sample."""
from __future__ import annotations

import typing as ty

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_plastic.learning.plan import LayerPlan


class PerturbedLIF(AbstractProcess):
    """LIF neurons (Lava's LIF arithmetic, reset to 0) that see each sample twice, ``n_steps``
    steps each, from rest: a clean run, then, while ``learning`` is 1, a run with the keyed
    perturbation ``sigma xi`` as their bias (recomputed from the rule's seed, the layer and the
    sample's ordinal ``n_samples``, so nothing random travels on a port;
    :func:`lava_plastic.learning.perturbation.run_step`).

    At the perturbed run's last step the output layer computes ``TD`` (eq. 28) from its two
    runs' spike counts and the target, and sends it on ``td_out``; every layer forms its third
    factor ``-TD xi`` (:func:`lava_plastic.rules.loco.third_factor`) on that step and sends it
    on ``delta_out`` (zero on every other step).

    Ports: ``a_in`` synaptic input; ``s_out`` spikes; ``delta_out`` the third factor; ``td_in``
    the broadcast ``TD`` (hidden layers); output layer: ``label_in`` the target (through a
    Dense, one step late), ``td_out``, ``clean_out`` (its clean run's spikes, zero during the
    perturbed run: what classifies). Vars: ``u``, ``v``, ``count`` (spikes in the run so far),
    ``clean_count`` (output layer: the clean run's), ``learning``, ``n_samples``.

    ``plan``: the layer's :class:`~lava_plastic.learning.plan.LayerPlan`; ``rule``: the rule
    value (:class:`~lava_plastic.rules.loco.NP` or ``LOCO``).
    """

    def __init__(self, *, plan: LayerPlan, rule, name: ty.Optional[str] = None) -> None:
        super().__init__(plan=plan, rule=rule, name=name)
        self.delta_out = OutPort(shape=(plan.n_out,))
        add_perturbed_interface(self, plan)


def add_perturbed_interface(proc: AbstractProcess, plan: LayerPlan) -> None:
    """What every perturbation neuron process has, whatever carries its third factor: the
    ports ``a_in``, ``s_out``, ``td_in``, ``label_in``, ``td_out``, ``clean_out`` and the state
    the step (:func:`lava_plastic.processes.perturbed_lif.models.perturbed_spk`) keeps."""
    shape = (plan.n_out,)
    proc.a_in = InPort(shape=shape)
    proc.s_out = OutPort(shape=shape)
    proc.td_in = InPort(shape=(1,))
    proc.label_in = InPort(shape=shape)
    proc.td_out = OutPort(shape=(1,))
    proc.clean_out = OutPort(shape=shape)
    proc.u = Var(shape=shape, init=0)
    proc.v = Var(shape=shape, init=0)
    proc.count = Var(shape=shape, init=0)
    proc.clean_count = Var(shape=shape, init=0)
    proc.learning = Var(shape=(1,), init=1)
    proc.n_samples = Var(shape=(1,), init=0)
