"""The perturbation rules' neuron for Lava's learning engine (plain NP)."""
from __future__ import annotations

import typing as ty

from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.magma.core.process.neuron import LearningNeuronProcess
from lava.magma.core.process.process import AbstractProcess

from lava_plastic.learning.plan import LayerPlan
from lava_plastic.processes.perturbed_lif.process import add_perturbed_interface


class LoihiPerturbedLIF(LearningNeuronProcess, AbstractProcess):
    """:class:`~lava_plastic.processes.perturbed_lif.process.PerturbedLIF`'s step for a
    ``LearningDense`` with node perturbation's rule
    (:func:`lava_plastic.learning.loihi_form.perturbation_form`): the neuron holds ``-TD xi``
    and sends it at the perturbed run's last step as ``y2`` (positive part) and ``y3``
    (negative part), scaled by ``2**-y_shift``; ``y1`` is 1 during its clean run (the synapse's
    tag counts the input then) and the back-propagating action potential clears the tag at the
    clean run's first step. All traces are 0 while ``learning`` is 0."""

    def __init__(self, *, plan: LayerPlan, rule, y_shift: int,
                 learning_rule: Loihi3FLearningRule, name: ty.Optional[str] = None) -> None:
        super().__init__(shape=(plan.n_out,), learning_rule=learning_rule, plan=plan, rule=rule,
                         y_shift=int(y_shift), name=name)
        add_perturbed_interface(self, plan)
