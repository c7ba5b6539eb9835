"""ProcessModels of :class:`ThreeFactorLIF`: both call
:func:`lava_plastic.learning.neuron.neuron_step`, the engine's own step, with a batch of one."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.learning.neuron import model_step
from lava_plastic.processes.three_factor_lif.process import ThreeFactorLIF


def neuron_spk(model, mod):
    """A three-factor LIF model's step with modulatory input ``mod``: receives ``a_in``, steps
    (:func:`model_step`), sends the spikes and the output layer's signal. Returns the third
    factor, which each neuron kind sends its own way."""
    spikes, delta, signal = model_step(model, model.a_in.recv(), mod)
    model.s_out.send(spikes)
    if signal is not None:
        model.signal_out.send(signal)
    return delta


class _ThreeFactorLIFModel(PyLoihiProcessModel):
    def run_spk(self):
        self.delta_out.send(neuron_spk(self, self.mod_in.recv()))


@implements(proc=ThreeFactorLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyThreeFactorLIFModelFloat(_ThreeFactorLIFModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    mod_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    signal_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    count: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=ThreeFactorLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyThreeFactorLIFModelFixed(_ThreeFactorLIFModel):
    """24-bit u and v, signed 8-bit modulation (saturated by the neuron), 13-bit signed third
    factor, a 2-bit signed signal, carried on int32 ports."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    mod_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=13)
    signal_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=2)
    u: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    count: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
