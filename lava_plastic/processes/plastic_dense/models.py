"""ProcessModels of :class:`PlasticDense`: the forward pass, the accumulation and the write are
:mod:`lava_plastic.learning.synapse`'s functions, which the engine calls too."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.learning import synapse
from lava_plastic.learning.perturbation import layer_update, presynaptic_term
from lava_plastic.engine import step_in_sample
from lava_plastic.processes.plastic_dense.process import PlasticDense
from lava_plastic.xp import NUMPY


class _PlasticDenseModel(PyLoihiProcessModel):
    learning: np.ndarray = LavaPyType(np.ndarray, np.int32)
    n_updates: np.ndarray = LavaPyType(np.ndarray, np.int64)
    n_batch: np.ndarray = LavaPyType(np.ndarray, np.int64)
    directions: np.ndarray = LavaPyType(np.ndarray, float)
    n_directions: np.ndarray = LavaPyType(np.ndarray, np.int64)
    batch_sizes: np.ndarray = LavaPyType(np.ndarray, np.int64)
    batch_index: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def run_spk(self):
        if getattr(self.proc_params["rule"], "perturbative", False):
            self._perturbation_spk()
        else:
            self._three_factor_spk()

    def _perturbation_spk(self):
        """NP and LOCO: count the clean run's input, record the presynaptic term and third
        factor of each sample, write each batch's update."""
        lp = self.proc_params["plan"]
        self.a_out.send(self.a_buff)
        s_in = self.s_in.recv()
        delta = self.delta_in.recv()
        run, t = divmod(step_in_sample(self.time_step, 2 * lp.n_steps), lp.n_steps)
        learning = bool(self.learning[0])
        if not learning and self.n_batch[0]:  # learning switched off: the pending batch
            self._write_batch()
            self.batch_index[0] = 0
        if run == 0:
            self.count[:] = s_in if t == 0 else self.count + s_in
        if learning and run == 1 and t == lp.n_steps - 1:
            row = int(self.n_batch[0])
            self.batch_pres[row] = presynaptic_term(lp, s_in, self.count)
            self.batch_deltas[row] = delta
            self.n_batch[0] += 1
            if self.n_batch[0] == self.batch_sizes[int(self.batch_index[0])]:
                self._write_batch()
                self.batch_index[0] = (self.batch_index[0] + 1) % len(self.batch_sizes)
        self.a_buff[:] = synapse.forward(lp, self.weights, s_in[None, :], NUMPY)[0]

    def _write_batch(self):
        lp, rule = self.proc_params["plan"], self.proc_params["rule"]
        rows = int(self.n_batch[0])
        buffer = self.directions[: int(self.n_directions[0])] if rule.projected else None
        acc, buffer = layer_update(rule, lp, self.batch_deltas[:rows], self.batch_pres[:rows],
                                   buffer)
        if rule.projected:
            self.directions[: len(buffer)] = buffer
            self.n_directions[0] = len(buffer)
        self.weights[:] = synapse.write(lp, self.weights, acc, int(self.n_updates[0]), NUMPY)
        self.n_updates[0] += 1
        self.n_batch[0] = 0

    def _three_factor_spk(self):
        lp = self.proc_params["plan"]
        clean = self.proc_params["clean"]
        self.a_out.send(self.a_buff)
        if clean:  # a clean pass beside (OPZO's eq. 5), sent before anything is received
            self.a_clean_out.send(self.clean_buff)
        s_in = self.s_in.recv()
        delta = self.delta_in.recv()
        t = step_in_sample(self.time_step, lp.n_steps)
        learning = bool(self.learning[0])
        # the presynaptic term: the trace of the inputs up to t - 1, from rest at t = 0
        if t == 0:
            self.trace[:] = 0
        else:
            self.trace[:] = synapse.trace_step(lp, self.trace if t > 1 else None, self.prev_in,
                                               NUMPY)
        if learning:
            self.step_deltas[t] = delta
            self.step_pres[t] = self.trace
        self.prev_in[:] = s_in
        if clean:  # weighted as the input is, before this step's write
            clean_in = self.s_clean_in.recv()
            self.clean_buff[:] = synapse.forward(lp, self.weights, clean_in[None, :], NUMPY)[0]
        self.a_buff[:] = synapse.forward(lp, self.weights, s_in[None, :], NUMPY)[0]
        if learning and t == lp.n_steps - 1:
            # the third factor of step t pairs with the presynaptic term of step t - align
            first = max(lp.first_valid, lp.align)
            acc = synapse.accumulate(lp, self.step_deltas[first:],
                                     self.step_pres[first - lp.align : lp.n_steps - lp.align],
                                     NUMPY)
            self.weights[:] = synapse.write(lp, self.weights, acc, int(self.n_updates[0]), NUMPY)
            self.n_updates[0] += 1


@implements(proc=PlasticDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyPlasticDenseModelFloat(_PlasticDenseModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    delta_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_clean_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_clean_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    clean_buff: np.ndarray = LavaPyType(np.ndarray, float)
    weights: np.ndarray = LavaPyType(np.ndarray, float)
    step_deltas: np.ndarray = LavaPyType(np.ndarray, float)
    step_pres: np.ndarray = LavaPyType(np.ndarray, float)
    prev_in: np.ndarray = LavaPyType(np.ndarray, float)
    trace: np.ndarray = LavaPyType(np.ndarray, float)
    a_buff: np.ndarray = LavaPyType(np.ndarray, float)
    count: np.ndarray = LavaPyType(np.ndarray, float)
    batch_pres: np.ndarray = LavaPyType(np.ndarray, float)
    batch_deltas: np.ndarray = LavaPyType(np.ndarray, float)


@implements(proc=PlasticDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyPlasticDenseModelFixed(_PlasticDenseModel):
    """Signed 8-bit weights, 13-bit third factors, 24-bit input payloads, a 32-bit saturating
    update accumulator, int32 output messages (formats: :mod:`lava_plastic.rules.base`)."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    delta_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=13)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=32)
    s_clean_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_clean_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=32)
    clean_buff: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=8)
    step_deltas: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=13)
    step_pres: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    prev_in: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    trace: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    a_buff: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
    count: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    batch_pres: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    batch_deltas: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=13)
