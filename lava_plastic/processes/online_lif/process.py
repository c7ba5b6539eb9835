"""The hidden neuron of the online rules (OPZO, ZO_sp, OPZO-DFA): OTTT's LIF with noise."""
from __future__ import annotations

import typing as ty

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_plastic.learning.plan import LayerPlan


class OnlineLIF(AbstractProcess):
    """Hidden OTTT neurons (OPZO eq. 1: leak, reset by subtraction) that start every sample from
    rest, dropping the synaptic input of its first step (:func:`lava_plastic.learning.online.
    hidden_step`). While ``learning`` is 1 they inject the keyed noise ``alpha z`` (recomputed
    from the rule's seed, the layer, the step and the sample's ordinal ``n_samples``, so
    nothing random travels on a port), drop out with their sample's keyed mask, and send their
    plastic synapse the third factor of eq. 7 formed from the modulatory input and the
    surrogate (and noise) of ``align`` steps earlier, kept in ``psi_line`` and ``z_line`` (this
    step's and the ``align`` before)
    (:func:`lava_plastic.learning.online.hidden_delta`).

    Ports: ``a_in`` synaptic input; ``mod_in`` the modulatory input (OPZO: ``-M e`` from its
    :class:`~lava_plastic.processes.momentum_feedback.process.MomentumFeedback`; DFA: ``-B^T e``
    through a Dense; ZO_sp: the loss through a Dense); ``s_out`` the activity (graded with
    activity noise); ``delta_out`` the third factor; with OPZO's two-point estimate (eq. 5) a
    clean pass beside, without noise (``a_clean_in``, ``s_clean_out``, ``u_clean``,
    ``v_clean``). Vars: ``u``, ``v``; ``alpha`` (the noise scale, set per epoch); ``mask``;
    ``learning``; ``n_samples``.

    ``plan``: the layer's :class:`~lava_plastic.learning.plan.LayerPlan`; ``rule``: the rule
    value; ``dropout``: the dropout rate.
    """

    def __init__(self, *, plan: LayerPlan, rule, dropout: float = 0.0,
                 name: ty.Optional[str] = None) -> None:
        super().__init__(plan=plan, rule=rule, dropout=float(dropout), name=name)
        shape = (plan.n_out,)
        self.mod_in = InPort(shape=shape)
        self.delta_out = OutPort(shape=shape)
        self.a_clean_in = InPort(shape=shape)
        self.s_clean_out = OutPort(shape=shape)
        self.u_clean = Var(shape=shape, init=0)
        self.v_clean = Var(shape=shape, init=0)
        add_online_neuron_state(self, plan, rule)


def add_online_neuron_state(proc: AbstractProcess, plan: LayerPlan, rule) -> None:
    """What every online hidden neuron process has, whatever carries its modulation and third
    factor: ``a_in``, ``s_out`` and the state the step (:func:`lava_plastic.processes.
    online_lif.models.hidden_spk`) keeps."""
    shape = (plan.n_out,)
    proc.a_in = InPort(shape=shape)
    proc.s_out = OutPort(shape=shape)
    proc.u = Var(shape=shape, init=0)
    proc.v = Var(shape=shape, init=0)
    proc.psi_line = Var(shape=(plan.align + 1, plan.n_out), init=0)
    proc.z_line = Var(shape=(plan.align + 1, plan.n_out), init=0)
    proc.mask = Var(shape=shape, init=0)
    proc.alpha = Var(shape=(1,), init=rule.alpha)
    proc.learning = Var(shape=(1,), init=1)
    proc.n_samples = Var(shape=(1,), init=0)
