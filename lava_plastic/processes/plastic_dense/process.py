"""The plastic synapse of every rule."""
from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_plastic.learning.plan import LayerPlan


class PlasticDense(AbstractProcess):
    """Dense synapses that learn by a three-factor rule (:mod:`lava_plastic.learning.synapse`).

    Every step it sends the input it weighted in the previous step (Lava's Dense delay), reads
    its input ``s_in`` and its neurons' third factor ``delta_in``, updates its presynaptic
    term ``trace`` (:func:`~lava_plastic.learning.synapse.trace_step`: the previous input, or
    OTTT's trace of the inputs so far) and, while ``learning`` is 1, records both in row ``t``
    of ``step_deltas`` and ``step_pres``. At the last step of each sample it pairs each third
    factor with the presynaptic term of ``align`` steps earlier (the wavefront that caused it),
    from the plan's ``first_valid`` step on, in one product (the same integers as step by step,
    within the plan's bound), writes the update into the weights and counts it in
    ``n_updates`` (which keys the fixed-point stochastic rounding).

    ``plan``: the layer's :class:`~lava_plastic.learning.plan.LayerPlan` (the very object the
    engine uses). ``weights``: ``(n_out, n_in)`` in weight units (fixed point: signed 8 bits).
    ``clean``: it also weights a clean pass's input ``s_clean_in`` and sends it on
    ``a_clean_out`` with the same delay (OPZO's two-point estimate, eq. 5).
    """

    def __init__(self, *, plan: LayerPlan, weights: np.ndarray, clean: bool = False,
                 name: ty.Optional[str] = None) -> None:
        if np.shape(weights) != (plan.n_out, plan.n_in):
            raise ValueError(f"layer {plan.k}: weights must have shape {(plan.n_out, plan.n_in)}, "
                             f"got {np.shape(weights)}")
        super().__init__(plan=plan, clean=bool(clean), name=name)
        self.s_in = InPort(shape=(plan.n_in,))
        self.delta_in = InPort(shape=(plan.n_out,))
        self.a_out = OutPort(shape=(plan.n_out,))
        self.s_clean_in = InPort(shape=(plan.n_in,))
        self.a_clean_out = OutPort(shape=(plan.n_out,))
        self.clean_buff = Var(shape=(plan.n_out,), init=0)
        self.weights = Var(shape=(plan.n_out, plan.n_in), init=weights)
        self.step_deltas = Var(shape=(plan.n_steps, plan.n_out), init=0)
        self.step_pres = Var(shape=(plan.n_steps, plan.n_in), init=0)
        self.prev_in = Var(shape=(plan.n_in,), init=0)
        self.trace = Var(shape=(plan.n_in,), init=0)
        self.a_buff = Var(shape=(plan.n_out,), init=0)
        self.learning = Var(shape=(1,), init=1)
        self.n_updates = Var(shape=(1,), init=0)
