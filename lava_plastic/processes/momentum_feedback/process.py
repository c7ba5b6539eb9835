"""OPZO's momentum feedback connections of one hidden layer."""
from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_plastic.errors import LavaPlasticError
from lava_plastic.learning.plan import LayerPlan


class MomentumFeedback(AbstractProcess):
    """``M_k`` ``(n_k, C)`` of OPZO eqs. 5-6 for hidden layer ``plan.k``: every step it sends
    ``-M e`` of the previous step's error (``m_out``, one step of delay like a Dense), reads
    the error ``e_in`` and the readout's output ``o_in`` and, while ``learning`` is 1, learns
    ``M <- lam M + (1 - lam) z o^T`` from the noise its layer injected ``lag`` steps earlier
    (recomputed from the noise's key and the sample ordinal ``n_samples``: nothing random
    travels on a port) and the output it caused (:func:`lava_plastic.rules.opzo.
    momentum_step`).

    Why a host-side process and not Loihi 2's learning engine: a ``LearningDense`` learns its
    weights from its own pre- and postsynaptic traces, but ``M`` carries ``e`` forward while it
    learns from ``z`` and ``o``, two other signals; and ``lam = 0.99999`` per step is below the
    learning engine's smallest decay step (its decays are 7-bit fractions, so ``1 - lam`` would
    need a ``u``-decimation of the update the rule cannot express). On a chip this is the
    embedded CPU's work (``../shared/notes/lava-learning-engine.md``).

    ``plan``: the hidden layer's :class:`~lava_plastic.learning.plan.LayerPlan`; ``rule``: the
    OPZO value; ``m``: the initial ``M`` (default zero, as after eq. 5).
    """

    def __init__(self, *, plan: LayerPlan, rule, n_classes: int, m=None,
                 name: ty.Optional[str] = None) -> None:
        super().__init__(plan=plan, rule=rule, name=name)
        shape = (plan.n_out, int(n_classes))
        m = np.zeros(shape) if m is None else np.asarray(m)  # fixed point: int64 registers
        if m.shape != shape:
            raise LavaPlasticError(f"M of layer {plan.k} must have shape {shape}, got {m.shape}")
        self.e_in = InPort(shape=(int(n_classes),))
        self.o_in = InPort(shape=(int(n_classes),))
        self.m_out = OutPort(shape=(plan.n_out,))
        self.m = Var(shape=shape, init=m)
        self.m_buff = Var(shape=(plan.n_out,), init=0)
        self.alpha = Var(shape=(1,), init=rule.alpha)
        self.learning = Var(shape=(1,), init=1)
        self.n_samples = Var(shape=(1,), init=0)
