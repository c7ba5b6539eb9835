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

from lava_plastic.rules.base import he_uniform, one_hot
from lava_plastic.rules.feedback import project
from lava_plastic.xp import namespace


@dataclass(frozen=True, eq=False)
class ANNParams:
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]


def init_ann(sizes: tuple[int, ...], seed: int) -> ANNParams:
    """He-uniform weights (as the paper), zero biases."""
    rng = np.random.default_rng([seed, 0xA])
    weights = tuple(he_uniform(rng, (n_out, n_in), fan_in=n_in)
                    for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    return ANNParams(weights, tuple(np.zeros(w.shape[0]) for w in weights))


def forward(params: ANNParams, x: np.ndarray):
    """Returns the list of layer outputs ``y_0 = x, y_1, ..., y_K`` and hidden pre-activations."""
    ys, zs = [x], []
    for k, (w, b) in enumerate(zip(params.weights, params.biases)):
        z = ys[-1] @ w.T + b
        zs.append(z)
        last = k == len(params.weights) - 1
        ys.append(1.0 / (1.0 + np.exp(-z)) if last else np.tanh(z))
    return ys, zs


def directions(rule, bs, params: ANNParams, x, y_star):
    """Algorithm 1's update directions (weights then biases), summed over the batch: hidden
    ``(B_k^T v) ⊙ f'(z_k)`` with ``v`` the rule's feedback vector (``y*``, ``e`` or
    ``sign(e)``), output ``(y* - y_K) / C``."""
    xp = namespace(x)
    ys, zs = forward(params, x)
    n_layers = len(params.weights)
    fed = rule.feedback.vector(y_star, ys[-1], xp)
    dirs_w, dirs_b = [], []
    for k in range(n_layers):
        if k < n_layers - 1:
            delta = project(fed, bs[k], False, xp) * (1.0 - ys[k + 1] ** 2)
        else:
            delta = (y_star - ys[k + 1]) / rule.n_classes
        dirs_w.append(delta.T @ ys[k])
        dirs_b.append(delta.sum(axis=0))
    return tuple(dirs_w) + tuple(dirs_b), ys[-1]


def predict(params: ANNParams, x: np.ndarray, batch: int = 1000) -> np.ndarray:
    return np.concatenate([forward(params, x[i : i + batch])[0][-1].argmax(axis=1)
                           for i in range(0, len(x), batch)])


def train_epoch(rule, bs, params: ANNParams, opt_state, optimizer, x, labels,
                batch_size: int, order):
    """One pass in ``order``: per minibatch, the DRTP directions averaged over the batch (the
    paper's PyTorch losses are batch means) go through ``optimizer``. Returns the new params,
    optimiser state and the fraction of training samples classified right before their update."""
    n_layers = len(params.weights)
    correct = 0
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        y_star = one_hot(labels[idx], rule.n_classes).astype(np.float64)
        dirs, out = directions(rule, bs, params, x[idx], y_star)
        correct += int(np.sum(out.argmax(axis=1) == labels[idx]))
        steps, opt_state = optimizer.step(tuple(d / len(idx) for d in dirs), opt_state)
        params = ANNParams(tuple(w + s for w, s in zip(params.weights, steps[:n_layers])),
                           tuple(b + s for b, s in zip(params.biases, steps[n_layers:])))
    return params, opt_state, correct / len(order)
