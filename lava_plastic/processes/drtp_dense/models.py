"""ProcessModels of :class:`DRTPDense`: the forward pass, the accumulation and the update are
:mod:`lava_plastic.drtp_network`'s and :mod:`lava_plastic.rules.drtp`'s functions, which the
engine calls too."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.drtp_network import SynapseParams, apply_update, synapse_forward
from lava_plastic.engine import step_in_sample
from lava_plastic.processes.drtp_dense.process import DRTPDense
from lava_plastic.rules.drtp import accumulate


class _DRTPDenseModel(PyLoihiProcessModel):
    fixed: bool
    learning: np.ndarray = LavaPyType(np.ndarray, np.int32)
    n_updates: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = proc_params
        self.params = SynapseParams(self.fixed, p["graded"], p["weight_exp"], p["lr_shift"],
                                    p["seed"], p["layer"])

    def run_spk(self):
        self.a_out.send(self.a_buff)
        s_in = self.s_in.recv()
        delta = self.delta_in.recv()
        step = step_in_sample(self.time_step, self.proc_params["sample_steps"])
        learning = bool(self.learning[0])
        if learning:
            self.step_deltas[step] = delta
            self.step_inputs[step] = self.prev_in
        self.prev_in[:] = s_in
        self.a_buff[:] = synapse_forward(self.params, self.weights, s_in[None, :])[0]
        if learning and step == self.proc_params["sample_steps"] - 1:
            acc = accumulate(np.zeros(self.weights.shape, self.step_deltas.dtype),
                             self.step_deltas[1:], self.step_inputs[1:], self.fixed)
            self.weights[:] = apply_update(self.params, self.weights, acc, int(self.n_updates[0]))
            self.n_updates[0] += 1


@implements(proc=DRTPDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyDRTPDenseModelFloat(_DRTPDenseModel):
    fixed = False
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    delta_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    weights: np.ndarray = LavaPyType(np.ndarray, float)
    step_deltas: np.ndarray = LavaPyType(np.ndarray, float)
    step_inputs: np.ndarray = LavaPyType(np.ndarray, float)
    prev_in: np.ndarray = LavaPyType(np.ndarray, float)
    a_buff: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=DRTPDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyDRTPDenseModelFixed(_DRTPDenseModel):
    """Signed 8-bit weights, 13-bit third factors, 24-bit input payloads, a 32-bit saturating
    update accumulator (:func:`lava_plastic.rules.drtp.accumulate`), int32 output messages."""

    fixed = True
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    delta_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=13)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=32)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=8)
    step_deltas: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=13)
    step_inputs: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    prev_in: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    a_buff: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
