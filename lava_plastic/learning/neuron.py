"""The three-factor LIF neuron, written once: Lava's LIF arithmetic (no bias), the local factor
and the third factor ``delta`` it sends its plastic synapse, and for the output layer the signal
the rule's feedback projects to the hidden layers. The Lava models of
:class:`~lava_plastic.processes.three_factor_lif.process.ThreeFactorLIF` (and its learning-engine
twin) and the engine call :func:`neuron_step`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lava_plastic import fixed_point as fp
from lava_plastic.engine import (fire, fixed_current_bound, lif_fixed_current, lif_fixed_voltage,
                                 lif_float_current, lif_float_voltage, step_in_sample)
from lava_plastic.learning.plan import LayerPlan
from lava_plastic.rules.base import (MOD_BITS, output_delta, sigmoid_surrogate_fixed,
                                     sigmoid_surrogate_float, surrogate_fixed, surrogate_float)
from lava_plastic.xp import NUMPY, device


@dataclass(frozen=True, eq=False)
class NeuronState:
    """``u``, ``v`` and (output layer) the spike count since the sample started, each
    ``(batch, n)``."""

    u: object
    v: object
    count: object


def rest(lp: LayerPlan, batch: int, xp, device=None, dtype=None) -> NeuronState:
    """Every neuron at rest (on ``device``, where the engine's arrays live; float state in
    ``dtype``, float64 by default; fixed point in int32, which holds the 24-bit registers and
    whose elementwise passes run at twice the rate of int64's or more)."""
    dtype = xp.int32 if lp.fixed else (dtype or xp.float64)
    zeros = xp.zeros((batch, lp.n_out), dtype=dtype, device=device)
    return NeuronState(zeros, zeros, zeros)


def modulation(lp: LayerPlan, mod, xp):
    """A hidden neuron's modulatory register: the projection it receives, saturated to signed
    ``MOD_BITS`` in fixed point (DFA's ``B^T e`` can exceed them; DRTP's ``B^T y*`` is one
    8-bit row of ``B``). Float: unchanged."""
    if lp.fixed and not lp.output:
        return xp.astype(fp.clip_signed(mod, MOD_BITS, xp), xp.int32, copy=False)
    return mod


def current(lp: LayerPlan, u, a_in, xp):
    """The layer's current after synaptic input ``a_in`` from current ``u`` (Lava's LIF
    arithmetic in the layer's precision). A memoryless current (:attr:`LayerPlan.memoryless`)
    does not depend on ``u``."""
    if lp.fixed:  # a 24-bit register (int64 arithmetic on the way), held in int32
        return xp.astype(lif_fixed_current(u, a_in, lp.du, xp, lp.a_bound), xp.int32, copy=False)
    return lif_float_current(u, a_in, lp.du)


def integrate(lp: LayerPlan, state: NeuronState, a_in, bias, xp, u=None):
    """Lava's LIF sub-threshold update in the layer's precision: the :func:`current` after
    ``a_in`` (or ``u``, when the caller has it) and the voltage ``v(1 - dv) + u + bias`` before
    the threshold test (fixed point: the 24-bit register, int32; ``bias`` in its units,
    ``vth << 6`` being the threshold). Returns ``(u, v)``."""
    if u is None:
        u = current(lp, state.u, a_in, xp)
    if lp.fixed:
        v = lif_fixed_voltage(state.v, u, lp.dv, bias, xp, fixed_current_bound(lp.du, lp.a_bound))
        return u, xp.astype(v, xp.int32, copy=False)  # a 24-bit register
    return u, lif_float_voltage(state.v, u, lp.dv, bias)


def surrogate(lp: LayerPlan, v, xp):
    """The local factor ``psi`` of the pre-reset potential ``v``: the rule's surrogate
    (:data:`~lava_plastic.rules.base.SURROGATES`) in the layer's precision."""
    if lp.surrogate == "sigmoid":
        if lp.fixed:
            return sigmoid_surrogate_fixed(v, lp.vth, lp.psi_width, lp.psi_table, xp)
        return sigmoid_surrogate_float(v, lp.vth, lp.psi_width, xp)
    if lp.fixed:
        return surrogate_fixed(v, lp.vth, lp.psi_width, xp)
    return surrogate_float(v, lp.vth, lp.psi_width, xp)


def neuron_step(lp: LayerPlan, feedback, state: NeuronState, a_in, mod, t: int, xp, u=None):
    """One step at position ``t`` of a sample. At ``t == 0`` the neurons start from rest and
    drop the synaptic input (sent during the previous sample). Then: integrate, take the
    surrogate ``psi`` of the pre-reset potential, fire, and form the third factor from the
    modulatory input ``mod`` (hidden: the register ``m_k`` of :func:`modulation` times ``psi``;
    output: the target ``y*``, giving ``(y* - s) << DELTA_SHIFT``). ``u``: the step's
    :func:`current`, when the caller has it already (a memoryless current of an input that
    repeats repeats too; ``t > 0``).

    Returns ``(state, spikes, delta, signal)``; ``signal`` is what the output layer sends the
    feedback projections (``None`` for hidden layers and label-driven feedback).
    """
    if t == 0:
        a_in = xp.zeros_like(a_in)
        state = rest(lp, a_in.shape[0], xp, device(a_in), a_in.dtype)
        u = None
    u, v = integrate(lp, state, a_in, 0, xp, u)
    psi = None if lp.output else surrogate(lp, v, xp)
    v, spikes = fire(v, lp.vth, lp.reset_subtract)
    count = state.count
    if lp.output:
        count = count + xp.astype(spikes, count.dtype)
        delta = output_delta(mod, spikes, xp)
        signal = feedback.signal(mod, spikes, count, t, xp)
    else:
        psi *= mod  # psi is a fresh array: the third factor takes its place
        delta, signal = psi, None
    return NeuronState(u, v, count), spikes, delta, signal


def model_step(model, a_in, mod):
    """:func:`neuron_step` for a Lava ProcessModel of one layer (a batch of one): reads the
    layer's plan and the rule's feedback from its process parameters, its position in the sample
    from its time step, and keeps ``u``, ``v`` and ``count`` in its Vars. Returns ``(spikes,
    delta, signal)``."""
    lp, feedback = model.proc_params["plan"], model.proc_params["feedback"]
    t = step_in_sample(model.time_step, lp.n_steps)
    state = NeuronState(model.u[None], model.v[None], model.count[None])
    a_in, mod = a_in[None], mod[None]
    if lp.fixed:
        state = NeuronState(*(x.astype(np.int64) for x in (state.u, state.v, state.count)))
        a_in, mod = a_in.astype(np.int64), mod.astype(np.int64)
    mod = modulation(lp, mod, NUMPY)
    state, spikes, delta, signal = neuron_step(lp, feedback, state, a_in, mod, t, NUMPY)
    model.u[:], model.v[:], model.count[:] = state.u[0], state.v[0], state.count[0]
    return spikes[0], delta[0], None if signal is None else signal[0]
