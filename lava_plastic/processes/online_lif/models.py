"""ProcessModels of :class:`OnlineLIF`: the engine's :func:`lava_plastic.learning.online.
hidden_step` and :func:`~lava_plastic.learning.online.hidden_delta` with a batch of one."""
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_plastic.engine import step_in_sample
from lava_plastic.learning import online
from lava_plastic.learning.network import ACTIVITY_REGISTER_BITS
from lava_plastic.learning.neuron import NeuronState
from lava_plastic.processes.online_lif.process import OnlineLIF
from lava_plastic.xp import NUMPY


class OnlineNeuronFloat:
    """The float types of what every online hidden neuron model has
    (:func:`lava_plastic.processes.online_lif.process.add_online_neuron_state`)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    psi_line: np.ndarray = LavaPyType(np.ndarray, float)
    z_line: np.ndarray = LavaPyType(np.ndarray, float)
    mask: np.ndarray = LavaPyType(np.ndarray, float)
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    learning: np.ndarray = LavaPyType(np.ndarray, np.int32)
    n_samples: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=OnlineLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyOnlineLIFModelFloat(OnlineNeuronFloat, PyLoihiProcessModel):
    mod_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    a_clean_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_clean_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u_clean: np.ndarray = LavaPyType(np.ndarray, float)
    v_clean: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        self.delta_out.send(hidden_spk(self, self.a_in.recv(), self.mod_in.recv()))


class OnlineNeuronFixed:
    """The fixed-point types of what every online hidden neuron model has: 24-bit ``u``, ``v``;
    the graded activity in ``ACTIVITY_REGISTER_BITS``; the integer surrogate, noise (units of
    ``2**-NOISE_BITS``) and dropout factors; the noise scale stays a host parameter."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=ACTIVITY_REGISTER_BITS)
    u: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    psi_line: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=6)
    z_line: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    mask: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=16)
    alpha: np.ndarray = LavaPyType(np.ndarray, float)
    learning: np.ndarray = LavaPyType(np.ndarray, np.int32)
    n_samples: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=OnlineLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyOnlineLIFModelFixed(OnlineNeuronFixed, PyLoihiProcessModel):
    """Signed 8-bit modulation in (saturated by the neuron), 13-bit third factor out."""

    mod_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=13)
    a_clean_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    s_clean_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32,
                                        precision=ACTIVITY_REGISTER_BITS)
    u_clean: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v_clean: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def run_spk(self):
        self.delta_out.send(hidden_spk(self, self.a_in.recv(), self.mod_in.recv()))


def hidden_spk(model, a_in, mod):
    """One step of an online hidden neuron model (a batch of one): from the synaptic input
    ``a_in`` and the modulatory input ``mod`` received, update the state, send the activity
    (and the clean pass's, for eq. 5) and return the third factor, which each neuron kind sends
    its own way."""
    lp, rule = model.proc_params["plan"], model.proc_params["rule"]
    a_in, mod = a_in[None], mod[None]
    t = step_in_sample(model.time_step, lp.n_steps)
    learning = bool(model.learning[0])
    rows = model.n_samples.copy()
    alpha = float(model.alpha[0])
    if learning and rule.noisy:
        alpha = online.noise_scale(lp.fixed, alpha)
    state = NeuronState(model.u[None], model.v[None], None)
    if t == 0:  # from rest; the input sent during the previous sample is dropped
        a_in = np.zeros_like(a_in)
        state = NeuronState(np.zeros_like(a_in), np.zeros_like(a_in), None)
        if learning:
            mask = online.dropout_mask(rule, lp, rows, model.proc_params["dropout"], NUMPY,
                                       np.float64, None)
            if mask is not None:
                model.mask[:] = mask[0]
    mask = model.mask[None] if learning and model.proc_params["dropout"] else None
    z = None
    if learning and rule.noisy:
        z = online.noise(rule, lp, rows, t, NUMPY, np.float64, None)
    state, out, psi = online.hidden_step(lp, rule.site, state, a_in, z, alpha, mask, NUMPY)
    model.u[:], model.v[:] = state.u[0], state.v[0]
    model.s_out.send(out[0])
    lines = lp.align + 1
    model.psi_line[t % lines] = psi[0]
    if z is not None:
        model.z_line[t % lines] = z[0]
    delta = np.zeros(lp.n_out)
    # the wavefront of align steps ago meets its error (sent at t - 1, so from t = 1)
    if learning and t >= max(lp.align, 1):
        then = (t - lp.align) % lines
        z_then = model.z_line[then][None] if rule.noisy else None
        delta = online.hidden_delta(lp, rule.feedback_kind, model.psi_line[then][None], mod,
                                    z_then, alpha, mask)[0]
    if rule.two_point:  # the clean pass (eq. 5): no noise, the same mask
        a_clean = model.a_clean_in.recv()[None]
        clean = NeuronState(model.u_clean[None], model.v_clean[None], None)
        if t == 0:
            a_clean = np.zeros_like(a_clean)
            clean = NeuronState(np.zeros_like(a_in), np.zeros_like(a_in), None)
        clean, out_clean, _ = online.hidden_step(lp, rule.site, clean, a_clean, None, 0.0,
                                                 mask, NUMPY)
        model.u_clean[:], model.v_clean[:] = clean.u[0], clean.v[0]
        model.s_clean_out.send(out_clean[0])
    if learning and t == lp.n_steps - 1:
        model.n_samples[0] += 1
    return delta
