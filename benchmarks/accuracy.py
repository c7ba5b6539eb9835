"""Accuracy benchmarks of the rules (DRTP, DFA, sDFA), each a named preset of training runs.

    .venv/bin/python benchmarks/accuracy.py digits
    .venv/bin/python benchmarks/accuracy.py mnist-lif --data-dir ../shared/data
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/accuracy.py mnist-lif-augment --data-dir ../shared/data
    .venv/bin/python benchmarks/accuracy.py mnist-tanh --data-dir ../shared/data
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/accuracy.py mnist-lif-dfa --data-dir ../shared/data --seed 1
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/accuracy.py mnist-lif-dtype --data-dir ../shared/data

Each run goes through :func:`lava_plastic.train.run` (the ``lava-plastic train`` code path). The
script prints a table and writes ``benchmarks/results/accuracy_<preset>[_seed<S>].json`` with every
run's results (accuracy per epoch, seconds per epoch).
"""
from __future__ import annotations

import argparse

from common import write_results
from lava_plastic.train import TrainConfig, run

DIGITS = dict(dataset="digits", hidden=(100,), steps=16, lr=2.0**-7, epochs=10, seed=0)
TANH = dict(dataset="mnist", model="tanh", hidden=(500,), optimizer="adam", lr=1e-3, batch_size=60,
            epochs=30, seed=0)
MNIST_LIF = dict(dataset="mnist", hidden=(500,), steps=16, lr=2.0**-8, lr_halving=3, batch_size=16,
                 epochs=12, seed=0)
PRESETS = {
    "digits": [
        dict(DIGITS, backend="engine", precision="float"),
        dict(DIGITS, backend="engine", precision="fixed"),
        dict(DIGITS, backend="lava", precision="float", epochs=3),
        dict(DIGITS, backend="lava", precision="fixed", epochs=3),
    ],
    "mnist-lif": [
        dict(MNIST_LIF, precision="float"),
        dict(MNIST_LIF, precision="fixed"),
    ],
    "mnist-lif-augment": [
        dict(MNIST_LIF, precision="float", augment_shift=1, batch_size=64, epochs=15),
        dict(MNIST_LIF, precision="fixed", augment_shift=1, batch_size=64, epochs=15),
    ],
    "mnist-tanh": [dict(TANH)],
    # the float32 training option against float64, three seeds each
    "mnist-lif-dtype": [dict(MNIST_LIF, precision="float", batch_size=64, epochs=4, seed=seed,
                             dtype=dtype)
                        for dtype in ("float64", "float32") for seed in (0, 1, 2)],
    "digits-rules": [dict(DIGITS, rule=rule, backend="engine", precision=precision)
                     for rule in ("dfa", "sdfa") for precision in ("float", "fixed")],
    "mnist-lif-dfa": [dict(MNIST_LIF, rule=rule, precision=precision, augment_shift=1, batch_size=32,
                           lr=2.0**-9, lr_halving=4, epochs=16)
                      for rule in ("dfa", "sdfa") for precision in ("float", "fixed")],
    "mnist-tanh-rules": [dict(TANH, rule=rule) for rule in ("dfa", "sdfa")],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", choices=sorted(PRESETS))
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=None, help="override every run's epochs")
    parser.add_argument("--seed", type=int, default=None, help="override every run's seed")
    parser.add_argument("--precision", choices=("float", "fixed"), default=None,
                        help="only the runs of this precision")
    parser.add_argument("--rule", default=None, help="only the runs of this rule")
    args = parser.parse_args()

    runs = []
    for spec in PRESETS[args.preset]:
        if (args.precision and spec.get("precision", "float") != args.precision
                or args.rule and spec.get("rule", "drtp") != args.rule):
            continue
        if args.epochs:
            spec = dict(spec, epochs=args.epochs)
        if args.seed is not None:
            spec = dict(spec, seed=args.seed)
        config = TrainConfig(data_dir=args.data_dir, progress=False, **spec)
        print(f"== {config.rule} {config.model} {config.hidden} on {config.dataset}, {config.backend}, "
              f"{config.precision} ({config.dtype}), seed {config.seed}, {config.epochs} epochs, lr {config.lr:g}, "
              f"{config.optimizer}, batch {config.batch_size}, augment shift {config.augment_shift}",
              flush=True)
        runs.append(run(config, log=lambda line: print("   " + line, flush=True)))
    print(f"\n{'rule':5s} {'model':6s} {'backend':7s} {'precision':9s} {'dtype':7s} {'seed':>4s} "
          f"{'epochs':>6s} {'test acc':>9s} {'best':>7s} {'s/epoch':>8s}")
    for r in runs:
        print(f"{r['rule']:5s} {r['model']:6s} {r['backend']:7s} {r['precision']:9s} "
              f"{r['dtype']:7s} {r['seed']:4d} {r['epochs']:6d} {r['test_accuracy']:9.4f} "
              f"{r['best_test_accuracy']:7.4f} {r['seconds_per_epoch']:8.1f}")
    suffix = "".join(f"_{name}{value}" for name, value in
                     (("seed", args.seed), ("", args.precision), ("", args.rule)) if value is not None)
    write_results(f"accuracy_{args.preset}{suffix}", runs)


if __name__ == "__main__":
    main()
