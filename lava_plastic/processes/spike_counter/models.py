"""ProcessModels of :class:`SpikeCounter` (spike counts are integers in both precisions; the
float model holds them, and a readout's sums, in float64)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.engine import step_in_sample
from lava_plastic.processes.spike_counter.process import SpikeCounter


class _SpikeCounterModel(PyLoihiProcessModel):
    cursor: np.ndarray = LavaPyType(np.ndarray, np.int32)
    current: np.ndarray = LavaPyType(np.ndarray, np.int32)

    def run_spk(self):
        spikes = self.s_in.recv()
        if step_in_sample(self.time_step, self.proc_params["sample_steps"]) == 0:
            self.current[0] = self.cursor[0]
            self.cursor[0] = (self.cursor[0] + 1) % self.counts.shape[0]
            self.counts[int(self.current[0])] = 0
        received = spikes if self.proc_params["graded"] else (spikes != 0)
        self.counts[int(self.current[0])] += received.astype(self.counts.dtype)


@implements(proc=SpikeCounter, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySpikeCounterModelFloat(_SpikeCounterModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    counts: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=SpikeCounter, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySpikeCounterModelFixed(_SpikeCounterModel):
    """Spikes, or a readout's int32 synaptic input summed in int64."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    counts: np.ndarray = LavaPyType(np.ndarray, np.int64)
