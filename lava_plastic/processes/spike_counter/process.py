"""Counts output spikes per sample."""
from __future__ import annotations

import typing as ty

from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class SpikeCounter(AbstractProcess):
    """Counts the spikes received during each sample of ``sample_steps`` steps in row
    ``current`` of ``counts`` (``(n_samples, n)``), which is cleared when its sample starts. Like :class:`SampleSource`, the row of the
    next sample is ``cursor``, which advances at each sample start and can be set between runs;
    set both to the same value to keep rows aligned with samples. ``graded``: sum the values
    received (a readout's outputs) instead of counting the non-zero ones."""

    def __init__(self, *, shape: ty.Tuple[int], n_samples: int, sample_steps: int,
                 graded: bool = False, name: ty.Optional[str] = None) -> None:
        super().__init__(sample_steps=int(sample_steps), graded=bool(graded), name=name)
        self.s_in = InPort(shape=shape)
        self.counts = Var(shape=(int(n_samples),) + tuple(shape), init=0)
        self.cursor = Var(shape=(1,), init=0)
        self.current = Var(shape=(1,), init=0)
