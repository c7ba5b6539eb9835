"""ProcessModels of :class:`Readout`: the engine's error and third factor with a batch of one
(:func:`lava_plastic.learning.online.readout_error`, :func:`~lava_plastic.learning.online.
readout_delta`)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.engine import step_in_sample
from lava_plastic.learning.online import readout_delta, readout_error, readout_output
from lava_plastic.processes.readout.process import Readout
from lava_plastic.xp import NUMPY


class ReadoutFloat:
    """The float types of what every readout model has
    (:func:`lava_plastic.processes.readout.process.add_readout_interface`)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    error_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    loss_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    o_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)


@implements(proc=Readout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyReadoutModelFloat(ReadoutFloat, PyLoihiProcessModel):
    delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    a_clean_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)

    def run_spk(self):
        self.delta_out.send(readout_spk(self, self.a_in.recv(), self.label_in.recv()))


def readout_spk(model, a_in, y_star):
    """One step of a readout model (a batch of one): from the synaptic input ``a_in`` and the
    target ``y_star`` received, send the output, the error, the loss and what ``M`` learns
    from; return the readout's own third factor, which each neuron kind sends its own way."""
    lp, rule = model.proc_params["plan"], model.proc_params["rule"]
    t = step_in_sample(model.time_step, lp.n_steps)
    if t == 0:
        a_in = np.zeros_like(a_in)
    model.s_out.send(a_in)
    o, e, loss = readout_error(lp, rule, a_in[None], y_star[None], NUMPY)
    if t == 0:  # o[0] has no cause, and the target of this sample has not arrived
        e = np.zeros_like(e)
    model.error_out.send(e[0])
    model.loss_out.send(np.zeros(1) if loss is None or t == 0 else loss)
    if rule.two_point:  # what the noise changed in the output
        a_clean = model.a_clean_in.recv()
        if t == 0:
            a_clean = np.zeros_like(a_clean)
        o = o - readout_output(lp, a_clean)[None]
    model.o_out.send(o[0])
    return readout_delta(lp, e)[0]


@implements(proc=Readout, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyReadoutModelFixed(PyLoihiProcessModel):
    """The output is the int32 synaptic input; the error is 9 bits in units of ``2**-7``, the
    loss (ZO_sp) in the same units, the third factor 13 bits (:mod:`lava_plastic.rules.opzo`)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=32)
    delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=13)
    error_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=9)
    loss_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    o_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=32)
    a_clean_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)

    def run_spk(self):
        self.delta_out.send(readout_spk(self, self.a_in.recv(), self.label_in.recv()))
