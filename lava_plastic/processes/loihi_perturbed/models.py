"""ProcessModels of :class:`LoihiPerturbedLIF`: :class:`PerturbedLIF`'s step
(:func:`lava_plastic.processes.perturbed_lif.models.perturbed_spk`) sending its traces."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.neuron import LearningNeuronModelFixed, LearningNeuronModelFloat
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.engine import step_in_sample
from lava_plastic.learning.loihi_form import third_factor_traces
from lava_plastic.processes.loihi_perturbed.process import LoihiPerturbedLIF
from lava_plastic.processes.perturbed_lif.models import (PerturbedNeuronFixed,
                                                         PerturbedNeuronFloat, perturbed_spk)
from lava_plastic.xp import NUMPY


class _LoihiPerturbedLIFModel(PyLoihiProcessModel):
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
class PyLoihiPerturbedLIFModelFloat(PerturbedNeuronFloat, LearningNeuronModelFloat,
                                    _LoihiPerturbedLIFModel):
    pass


@implements(proc=LoihiPerturbedLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLoihiPerturbedLIFModelFixed(PerturbedNeuronFixed, LearningNeuronModelFixed,
                                    _LoihiPerturbedLIFModel):
    """y1 (the count gate), y2, y3: 7-bit traces."""
