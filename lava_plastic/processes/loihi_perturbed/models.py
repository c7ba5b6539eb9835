"""ProcessModels of :class:`LoihiPerturbedLIF`: :class:`PerturbedLIF`'s step
(:func:`lava_plastic.processes.perturbed_lif.models.perturbed_spk`) sending its traces."""
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
from lava_plastic.processes.loihi_perturbed.process import LoihiPerturbedLIF
from lava_plastic.processes.perturbed_lif.models import perturbed_spk
from lava_plastic.xp import NUMPY


class _LoihiPerturbedLIFModel(PyLoihiProcessModel):
    learning: np.ndarray = LavaPyType(np.ndarray, np.int32)
    n_samples: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def run_spk(self):
        lp = self.proc_params["plan"]
        run, t = divmod(step_in_sample(self.time_step, 2 * lp.n_steps), lp.n_steps)
        delta = perturbed_spk(self)
        learning = bool(self.learning[0])
        y2, y3 = third_factor_traces(delta, self.proc_params["y_shift"], lp.fixed, NUMPY)
        self.s_out_bap.send(np.full(lp.n_out, learning and run == 0 and t == 0))
        self.s_out_y1.send(np.full(lp.n_out, int(learning and run == 0), dtype=y2.dtype))
        self.s_out_y2.send(y2)
        self.s_out_y3.send(y3)


@implements(proc=LoihiPerturbedLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLoihiPerturbedLIFModelFloat(LearningNeuronModelFloat, _LoihiPerturbedLIFModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    td_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    td_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    clean_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    count: np.ndarray = LavaPyType(np.ndarray, float)
    clean_count: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=LoihiPerturbedLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLoihiPerturbedLIFModelFixed(LearningNeuronModelFixed, _LoihiPerturbedLIFModel):
    """24-bit u, v; a signed 24-bit TD message; y1 (the count gate), y2, y3 7-bit traces."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    td_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    label_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    td_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    clean_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    u: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    count: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    clean_count: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
