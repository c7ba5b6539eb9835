"""ProcessModels of :class:`PerturbedLIF`: the engine's :func:`lava_plastic.learning.
perturbation.run_step`, :func:`lava_plastic.rules.loco.temporal_difference` and
:func:`~lava_plastic.rules.loco.third_factor` with a batch of one."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.engine import step_in_sample
from lava_plastic.learning.neuron import NeuronState
from lava_plastic.learning.perturbation import run_step
from lava_plastic.processes.perturbed_lif.process import PerturbedLIF
from lava_plastic.rules.loco import bias, sigma_scale, temporal_difference, third_factor, xi
from lava_plastic.xp import NUMPY


class _PerturbedLIFModel(PyLoihiProcessModel):
    def run_spk(self):
        self.delta_out.send(perturbed_spk(self))


def perturbed_spk(model):
    """A perturbation neuron model's step (a batch of one): receives its input (and the target
    or ``TD``), integrates with the sample's perturbation in the perturbed run, fires, sends
    its spikes (the output layer also its clean run's spikes and ``TD``), counts the sample.
    Returns the third factor ``-TD xi`` at the perturbed run's last step while learning, else
    zeros, which each neuron kind sends its own way."""
    lp, rule = model.proc_params["plan"], model.proc_params["rule"]
    run, t = divmod(step_in_sample(model.time_step, 2 * lp.n_steps), lp.n_steps)
    last = run == 1 and t == lp.n_steps - 1
    learns = bool(model.learning[0]) and rule.learns(lp.k, lp.k + 1 + lp.lag)
    a_in = model.a_in.recv()[None]
    xi_k, bias_k = None, 0
    if learns and run == 1:  # the sample's xi, keyed by its ordinal
        xi_k = xi(rule, lp.k, model.n_samples.copy(), lp.n_out, lp.fixed, NUMPY, np.float64)
        bias_k = bias(xi_k, sigma_scale(lp.fixed, rule.sigma), lp.vth_bits, lp.fixed, NUMPY)
    state = NeuronState(model.u[None], model.v[None], model.count[None])
    if lp.fixed:
        state = NeuronState(*(x.astype(np.int32) for x in (state.u, state.v, state.count)))
        a_in = a_in.astype(np.int32)
    state, spikes = run_step(lp, state, a_in, bias_k, t, NUMPY)
    model.u[:], model.v[:], model.count[:] = state.u[0], state.v[0], state.count[0]
    model.s_out.send(spikes[0])
    if lp.output:
        label = model.label_in.recv()
        model.clean_out.send(spikes[0] if run == 0 else np.zeros(lp.n_out))
        if run == 0 and t == lp.n_steps - 1:
            model.clean_count[:] = model.count
        td = np.zeros(1)
        if last and bool(model.learning[0]):
            td = temporal_difference(model.clean_count[None], model.count[None], label[None],
                                     lp.n_steps, NUMPY)
        model.td_out.send(td)
    else:
        td = model.td_in.recv()
    delta = np.zeros(lp.n_out, dtype=np.int32 if lp.fixed else float)
    if last and learns:
        delta = third_factor(td.astype(np.int64 if lp.fixed else float), xi_k, lp.fixed,
                             NUMPY)[0]
    if last and bool(model.learning[0]):
        model.n_samples[0] += 1
    return delta


class PerturbedNeuronFloat:
    """The float types of what every perturbation neuron model has
    (:func:`lava_plastic.processes.perturbed_lif.process.add_perturbed_interface`)."""

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
    learning: np.ndarray = LavaPyType(np.ndarray, np.int32)
    n_samples: np.ndarray = LavaPyType(np.ndarray, np.int64)


class PerturbedNeuronFixed:
    """The fixed-point types of what every perturbation neuron model has: 24-bit ``u``, ``v``,
    spike counts, a signed 24-bit TD message (at most ``N T^2``), on int32 ports."""

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
    learning: np.ndarray = LavaPyType(np.ndarray, np.int32)
    n_samples: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=PerturbedLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyPerturbedLIFModelFloat(PerturbedNeuronFloat, _PerturbedLIFModel):
    delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)


@implements(proc=PerturbedLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyPerturbedLIFModelFixed(PerturbedNeuronFixed, _PerturbedLIFModel):
    """The 13-bit signed third factor out."""

    delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=13)
