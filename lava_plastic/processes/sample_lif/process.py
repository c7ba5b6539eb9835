"""A LIF population that starts every sample from rest."""
from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_plastic.errors import LavaPlasticError


class SampleLIF(AbstractProcess):
    """Leaky integrate-and-fire neurons (Lava's ``LIF`` dynamics) for a stream of samples of
    ``sample_steps`` time steps each.

    At the first step of every sample (time steps ``1, 1 + sample_steps, ...``) the neurons
    return to rest, ``u = v = 0``, and the synaptic input arriving in that step is discarded:
    it was sent during the previous sample. A feed-forward graph of these neurons therefore
    treats each sample exactly as a fresh graph would, which is what the batched engine
    computes for every sample of a batch.

    Ports and Vars are those of ``lava.proc.lif.process.LIF``; parameters have the same
    meaning and, in fixed point, the same formats (see :mod:`lava_plastic.fixed_point`).
    """

    def __init__(
        self,
        *,
        shape: ty.Tuple[int, ...],
        sample_steps: int,
        du: float = 0,
        dv: float = 0,
        vth: float = 10,
        bias_mant: ty.Union[float, np.ndarray] = 0,
        bias_exp: ty.Union[float, np.ndarray] = 0,
        name: ty.Optional[str] = None,
    ) -> None:
        if int(sample_steps) != sample_steps or sample_steps < 1:
            raise LavaPlasticError(f"sample_steps must be a positive integer, got {sample_steps}")
        super().__init__(shape=shape, sample_steps=int(sample_steps), name=name)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.u = Var(shape=shape, init=0)
        self.v = Var(shape=shape, init=0)
        self.du = Var(shape=(1,), init=du)
        self.dv = Var(shape=(1,), init=dv)
        self.vth = Var(shape=(1,), init=vth)
        self.bias_mant = Var(shape=shape, init=bias_mant)
        self.bias_exp = Var(shape=shape, init=bias_exp)
