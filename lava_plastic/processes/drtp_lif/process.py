"""LIF neurons that compute DRTP's third factor."""
from __future__ import annotations

import typing as ty

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class DRTPLIF(AbstractProcess):
    """LIF neurons (Lava's LIF arithmetic, no bias) that start every sample of ``sample_steps``
    steps from rest, dropping the synaptic input of the sample's first step, and send DRTP's
    third factor to their plastic synapse every step.

    Ports: ``a_in`` synaptic input; ``mod_in`` the modulatory input (``B^T y*`` through a Dense
    for hidden layers, ``y*`` for the output layer); ``s_out`` spikes; ``delta_out`` the third
    factor (hidden: ``m * psi(v)``; output: ``(y* - s) * 2**DELTA_SHIFT``, see
    :mod:`lava_plastic.rules.drtp`).

    Parameters use the fixed-point description (the float model takes their float limit, see
    :func:`lava_plastic.drtp_network.neuron_params`): ``du``, ``dv`` 12-bit decays, threshold
    ``2**vth_bits`` (17 bits), surrogate half-width ``2**width_shift`` voltage units.
    """

    def __init__(self, *, shape: ty.Tuple[int], sample_steps: int, du: int, dv: int,
                 vth_bits: int, width_shift: int, output: bool,
                 name: ty.Optional[str] = None) -> None:
        super().__init__(sample_steps=int(sample_steps), du=int(du), dv=int(dv),
                         vth_bits=int(vth_bits), width_shift=int(width_shift),
                         output=bool(output), name=name)
        self.a_in = InPort(shape=shape)
        self.mod_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.delta_out = OutPort(shape=shape)
        self.u = Var(shape=shape, init=0)
        self.v = Var(shape=shape, init=0)
