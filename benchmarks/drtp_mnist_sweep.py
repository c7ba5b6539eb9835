"""Where DRTP's MNIST accuracy saturates: variants of the 784-500-10 LIF float network.

    .venv/bin/python benchmarks/drtp_mnist_sweep.py --data-dir ../shared/data [--variants a b ...]

Every variant trains the engine in float on all 60,000 training images for ``--epochs`` epochs
(learning rate halved every ``--halving`` epochs) and reports, after each epoch, the test accuracy
of the weights and of the mean of the weights over the epoch's updates (Polyak averaging, a probe
of how much of the error is SGD noise rather than the rule's fixed point). With ``--probe`` it
also fits a logistic regression to the trained hidden layer's spike counts on the training set
and reports its test accuracy: what the learned hidden features support with an ideal linear
readout. The script prints a table and writes ``benchmarks/results/drtp_mnist_sweep.json``.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from common import write_results
from lava_plastic import datasets
from lava_plastic.learning import PlasticNetwork, compile_plan, engine
from lava_plastic.rules import DRTP

BASE = dict(lr=2.0**-8, batch_size=16, psi_width=1.0, steps=16, hidden=500, adam=None)
VARIANTS = {
    "base": {},
    "psi-width-0.5": dict(psi_width=0.5),
    "psi-width-2": dict(psi_width=2.0),
    "steps-32": dict(steps=32),
    "lr-2^-7": dict(lr=2.0**-7),
    "adam-1e-3": dict(adam=1e-3, batch_size=32),
    "hidden-1000": dict(hidden=1000),
}
CHUNK = 10
"""Batches between two samples of the running weight average."""


def train_variant(spec: dict, data, epochs: int, halving: int, seed: int, log) -> dict:
    net = PlasticNetwork((data.n_features, spec["hidden"], data.n_classes), n_steps=spec["steps"])
    rule = DRTP(lr=spec["lr"], n_classes=data.n_classes, seed=seed, psi_width=spec["psi_width"])
    plan = compile_plan(net, rule, spec["batch_size"])
    optimizer = engine.make_optimizer_for(net, "adam", spec["adam"]) if spec["adam"] else None
    state = engine.init_state(plan, engine.init_weights(net, seed), optimizer=optimizer)
    rng = np.random.default_rng([seed, 0x5])
    history = []
    for epoch in range(1, epochs + 1):
        scale = 0.5 ** ((epoch - 1) // halving)
        plan_now = compile_plan(net, replace(rule, lr=rule.lr * scale), spec["batch_size"])
        opt_now = replace(optimizer, lr=optimizer.lr * scale) if optimizer else None
        order = rng.permutation(len(data.train_x))
        mean_weights, n_means = [np.zeros_like(w) for w in state.weights], 0
        start = time.perf_counter()
        for i in range(0, len(order), CHUNK * spec["batch_size"]):
            state, _ = engine.train_epoch(plan_now, state, data.train_x, data.train_y,
                                          spec["batch_size"], opt_now,
                                          order[i : i + CHUNK * spec["batch_size"]])
            mean_weights = [m + w for m, w in zip(mean_weights, state.weights)]
            n_means += 1
        seconds = time.perf_counter() - start
        test = engine.accuracy(engine.predict(plan, state, data.test_x), data.test_y)
        averaged_state = replace(state, weights=tuple(m / n_means for m in mean_weights))
        averaged = engine.accuracy(engine.predict(plan, averaged_state, data.test_x), data.test_y)
        history.append(dict(epoch=epoch, test_accuracy=test, averaged_test_accuracy=averaged,
                            seconds=seconds))
        log(f"epoch {epoch}: test {test:.4f}, epoch-averaged weights {averaged:.4f} ({seconds:.1f} s)")
    return state.weights, dict(spec, epochs=epochs, halving=halving, seed=seed, history=history,
                test_accuracy=history[-1]["test_accuracy"],
                best_test_accuracy=max(h["test_accuracy"] for h in history),
                averaged_test_accuracy=history[-1]["averaged_test_accuracy"])


def hidden_probe(spec: dict, weights, data, seed: int) -> float:
    """Test accuracy of a logistic regression (C = 0.1) on the hidden spike rates."""
    from sklearn.linear_model import LogisticRegression

    hidden = PlasticNetwork((data.n_features, spec["hidden"]), n_steps=spec["steps"])
    plan = compile_plan(hidden, DRTP(n_classes=spec["hidden"], seed=seed, psi_width=spec["psi_width"]))
    state = engine.init_state(plan, (weights[0],))

    def rates(x):
        return engine.predict(plan, state, x) / spec["steps"]

    probe = LogisticRegression(C=0.1, max_iter=300).fit(rates(data.train_x), data.train_y)
    return float(probe.score(rates(data.test_x), data.test_y))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=sorted(VARIANTS))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--halving", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--probe", action="store_true", help="fit a linear readout to the hidden layer")
    args = parser.parse_args()

    data = datasets.load("mnist", args.data_dir, seed=args.seed)
    runs = []
    for name in args.variants:
        print(f"== {name}", flush=True)
        spec = dict(BASE, **VARIANTS[name])
        weights, result = train_variant(spec, data, args.epochs, args.halving, args.seed,
                                        log=lambda line: print("   " + line, flush=True))
        if args.probe:
            result["probe_test_accuracy"] = hidden_probe(spec, weights, data, args.seed)
            print(f"   logistic regression on the hidden rates: {result['probe_test_accuracy']:.4f}")
        runs.append(dict(result, variant=name))
    print(f"\n{'variant':14s} {'test acc':>9s} {'best':>7s} {'averaged':>9s} {'probe':>7s}")
    for r in runs:
        probe = f"{r['probe_test_accuracy']:7.4f}" if "probe_test_accuracy" in r else f"{'-':>7s}"
        print(f"{r['variant']:14s} {r['test_accuracy']:9.4f} {r['best_test_accuracy']:7.4f} "
              f"{r['averaged_test_accuracy']:9.4f} {probe}")
    write_results("drtp_mnist_sweep" + ("_probe" if args.probe else ""), runs)


if __name__ == "__main__":
    main()
