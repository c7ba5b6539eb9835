"""The plastic synapse of every rule."""
from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_plastic.errors import LavaPlasticError
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

    ``rule``, a perturbation rule (NP, LOCO; :mod:`lava_plastic.learning.perturbation`): each
    sample is presented twice (``2 n_steps`` steps, clean then perturbed). The synapse counts
    its input during the clean run (``count``), and at the perturbed run's last step, while
    ``learning`` is 1, records its presynaptic term (the first layer's input, else the count)
    and its neurons' third factor in the row ``n_batch`` of ``batch_pres`` and
    ``batch_deltas``. When the batch is complete, or when learning is switched off with some
    recorded, it writes their update
    (:func:`~lava_plastic.learning.perturbation.layer_update`; LOCO projects the inputs on the
    host, with the direction buffer in ``directions``, ``n_directions`` of its rows in use).
    The batches' sizes are ``batch_sizes``, taken in turn (``batch_index``) and from the first
    again after the last or a write on learning's end: a constant batch size, or an epoch's
    batches of one class, whose last batch per class may be short.
    """

    def __init__(self, *, plan: LayerPlan, weights: np.ndarray, clean: bool = False, rule=None,
                 batch_sizes=(1,), name: ty.Optional[str] = None) -> None:
        if np.shape(weights) != (plan.n_out, plan.n_in):
            raise LavaPlasticError(f"layer {plan.k}: weights must have shape "
                                   f"{(plan.n_out, plan.n_in)}, got {np.shape(weights)}")
        sizes = np.asarray(batch_sizes)
        if sizes.ndim != 1 or not sizes.size or sizes.dtype.kind not in "iu" or sizes.min() < 1:
            raise LavaPlasticError(f"batch sizes must be positive integers, got {batch_sizes!r}")
        super().__init__(plan=plan, clean=bool(clean), rule=rule, name=name)
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
        perturbative = getattr(rule, "perturbative", False)
        rows = int(sizes.max()) if perturbative else 1
        self.batch_sizes = Var(shape=sizes.shape, init=sizes)
        self.batch_index = Var(shape=(1,), init=0)
        self.count = Var(shape=(plan.n_in,), init=0)
        self.batch_pres = Var(shape=(rows, plan.n_in), init=0)
        self.batch_deltas = Var(shape=(rows, plan.n_out), init=0)
        self.n_batch = Var(shape=(1,), init=0)
        buffer = rule.buffer if getattr(rule, "projected", False) else 1
        self.directions = Var(shape=(buffer, plan.n_in), init=0)
        self.n_directions = Var(shape=(1,), init=0)
