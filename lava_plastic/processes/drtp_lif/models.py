"""ProcessModels of :class:`DRTPLIF`: both call
:func:`lava_plastic.drtp_network.neuron_step`, the engine's own step."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.drtp_network import neuron_params_of, sample_neuron_step
from lava_plastic.engine import step_in_sample
from lava_plastic.processes.drtp_lif.process import DRTPLIF


class _DRTPLIFModel(PyLoihiProcessModel):
    fixed: bool

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.params = neuron_params_of(self.fixed, proc_params)

    def run_spk(self):
        a_in = self.a_in.recv()
        m = self.mod_in.recv()
        sample_start = step_in_sample(self.time_step, self.proc_params["sample_steps"]) == 0
        u, v, spikes, delta = sample_neuron_step(self.params, self.u, self.v, a_in, m, sample_start)
        self.u[:] = u
        self.v[:] = v
        self.s_out.send(spikes)
        self.delta_out.send(delta)


@implements(proc=DRTPLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyDRTPLIFModelFloat(_DRTPLIFModel):
    fixed = False
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    mod_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=DRTPLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyDRTPLIFModelFixed(_DRTPLIFModel):
    """24-bit u and v, 8-bit signed modulatory input, 13-bit signed third factor
    (+-(2**DELTA_SHIFT) at the output layer), carried on int32 ports."""

    fixed = True
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    mod_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=8)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=13)
    u: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
