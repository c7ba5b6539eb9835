"""The DRTP paper's own non-spiking setting: tanh hidden layers, a sigmoid output layer and a
binary cross-entropy loss (drtp.txt, section 4, Table 1 "FC1-500"), trained with the directions
of a rule of :mod:`lava_plastic.rules.drtp` (DRTP, DFA or sDFA: the rule's feedback vector
through ``B_k``) and an optimiser of :mod:`lava_plastic.optim`. Here the output is graded, so
sDFA's error sign differs from DFA's error.

With biases: ``z_k = W_k y_{k-1} + b_k`` and the bias directions of Algorithm 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lava_plastic.errors import LavaPlasticError
from lava_plastic.rules.base import he_uniform, one_hot
from lava_plastic.rules.feedback import project
from lava_plastic.xp import namespace, to_numpy


@dataclass(frozen=True, eq=False)
class ANNParams:
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]


def init_ann(sizes: tuple[int, ...], seed: int, dtype: str = "float64") -> ANNParams:
    """He-uniform weights (as the paper), zero biases, in ``dtype`` (drawn in float64 either
    way, so float32 starts from the same weights rounded)."""
    rng = np.random.default_rng([seed, 0xA])
    weights = tuple(he_uniform(rng, (n_out, n_in), fan_in=n_in).astype(dtype)
                    for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    return ANNParams(weights, tuple(np.zeros(w.shape[0], dtype=dtype) for w in weights))


def forward(params: ANNParams, x):
    """Returns the list of layer outputs ``y_0 = x, y_1, ..., y_K`` and hidden pre-activations
    (in the namespace and dtype of ``x`` and the parameters)."""
    xp = namespace(x)
    ys, zs = [x], []
    for k, (w, b) in enumerate(zip(params.weights, params.biases)):
        z = ys[-1] @ w.T
        z += b
        zs.append(z)
        last = k == len(params.weights) - 1
        ys.append(1.0 / (1.0 + xp.exp(-z)) if last else xp.tanh(z))
    return ys, zs


def directions(rule, bs, params: ANNParams, x, y_star, scale: float = 1.0):
    """Algorithm 1's update directions (weights then biases), summed over the batch and times
    ``scale``: hidden ``(B_k^T v) ⊙ f'(z_k)`` with ``v`` the rule's feedback vector (``y*``,
    ``e`` or ``sign(e)``), output ``(y* - y_K) / C``."""
    xp = namespace(x)
    ys, zs = forward(params, x)
    n_layers = len(params.weights)
    fed = rule.feedback.vector(y_star, ys[-1], xp)
    dirs_w, dirs_b = [], []
    for k in range(n_layers):
        if k < n_layers - 1:
            delta = project(fed, bs[k], False, xp) * (1.0 - ys[k + 1] ** 2)
            delta *= scale  # on the (batch, n) factor, not the (n, n_in) product
        else:
            delta = (y_star - ys[k + 1]) * (scale / rule.n_classes)
        dirs_w.append(delta.T @ ys[k])
        dirs_b.append(delta.sum(axis=0))
    return tuple(dirs_w) + tuple(dirs_b), ys[-1]


def predict(params: ANNParams, x, batch: int = 1000) -> np.ndarray:
    """The predicted class of each row of ``x`` (numpy)."""
    return np.concatenate([to_numpy(forward(params, x[i : i + batch])[0][-1]).argmax(axis=1)
                           for i in range(0, len(x), batch)])


def train_epoch(rule, bs, params: ANNParams, opt_state, optimizer, x, labels,
                batch_size: int, order):
    """One pass in ``order``: per minibatch, the DRTP directions averaged over the batch (the
    paper's PyTorch losses are batch means) go through ``optimizer``. Computes in the dtype of
    ``x`` (which the parameters must share). Returns the new params, optimiser state (the one
    passed is consumed, as :mod:`lava_plastic.optim` says) and the fraction of training samples
    classified right before their update."""
    xp = namespace(x)
    if any(p.dtype != x.dtype for p in params.weights + params.biases):
        raise LavaPlasticError(f"the parameters must share the inputs' dtype {x.dtype}")
    # One copy per call, then updates in place: the caller's parameters stay as they were.
    weights = [xp.asarray(w, copy=True) for w in params.weights]
    biases = [xp.asarray(b, copy=True) for b in params.biases]
    bs = [xp.astype(xp.asarray(b), x.dtype) for b in bs]
    correct = 0
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        y_star = xp.astype(xp.asarray(one_hot(labels[idx], rule.n_classes)), x.dtype)
        dirs, out = directions(rule, bs, ANNParams(tuple(weights), tuple(biases)), x[idx], y_star,
                               scale=1.0 / len(idx))
        correct += int(np.sum(to_numpy(out).argmax(axis=1) == labels[idx]))
        opt_state = optimizer.step_into(weights + biases, dirs, opt_state)
    return ANNParams(tuple(weights), tuple(biases)), opt_state, correct / len(order)
