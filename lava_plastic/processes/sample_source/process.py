"""A data-set source inside the Lava graph."""
from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_plastic.errors import LavaPlasticError


class SampleSource(AbstractProcess):
    """Presents samples one after another, each for ``sample_steps`` time steps.

    ``data``: ``(n_samples, n_features)`` input payloads, sent on ``s_out`` at every step of a
    sample (direct coding; integers for fixed point). ``labels``: ``(n_samples,)`` classes,
    sent one-hot on ``label_out`` at every step of the sample.

    The sample shown next is ``cursor``; it advances by one at every sample start, wrapping to 0
    after the last sample. Set ``cursor`` between runs to present another part of the data
    (e.g. a test split stored after the training split).
    """

    def __init__(
        self,
        *,
        data: np.ndarray,
        labels: np.ndarray,
        n_classes: int,
        sample_steps: int,
        name: ty.Optional[str] = None,
    ) -> None:
        data = np.asarray(data)
        labels = np.asarray(labels)
        if data.ndim != 2 or labels.shape != (data.shape[0],):
            raise LavaPlasticError(f"data must be (n, features) with n labels, got {data.shape} "
                                   f"and {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise LavaPlasticError(f"labels must lie in 0..{n_classes - 1}")
        if int(sample_steps) != sample_steps or sample_steps < 1:
            raise LavaPlasticError(f"sample_steps must be a positive integer, got {sample_steps}")
        super().__init__(n_classes=int(n_classes), sample_steps=int(sample_steps), name=name)
        self.s_out = OutPort(shape=(data.shape[1],))
        self.label_out = OutPort(shape=(int(n_classes),))
        self.data = Var(shape=data.shape, init=data)
        self.labels = Var(shape=labels.shape, init=labels)
        self.cursor = Var(shape=(1,), init=0)
        self.current = Var(shape=(1,), init=0)
