"""ProcessModels of :class:`DRTP3FLIF`."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.neuron import LearningNeuronModelFixed, LearningNeuronModelFloat
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.drtp_network import neuron_params_of, sample_neuron_step
from lava_plastic.engine import step_in_sample
from lava_plastic.processes.drtp_3f_lif.process import DRTP3FLIF
from lava_plastic.rules.drtp import third_factor_traces


class _DRTP3FLIFModel(PyLoihiProcessModel):
    fixed: bool
    learning: np.ndarray = LavaPyType(np.ndarray, np.int32)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.params = neuron_params_of(self.fixed, proc_params)

    def run_spk(self):
        a_in = self.a_in.recv()
        m = self.a_third_factor_in.recv()
        sample_start = step_in_sample(self.time_step, self.proc_params["sample_steps"]) == 0
        u, v, spikes, delta = sample_neuron_step(self.params, self.u, self.v, a_in, m, sample_start)
        self.u[:] = u
        self.v[:] = v
        if sample_start or not self.learning[0]:
            delta = np.zeros_like(delta)
        y2, y3 = third_factor_traces(delta, self.proc_params["y_shift"], self.fixed)
        self.s_out.send(spikes)
        self.s_out_bap.send(np.zeros(spikes.shape, dtype=bool))
        self.s_out_y1.send(np.zeros_like(y2))
        self.s_out_y2.send(y2)
        self.s_out_y3.send(y3)


@implements(proc=DRTP3FLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyDRTP3FLIFModelFloat(LearningNeuronModelFloat, _DRTP3FLIFModel):
    fixed = False
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=DRTP3FLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyDRTP3FLIFModelFixed(LearningNeuronModelFixed, _DRTP3FLIFModel):
    """24-bit u, v; the modulatory input is the 8-bit signed ``B^T y*`` (Lava declares the
    third-factor port 7 bits; the payload is carried in int32); y2, y3 are 7-bit traces."""

    fixed = True
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    u: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
