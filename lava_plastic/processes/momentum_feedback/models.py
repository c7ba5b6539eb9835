"""ProcessModels of :class:`MomentumFeedback`: the engine's eq. 6 and projection with a batch
of one (:func:`lava_plastic.rules.opzo.momentum_step`,
:func:`lava_plastic.learning.online.momentum_modulation`)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.engine import step_in_sample
from lava_plastic.learning.online import (momentum_estimate_of, momentum_modulation,
                                          momentum_update, noise)
from lava_plastic.processes.momentum_feedback.process import MomentumFeedback
from lava_plastic.xp import NUMPY


class _MomentumFeedbackModel(PyLoihiProcessModel):
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    learning: np.ndarray = LavaPyType(np.ndarray, np.int32)
    n_samples: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def run_spk(self):
        lp, rule = self.proc_params["plan"], self.proc_params["rule"]
        self.m_out.send(self.m_buff)
        e, o = self.e_in.recv()[None], self.o_in.recv()[None]
        t = step_in_sample(self.time_step, lp.n_steps)
        learning = bool(self.learning[0])
        if learning and t >= lp.lag:  # o[t] carries the noise of step t - lag
            z = noise(rule, lp, self.n_samples.copy(), t - lp.lag, NUMPY, np.float64, None)
            self.m[:] = momentum_update(lp, rule, self.m, momentum_estimate_of(lp, z, o), 1,
                                        float(self.alpha[0]))
        self.m_buff[:] = momentum_modulation(lp, rule, self.m, e)[0]
        if learning and t == lp.n_steps - 1:
            self.n_samples[0] += 1


@implements(proc=MomentumFeedback, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyMomentumFeedbackModelFloat(_MomentumFeedbackModel):
    e_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    o_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    m_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    m: np.ndarray = LavaPyType(np.ndarray, float)
    m_buff: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=MomentumFeedback, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyMomentumFeedbackModelFixed(_MomentumFeedbackModel):
    """``M`` in an int64 register (units of ``2**-M_BITS``), the error in 9 bits, the projected
    signal ``-gain M e`` in units of ``2**-ERROR_BITS`` (the neuron saturates it to 8 bits)."""

    e_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=9)
    o_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    m_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=32)
    m: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=64)
    m_buff: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
