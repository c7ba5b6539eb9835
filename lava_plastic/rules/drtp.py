"""DRTP and its baselines DFA and sDFA as rule values (Frenkel, Lefebvre & Bol, "Learning
without feedback: fixed random learning signals allow for feedforward training of deep neural
networks", ../shared/papers/drtp.txt).

Algorithm 1 (DRTP):

* hidden layer k < K:  ``W_k <- W_k + eta * (B_k^T y* ⊙ f_k'(z_k)) y_{k-1}^T``
* output layer K:      ``W_K <- W_K + eta / C * (y* - y_K) y_{K-1}^T``

``y*`` is the one-hot target, ``B_k`` a fixed random ``(C, n_k)`` matrix drawn He-uniform from a
seed (section 4). DFA (Fig. 1C) projects the output error ``e = y* - y_K`` instead of ``y*``, and
sDFA (section 2.1) the error's sign; the output layer learns alike in all three (the BCE
gradient ``(y* - y_K) / C``).

In the spiking network ``f'`` is a triangular surrogate ``psi`` of the pre-reset membrane
potential (:mod:`lava_plastic.rules.base`), ``y_{k-1}`` the presynaptic input of the previous step
(the one that caused the potential: one step of Dense delay) and ``y_K`` the output spikes of
the step. The target and the error reach the layers one step late (through a Dense), so pairs are
formed from a sample's second step on: summed over a sample of ``T`` steps, the output layer's
error is ``(T - 1) y* - c`` with ``c`` the output spike count (the output cannot spike in a
sample's first step, when every neuron is at rest). Updates accumulate over a sample (over a
minibatch in the engine) and are written at its end.

Learning rates are powers of two in both precisions (accumulator shifts on chip): ``lr`` is
rounded per layer to the nearest power of two (:func:`lava_plastic.learning.plan.lr_shift`), the
output layer's ``lr / C`` too, and the surrogate half-width ``psi_width * vth`` likewise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lava_plastic.rules.base import check_hyper_parameters
from lava_plastic.rules.feedback import ErrorProjection, TargetProjection


@dataclass(frozen=True)
class DRTP:
    """The DRTP rule as a value.

    ``lr``: eta of Algorithm 1 (the output layer uses ``lr / n_classes``). ``seed`` draws the
    B matrices. ``surrogate``: the local factor, ``"triangle"`` (the default) or OPZO's
    ``"sigmoid"`` derivative (:data:`~lava_plastic.rules.base.SURROGATES`). ``psi_width``, as a
    fraction of the threshold: the triangle's half-width, or the sigmoid's ``a1`` (at least
    0.25).
    """

    lr: float = 2.0**-7
    n_classes: int = 10
    seed: int = 0
    psi_width: float = 1.0
    surrogate: str = "triangle"

    name: ClassVar[str] = "drtp"
    feedback: ClassVar = TargetProjection()

    def __post_init__(self):
        check_hyper_parameters(self)

    def layer_lr(self, k: int, n_layers: int) -> float:
        """Algorithm 1's learning rate of layer ``k``: ``lr``, and ``lr / C`` at the output."""
        return self.lr / self.n_classes if k == n_layers - 1 else self.lr


@dataclass(frozen=True)
class DFA(DRTP):
    """Direct feedback alignment: hidden layers learn from ``B_k^T (y* - s_K)``."""

    name: ClassVar[str] = "dfa"
    feedback: ClassVar = ErrorProjection(sign=False)


@dataclass(frozen=True)
class SDFA(DRTP):
    """Error-sign-based DFA: hidden layers learn from ``B_k^T sign(e)`` of a graded error (see
    :class:`~lava_plastic.rules.feedback.ErrorProjection`)."""

    name: ClassVar[str] = "sdfa"
    feedback: ClassVar = ErrorProjection(sign=True)
