"""DRTP neurons for Lava's own learning engine (``Loihi3FLearningRule`` on ``LearningDense``)."""
from __future__ import annotations

import typing as ty

from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.magma.core.process.neuron import LearningNeuronProcess
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class DRTP3FLIF(LearningNeuronProcess, AbstractProcess):
    """The neurons of :class:`~lava_plastic.processes.drtp_lif.process.DRTPLIF` (same
    dynamics, same third factor, via :func:`lava_plastic.drtp_network.neuron_step`) for synapses
    that learn in Lava's learning engine: the modulatory input arrives on
    ``a_third_factor_in`` and the third factor leaves as two non-negative traces, its positive
    part on ``s_out_y2`` and its negative part on ``s_out_y3``, scaled by ``2**-y_shift``
    (fixed point: a right shift, saturated to the engine's 7-bit traces). ``y1`` and the
    back-propagating action potential stay 0. The traces are 0 in a sample's first step and
    while ``learning`` is 0, which gates the synapses' learning off.
    """

    def __init__(self, *, shape: ty.Tuple[int], sample_steps: int, du: int, dv: int,
                 vth_bits: int, width_shift: int, output: bool, y_shift: int,
                 learning_rule: Loihi3FLearningRule, name: ty.Optional[str] = None) -> None:
        super().__init__(shape=shape, learning_rule=learning_rule, sample_steps=int(sample_steps),
                         du=int(du), dv=int(dv), vth_bits=int(vth_bits),
                         width_shift=int(width_shift), output=bool(output),
                         y_shift=int(y_shift), name=name)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.u = Var(shape=shape, init=0)
        self.v = Var(shape=shape, init=0)
        self.learning = Var(shape=(1,), init=1)
