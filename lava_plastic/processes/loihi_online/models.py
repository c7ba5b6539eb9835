"""ProcessModels of :class:`LoihiOnlineLIF` and :class:`LoihiReadout` (float: the learning
engine's fixed-point form of OTTT's trace is approximate, see :mod:`lava_plastic.lava_graph.
loihi`)."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.neuron import LearningNeuronModelFloat
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.processes.loihi_3f_lif.models import send_traces
from lava_plastic.processes.loihi_online.process import LoihiOnlineLIF, LoihiReadout
from lava_plastic.processes.online_lif.models import OnlineNeuronFloat, hidden_spk
from lava_plastic.processes.readout.models import ReadoutFloat, readout_spk


@implements(proc=LoihiOnlineLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLoihiOnlineLIFModelFloat(LearningNeuronModelFloat, OnlineNeuronFloat,
                                 PyLoihiProcessModel):
    def run_spk(self):
        send_traces(self, hidden_spk(self, self.a_in.recv(), self.a_third_factor_in.recv()))


@implements(proc=LoihiReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLoihiReadoutModelFloat(LearningNeuronModelFloat, ReadoutFloat, PyLoihiProcessModel):
    learning: np.ndarray = LavaPyType(np.ndarray, np.int32)

    def run_spk(self):
        send_traces(self, readout_spk(self, self.a_in.recv(), self.label_in.recv()))
