"""Optimisers as small frozen values (in the style of optax): ``init(params) -> state`` and
``step(direction, state) -> (delta, state)``.

A learning rule produces an *ascent direction* per weight matrix (DRTP's ``(B^T y*) x^T`` and
``(y* - y) x^T``: Algorithm 1 adds ``eta`` times it). ``SGD`` is Algorithm 1 itself, the on-chip
rule; ``Adam`` is what the DRTP paper trains MNIST with (section 4: "Adam with default
parameters"). Per-layer learning rates are given as scales of each direction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lava_plastic.xp import device, namespace


@dataclass(frozen=True)
class SGD:
    """``delta = lr * direction``."""

    lr: float

    def init(self, params):
        return ()

    def step(self, directions, state):
        return tuple(self.lr * d for d in directions), state


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba) on the ascent direction, default betas and eps. The moments live in
    the parameters' dtype and namespace and are updated in place: a state passed to
    :meth:`step` is consumed."""

    lr: float
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def init(self, params):
        def zeros(p):
            return namespace(p).zeros(p.shape, dtype=p.dtype, device=getattr(p, "device", None))

        return (0, tuple(zeros(p) for p in params), tuple(zeros(p) for p in params))

    def step(self, directions, state):
        count, m, v = state
        count += 1
        c1, c2 = 1 - self.b1**count, 1 - self.b2**count
        deltas = []
        for mi, vi, d in zip(m, v, directions):
            xp = namespace(d)
            delta = xp.empty_like(d)
            flat = [xp.reshape(a, (-1,)) for a in (mi, vi, d, delta)]  # views: m, v, delta are ours
            block = CPU_BLOCK if device(d) == "cpu" else max(1, flat[0].shape[0])
            for start in range(0, flat[0].shape[0], block):
                part = slice(start, start + block)
                self._update(*(a[part] for a in flat), c1, c2, xp)
            deltas.append(delta)
        return tuple(deltas), (count, m, v)

    def _update(self, m, v, d, delta, c1, c2, xp):
        """One block: the moments in place and ``delta``, ``lr (m / c1) / (sqrt(v / c2) + eps)``
        written as ``(lr sqrt(c2) / c1) m / (sqrt(v) + eps sqrt(c2))``, the same value in
        fewer passes."""
        root_c2 = c2**0.5
        scaled = d * (1 - self.b1)
        m *= self.b1
        m += scaled
        square = d * d
        square *= 1 - self.b2
        v *= self.b2
        v += square
        denominator = xp.sqrt(v)
        denominator += self.eps * root_c2
        step = m * (self.lr * root_c2 / c1)
        step /= denominator
        delta[...] = step


CPU_BLOCK = 1 << 14
"""Elements per block of Adam's passes on a CPU: the dozen elementwise passes run block by
block, each block staying in the core's cache, so a parameter matrix streams from memory once
per step instead of once per pass (identical results; the tanh FC1-500 epoch in float64 went
from 5.01 to 4.56 s, benchmarks/tanh_vs_authors.py). A GPU takes each array in one block."""


def make_optimizer(name: str, lr: float):
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"learning rate must be positive, got {lr}")
    if name == "sgd":
        return SGD(lr)
    if name == "adam":
        return Adam(lr)
    raise ValueError(f"unknown optimizer {name!r}; choose sgd or adam")
