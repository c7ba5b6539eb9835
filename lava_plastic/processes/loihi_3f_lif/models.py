"""ProcessModels of :class:`LoihiThreeFactorLIF`."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.neuron import LearningNeuronModelFixed, LearningNeuronModelFloat
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.engine import step_in_sample
from lava_plastic.learning.loihi_form import third_factor_traces
from lava_plastic.processes.loihi_3f_lif.process import LoihiThreeFactorLIF
from lava_plastic.processes.three_factor_lif.models import neuron_spk
from lava_plastic.xp import NUMPY


def send_traces(model, delta):
    """Send a learning neuron's third factor as the y2/y3 traces (zero before the plan's first
    learnt step of a sample and while ``learning`` is 0, which gates the synapses' learning)."""
    lp = model.proc_params["plan"]
    if step_in_sample(model.time_step, lp.n_steps) < lp.first_valid or not model.learning[0]:
        delta = np.zeros_like(delta)
    y2, y3 = third_factor_traces(delta, model.proc_params["y_shift"], lp.fixed, NUMPY)
    model.s_out_bap.send(np.zeros(delta.shape, dtype=bool))
    model.s_out_y1.send(np.zeros_like(y2))
    model.s_out_y2.send(y2)
    model.s_out_y3.send(y3)


class _LoihiThreeFactorLIFModel(PyLoihiProcessModel):
    learning: np.ndarray = LavaPyType(np.ndarray, np.int32)

    def run_spk(self):
        send_traces(self, neuron_spk(self, self.a_third_factor_in.recv()))


@implements(proc=LoihiThreeFactorLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLoihiThreeFactorLIFModelFloat(LearningNeuronModelFloat, _LoihiThreeFactorLIFModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    signal_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    count: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=LoihiThreeFactorLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLoihiThreeFactorLIFModelFixed(LearningNeuronModelFixed, _LoihiThreeFactorLIFModel):
    """24-bit u, v; the modulatory input is the signed 8-bit ``m`` (Lava declares the
    third-factor port 7 bits; the payload is carried in int32); y2, y3 are 7-bit traces."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    signal_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=2)
    u: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    count: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
