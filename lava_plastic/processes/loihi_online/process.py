"""The online rules' neurons for Lava's learning engine: OTTT's hidden neuron and the readout
sending their third factors as the y2/y3 traces a ``Loihi3FLearningRule`` reads."""
from __future__ import annotations

import typing as ty

from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.magma.core.process.neuron import LearningNeuronProcess
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_plastic.learning.plan import LayerPlan
from lava_plastic.processes.online_lif.process import add_online_neuron_state
from lava_plastic.processes.readout.process import add_readout_interface


class LoihiOnlineLIF(LearningNeuronProcess, AbstractProcess):
    """:class:`~lava_plastic.processes.online_lif.process.OnlineLIF`'s step
    (:func:`lava_plastic.processes.online_lif.models.hidden_spk`) for a ``LearningDense``: the
    modulatory input arrives on ``a_third_factor_in`` and the third factor leaves as its
    positive part on ``s_out_y2`` and its negative part on ``s_out_y3``, scaled by
    ``2**-y_shift``. No clean pass and no dropout (the learning engine's synapses take binary
    spikes)."""

    def __init__(self, *, plan: LayerPlan, rule, y_shift: int,
                 learning_rule: Loihi3FLearningRule, name: ty.Optional[str] = None) -> None:
        super().__init__(shape=(plan.n_out,), learning_rule=learning_rule, plan=plan, rule=rule,
                         dropout=0.0, y_shift=int(y_shift), name=name)
        add_online_neuron_state(self, plan, rule)


class LoihiReadout(LearningNeuronProcess, AbstractProcess):
    """:class:`~lava_plastic.processes.readout.process.Readout`'s step
    (:func:`lava_plastic.processes.readout.models.readout_spk`) for a ``LearningDense``: its own
    third factor ``-e`` leaves on ``s_out_y2``/``s_out_y3`` (scaled by ``2**-y_shift``) while
    ``learning`` is 1."""

    def __init__(self, *, plan: LayerPlan, rule, y_shift: int,
                 learning_rule: Loihi3FLearningRule, name: ty.Optional[str] = None) -> None:
        super().__init__(shape=(plan.n_out,), learning_rule=learning_rule, plan=plan, rule=rule,
                         y_shift=int(y_shift), name=name)
        add_readout_interface(self, plan)
        self.learning = Var(shape=(1,), init=1)
