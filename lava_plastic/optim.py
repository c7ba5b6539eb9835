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

from lava_plastic.xp import namespace


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
            # lr * (m / c1) / (sqrt(v / c2) + eps), one pass per operation and no temporaries
            # beyond two (this is a third of a tanh epoch)
            mi *= self.b1
            mi += (1 - self.b1) * d
            vi *= self.b2
            square = d * d
            square *= 1 - self.b2
            vi += square
            denominator = namespace(vi).sqrt(vi)
            denominator *= c2**-0.5
            denominator += self.eps
            delta = mi * (self.lr / c1)
            delta /= denominator
            deltas.append(delta)
        return tuple(deltas), (count, m, v)


def make_optimizer(name: str, lr: float):
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"learning rate must be positive, got {lr}")
    if name == "sgd":
        return SGD(lr)
    if name == "adam":
        return Adam(lr)
    raise ValueError(f"unknown optimizer {name!r}; choose sgd or adam")
