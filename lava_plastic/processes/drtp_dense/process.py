"""The plastic synapse of a DRTP layer."""
from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class DRTPDense(AbstractProcess):
    """Dense synapses that learn with DRTP.

    Every step it sends the input it weighted in the previous step (Lava's Dense delay), reads
    its input ``s_in`` and its neurons' third factor ``delta_in`` and, while ``learning`` is 1,
    records the pair (``delta_in``, its previous input) in row ``t`` of ``step_deltas`` and
    ``step_inputs``. At the last step of each sample of ``sample_steps`` steps it sums the
    outer products of the pairs from the sample's second step on (the first step's input belongs
    to the previous sample) in one product, writes the update into the weights
    (:func:`lava_plastic.drtp_network.apply_update`) and counts it in ``n_updates`` (which seeds
    the fixed-point stochastic rounding).

    ``weights``: ``(n_out, n_in)`` in weight units (fixed point: signed 8 bits). ``weight_exp``:
    output shift. ``graded``: the input is a graded payload rather than spikes. ``lr_shift``:
    the update is ``acc * 2**-lr_shift``. ``seed``, ``layer``: name the rounding noise.
    """

    def __init__(self, *, weights: np.ndarray, weight_exp: int, graded: bool, lr_shift: int,
                 seed: int, layer: int, sample_steps: int, name: ty.Optional[str] = None) -> None:
        super().__init__(weight_exp=int(weight_exp), graded=bool(graded), lr_shift=int(lr_shift),
                         seed=int(seed), layer=int(layer), sample_steps=int(sample_steps),
                         name=name)
        n_out, n_in = np.shape(weights)
        self.s_in = InPort(shape=(n_in,))
        self.delta_in = InPort(shape=(n_out,))
        self.a_out = OutPort(shape=(n_out,))
        self.weights = Var(shape=(n_out, n_in), init=weights)
        self.step_deltas = Var(shape=(int(sample_steps), n_out), init=0)
        self.step_inputs = Var(shape=(int(sample_steps), n_in), init=0)
        self.prev_in = Var(shape=(n_in,), init=0)
        self.a_buff = Var(shape=(n_out,), init=0)
        self.learning = Var(shape=(1,), init=1)
        self.n_updates = Var(shape=(1,), init=0)
