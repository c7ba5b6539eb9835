"""ProcessModels of :class:`SampleSource`."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.engine import step_in_sample
from lava_plastic.processes.sample_source.process import SampleSource


class _SampleSourceModel(PyLoihiProcessModel):
    def run_spk(self):
        if step_in_sample(self.time_step, self.proc_params["sample_steps"]) == 0:
            self.current[0] = self.cursor[0]
            self.cursor[0] = (self.cursor[0] + 1) % self.labels.shape[0]
        index = int(self.current[0])
        label = np.zeros(self.proc_params["n_classes"], dtype=self.data.dtype)
        label[int(self.labels[index])] = 1
        self.s_out.send(self.data[index])
        self.label_out.send(label)


@implements(proc=SampleSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySampleSourceModelFloat(_SampleSourceModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    label_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    data: np.ndarray = LavaPyType(np.ndarray, float)
    labels: np.ndarray = LavaPyType(np.ndarray, np.int32)
    cursor: np.ndarray = LavaPyType(np.ndarray, np.int32)
    current: np.ndarray = LavaPyType(np.ndarray, np.int32)


@implements(proc=SampleSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySampleSourceModelFixed(_SampleSourceModel):
    """Payloads are signed 24-bit graded spikes (int32 ports)."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    label_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    data: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    labels: np.ndarray = LavaPyType(np.ndarray, np.int32)
    cursor: np.ndarray = LavaPyType(np.ndarray, np.int32)
    current: np.ndarray = LavaPyType(np.ndarray, np.int32)
