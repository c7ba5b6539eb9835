"""ProcessModels of :class:`SampleLIF`. The neuron arithmetic is the engine's
(:func:`lava_plastic.engine.lif_float_step`, :func:`lava_plastic.engine.lif_fixed_step`),
which the parity tests prove equal to Lava's stock LIF models."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.engine import (fixed_bias, fixed_threshold, lif_fixed_step, lif_float_step,
                                 step_in_sample)
from lava_plastic.processes.sample_lif.process import SampleLIF


class _SampleLIFModel(PyLoihiProcessModel):
    """Shared step: rest at each sample's first step, then one LIF update."""

    def run_spk(self):
        a_in = self.a_in.recv()
        if step_in_sample(self.time_step, self.proc_params["sample_steps"]) == 0:
            self.u[:] = 0
            self.v[:] = 0
            a_in = np.zeros_like(a_in)
        u, v, spikes = self.lif_step(a_in)
        self.u[:] = u
        self.v[:] = v
        self.s_out.send(spikes)


@implements(proc=SampleLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySampleLIFModelFloat(_SampleLIFModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    du: float = LavaPyType(float, float)
    dv: float = LavaPyType(float, float)
    vth: float = LavaPyType(float, float)
    bias_mant: np.ndarray = LavaPyType(np.ndarray, float)
    bias_exp: np.ndarray = LavaPyType(np.ndarray, float)

    def lif_step(self, a_in):
        return lif_float_step(self.u, self.v, a_in, self.du, self.dv, self.vth, self.bias_mant)


@implements(proc=SampleLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PySampleLIFModelFixed(_SampleLIFModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    u: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    du: int = LavaPyType(int, np.uint16, precision=12)
    dv: int = LavaPyType(int, np.uint16, precision=12)
    vth: int = LavaPyType(int, np.int32, precision=17)
    bias_mant: np.ndarray = LavaPyType(np.ndarray, np.int16, precision=13)
    bias_exp: np.ndarray = LavaPyType(np.ndarray, np.int16, precision=3)

    def lif_step(self, a_in):
        return lif_fixed_step(self.u, self.v, a_in, self.du, self.dv,
                              fixed_threshold(self.vth), fixed_bias(self.bias_mant, self.bias_exp))
