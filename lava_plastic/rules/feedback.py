"""Where a hidden layer's third factor comes from: fixed random projections of a
``n_classes``-vector through ``B_k`` (shape ``(C, n_k)``), one per hidden layer.

* :class:`TargetProjection` (DRTP): the one-hot target ``y*``, straight from the data source.
* :class:`ErrorProjection` (DFA, sDFA): a signal the output neurons compute every step from their
  own spikes and the target, the error ``e = y* - s_K`` or the sign of a graded error.

In the Lava graph a stock ``Dense(B_k^T)`` carries the vector to layer ``k``'s modulatory input,
so layer ``k`` receives at step ``t`` the projection of the vector sent at step ``t - 1``; the
engine keeps that delay. ``source`` names where the vector is sent from: ``"label"`` (the
source's label port) or ``"output"`` (the output neurons' signal port).

Every function is pure over arrays with a leading batch axis and an array namespace ``xp``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lava_plastic import fixed_point as fp
from lava_plastic.errors import LavaPlasticError
from lava_plastic.rules.base import B_SHIFT, he_uniform


def projection_matrices(seed: int, n_classes: int, hidden_sizes) -> tuple[np.ndarray, ...]:
    """The fixed random ``B_k`` of shape ``(n_classes, n_k)`` for each hidden layer, drawn
    He-uniform from ``seed`` (fan-in ``n_k``, as PyTorch computes it for a ``(C, n_k)`` tensor;
    DRTP paper, section 4)."""
    rng = np.random.default_rng([seed, 0xB])
    return tuple(he_uniform(rng, (n_classes, n), fan_in=n) for n in hidden_sizes)


def quantize_projection(b) -> np.ndarray:
    """B in signed 8 bits: ``round(B * 2**B_SHIFT)`` (round half to even); He-uniform bounds
    keep every entry below 1 in magnitude, so nothing saturates for n_k >= 7."""
    q = np.rint(np.asarray(b) * 2**B_SHIFT).astype(np.int64)
    if q.size and (q.min() < -128 or q.max() > 127):
        raise LavaPlasticError("B entries do not fit signed 8 bits (|B| must stay below 1)")
    return q


def projection_weights(bs, n_classes: int, hidden_sizes, fixed: bool) -> tuple[np.ndarray, ...]:
    """The projection matrices in modulation units, ``B * 2**B_SHIFT`` (rounded to signed 8
    bits in fixed point), after checking there is one ``(n_classes, n_k)`` matrix per hidden
    layer."""
    if len(bs) != len(hidden_sizes):
        raise LavaPlasticError(f"need {len(hidden_sizes)} B matrices, got {len(bs)}")
    for b, n in zip(bs, hidden_sizes):
        if np.shape(b) != (n_classes, n):
            raise LavaPlasticError(f"B must have shape ({n_classes}, {n}), got {np.shape(b)}")
        if not np.all(np.isfinite(b)):
            raise LavaPlasticError("B holds NaN or infinite values")
    if fixed:
        return tuple(quantize_projection(b) for b in bs)
    return tuple(np.asarray(b, dtype=np.float64) * 2**B_SHIFT for b in bs)


def project(vector, b, fixed: bool, xp):
    """``B_k^T v`` for each row: ``(batch, C) @ (C, n_k) -> (batch, n_k)``; exact integers in
    fixed point, int32 (|v| <= 1 and 8-bit B keep every sum far below 2**24)."""
    if fixed:
        return fp.exact_int_matmul(vector, b, "float32", xp, result="int32")
    return vector @ b


@dataclass(frozen=True)
class TargetProjection:
    """DRTP (Algorithm 1): ``m_k = B_k^T y*``; the target is the surrogate of the error sign
    (DRTP paper, section 2.3), so the output sends nothing."""

    source = "label"

    def vector(self, y_star, y, xp):
        """The projected vector for target ``y_star`` and graded output ``y``: the target."""
        return y_star

    def signal(self, y_star, spikes, count, t: int, xp):
        return None


@dataclass(frozen=True)
class ErrorProjection:
    """DFA (DRTP paper, Fig. 1C): ``m_k = B_k^T e`` with the output error of the step,
    ``e[t] = y* - s_K[t]``.

    sDFA (``sign=True``, DRTP paper, section 2.1): ``m_k = B_k^T sign(e)``. With binary spikes
    and a one-hot target ``y* - s_K[t]`` is already in {-1, 0, 1}, so its sign is itself and
    sDFA would be DFA. The paper's error is graded (a sigmoid output in (0, 1)); the spiking
    analogue used here is the error of the output's firing rate so far in the sample,
    ``e[t] = y* - c[t] / t`` with ``c[t]`` its spike count up to step ``t``, whose sign needs no
    division: ``sign(t * y* - c[t])``. The target class thus gets +1 until it has fired at
    every step, a non-target class -1 once it has fired at all (0 while silent): the error
    magnitude is dropped, as in the paper.

    The target reaches the output neurons one step late (through a Dense), so at a sample's
    first step the signal is 0.
    """

    sign: bool = False
    source = "output"

    def vector(self, y_star, y, xp):
        """The projected vector for target ``y_star`` and output ``y``: ``e = y* - y``, or
        ``sign(e)``."""
        e = y_star - xp.astype(y, y_star.dtype)
        return xp.sign(e) if self.sign else e

    def signal(self, y_star, spikes, count, t: int, xp):
        """What the output neurons send at step ``t``: :meth:`vector` of the step's spikes, or
        for sDFA of the rate so far, as ``sign(t y* - c) = sign(y* - c / t)``."""
        if t == 0:
            return xp.zeros_like(y_star)
        if self.sign:
            return self.vector(t * y_star, count, xp)
        return self.vector(y_star, spikes, xp)
