"""Three-factor LIF neurons for Lava's own learning engine (``Loihi3FLearningRule`` on
``LearningDense``)."""
from __future__ import annotations

import typing as ty

from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.magma.core.process.neuron import LearningNeuronProcess
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_plastic.learning.plan import LayerPlan
from lava_plastic.processes.three_factor_lif.process import add_neuron_interface


class LoihiThreeFactorLIF(LearningNeuronProcess, AbstractProcess):
    """The neurons of :class:`~lava_plastic.processes.three_factor_lif.process.ThreeFactorLIF`
    (same step, :func:`lava_plastic.learning.neuron.neuron_step`) for synapses that learn in
    Lava's learning engine: the modulatory input arrives on ``a_third_factor_in`` and the third
    factor leaves as two non-negative traces, its positive part on ``s_out_y2`` and its negative
    part on ``s_out_y3``, scaled by ``2**-y_shift`` (fixed point: a right shift, saturated to the
    engine's 7-bit traces; :func:`lava_plastic.learning.loihi_form.third_factor_traces`). ``y1``
    and the back-propagating action potential stay 0. The traces are 0 in a sample's first step
    and while ``learning`` is 0, which gates the synapses' learning off. The output layer sends
    the rule's feedback signal on ``signal_out``.
    """

    def __init__(self, *, plan: LayerPlan, feedback, y_shift: int,
                 learning_rule: Loihi3FLearningRule, name: ty.Optional[str] = None) -> None:
        shape = (plan.n_out,)
        super().__init__(shape=shape, learning_rule=learning_rule, plan=plan, feedback=feedback,
                         y_shift=int(y_shift), name=name)
        add_neuron_interface(self, shape)
        self.learning = Var(shape=(1,), init=1)
