"""Optimisers as small frozen values (in the style of optax): ``init(params) -> state`` and
``step_into(params, directions, state) -> state``, which adds the step to parameters the caller
owns in place (optax returns the updates; applying them in place saves a pass over every
parameter and an array per step, a fifth of the tanh network's epoch).

A learning rule produces an *ascent direction* per weight matrix (DRTP's ``(B^T y*) x^T`` and
``(y* - y) x^T``: Algorithm 1 adds ``eta`` times it). ``SGD`` is Algorithm 1 itself, the on-chip
rule; ``Adam`` is what the DRTP paper trains MNIST with (section 4: "Adam with default
parameters"). Per-layer learning rates are given as scales of each direction.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lava_plastic.errors import LavaPlasticError
from lava_plastic.xp import blocks, namespace


@dataclass(frozen=True)
class SGD:
    """``delta = lr * direction``."""

    lr: float

    def init(self, params):
        return ()

    def step_into(self, params, directions, state):
        """``params += lr * directions`` in place (arrays the caller owns)."""
        for p, d in zip(params, directions):
            p += self.lr * d
        return state


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba) on the ascent direction, default betas and eps.

    The moments live in the parameters' dtype and namespace, updated in place (a state passed
    to :meth:`step_into` is consumed), and are kept scaled, ``m / (1 - b1)`` and
    ``v / (1 - b2)``: their moving averages are then ``b m + d`` and ``b v + d^2``, two passes
    fewer per step, and the constant factors move into the step's scalar. The passes run block
    by block on a CPU (:func:`lava_plastic.xp.blocks`; the same bits as whole arrays).

    Every :data:`FLUSH_EVERY` steps, moments below ``2**FLUSH_MARGIN_BITS`` times the dtype's
    smallest normal number are set to zero. The first moment of a weight whose input is rarely
    non-zero (an MNIST border pixel) decays geometrically and would turn subnormal after a few
    hundred steps, where x86 arithmetic runs about a hundred times slower (the tanh network's
    float32 epoch went from 1.9 s to 2.25 s by its third epoch); it takes far longer than
    ``FLUSH_EVERY`` steps to fall through the margin. A flushed first moment would have moved
    its weight by less than ``1e-10 * lr``; a flushed second moment changes the step's
    denominator, at least ``eps``, by under 1%."""

    lr: float
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def init(self, params):
        def zeros(p):
            return namespace(p).zeros(p.shape, dtype=p.dtype, device=getattr(p, "device", None))

        return (0, tuple(zeros(p) for p in params), tuple(zeros(p) for p in params))

    def step_into(self, params, directions, state):
        """Adds the step to ``params`` in place (arrays the caller owns), in the same blocks
        as the moments (no step arrays, no separate pass). Returns the new state."""
        count, m, v = state
        count += 1
        # lr (m / c1) / (sqrt(v / c2) + eps) with m = (1 - b1) m~, v = (1 - b2) v~:
        # scale * m~ / (sqrt(v~) + eps * root), root = sqrt(c2 / (1 - b2))
        c1, c2 = 1 - self.b1**count, 1 - self.b2**count
        root = (c2 / (1 - self.b2)) ** 0.5
        scale, floor = self.lr * (1 - self.b1) * root / c1, self.eps * root
        for p, mi, vi, d in zip(params, m, v, directions):
            xp = namespace(d)
            flat = [xp.reshape(a, (-1,)) for a in (p, mi, vi, d)]  # views: p, m, v are owned
            margin = xp.finfo(d.dtype).smallest_normal * 2.0**FLUSH_MARGIN_BITS
            for part in blocks(flat[0].shape[0], d):
                self._update(*(a[part] for a in flat), scale, floor, xp)
                if count % FLUSH_EVERY == 0:
                    for moment in (flat[1][part], flat[2][part]):
                        moment *= xp.abs(moment) >= margin
        return count, m, v

    def _update(self, p, m, v, d, scale, floor, xp):
        """One block: the scaled moments in place, then ``p += scale * m / (sqrt(v) + floor)``."""
        m *= self.b1
        m += d
        square = d * d
        v *= self.b2
        v += square
        step = xp.sqrt(v)
        step += floor
        step = m / step
        step *= scale
        p += step


@dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch's ``AdamW``, the OPZO
    paper's optimiser): each step first shrinks the parameters, ``p *= 1 - lr *
    weight_decay``, then adds Adam's step. ``weight_decay`` is per unit of ``lr``, so that
    with ``lr`` in weight units (``lr_real * 2**weight_bits``) it is ``weight_decay_real *
    2**-weight_bits``, and a schedule that scales ``lr`` scales the decay with it."""

    weight_decay: float = 0.0

    def step_into(self, params, directions, state):
        if self.weight_decay:
            for p in params:
                p *= 1 - self.lr * self.weight_decay
        return super().step_into(params, directions, state)


def cosine_lr(lr: float, epoch: int, epochs: int) -> float:
    """The learning rate of ``epoch`` (1-based) of ``epochs`` annealed on a cosine from ``lr``
    towards 0 (PyTorch's ``CosineAnnealingLR`` with ``T_max = epochs``, stepped per epoch)."""
    return lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))


FLUSH_EVERY = 64
"""Steps between two flushes of the moments that approach the subnormal range (:class:`Adam`)."""
FLUSH_MARGIN_BITS = 64
"""Moments below ``2**64`` times the smallest normal number are flushed: a first moment needs
over 400 steps (``0.9**421 < 2**-64``) to fall from there into the subnormal range."""


OPTIMIZERS = ("sgd", "adam", "adamw")


def make_optimizer(name: str, lr: float, weight_decay: float = 0.0):
    """The optimiser called ``name`` (:data:`OPTIMIZERS`); ``weight_decay`` per unit of ``lr``
    (AdamW only)."""
    if not (np.isfinite(lr) and lr > 0):
        raise LavaPlasticError(f"learning rate must be positive, got {lr}")
    if not (np.isfinite(weight_decay) and weight_decay >= 0):
        raise LavaPlasticError(f"weight decay must be a non-negative number, got {weight_decay}")
    if weight_decay and name != "adamw":
        raise LavaPlasticError("weight decay is an option of adamw")
    if name == "sgd":
        return SGD(lr)
    if name == "adam":
        return Adam(lr)
    if name == "adamw":
        return AdamW(lr, weight_decay=weight_decay)
    raise LavaPlasticError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
