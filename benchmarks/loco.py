"""NP and LOCO (../shared/papers/loco.txt): accuracy, continual learning, convergence efficiency
(A.10), alignment with the surrogate gradient, epoch time with the projector's share, fixed
point against float.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loco.py accuracy --data-dir ../shared/data \\
        [--dataset mnist|nettalk|digits] [--rules loco np] [--hidden 500 ...] [--epochs 20] \\
        [--seeds 0] [--precision float|fixed] [--max-train N] [--tag NAME] [--set KEY=VALUE ...]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loco.py continual --data-dir ../shared/data \\
        [--dataset mnist] [--rules loco np drtp] [--epochs 1] [--seeds 0]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loco.py efficiency RESULTS.json [--f0 0.8]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loco.py alignment --data-dir ../shared/data \\
        [--dataset mnist] [--draws 64 256] [--epochs 0 1]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loco.py speed --data-dir ../shared/data \\
        [--rounds 3] [--max-train 6400]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loco.py oracle --data-dir ../shared/data \\
        [--dataset mnist] [--rules loco] [--layers 0] [--projected] [--epochs 10] [--tag NAME]

``accuracy`` trains each rule and seed through :func:`lava_plastic.train.run` (the command
line's defaults for the rule, changed by ``--set``, e.g. ``--set lr=0.0625``) and writes
``benchmarks/results/loco_<dataset>_<tag>.json`` with every epoch's test accuracy; NETtalk's is
A.12's cosine accuracy, with the exact-code accuracy beside it. ``continual`` runs :func:`lava_plastic.train.run_continual` for
each rule and writes the curves and a plot (``loco_continual_<dataset>.json``/``.png``).
``efficiency`` reads an accuracy file holding a LOCO and an NP run and computes eq. 30: the
mean over N = 5 accuracy levels between the lower bound max(min f1, min f2, f0) and the upper
bound min(max f1, max f2) of the first epoch each curve reaches the level, times the rule's
cost per epoch (multiply-accumulates, :func:`macs_per_sample`), and the ratio of NP's mean
epochs to LOCO's (the paper's gamma, 1.60 +- 0.21). ``alignment`` averages each rule's update
over many perturbations of one batch and reports, per layer, its cosine with the surrogate
gradient (:func:`lava_plastic.learning.perturbation.update_alignment`). ``speed`` times the same
slice of an epoch for LOCO and NP in alternation and the time LOCO spends in its projector.
``oracle`` trains with the chosen layers' estimates replaced by the surrogate gradient
(:func:`oracle`): how far each layer's estimate holds a rule back.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from common import RESULTS, write_results
from lava_plastic.learning import compile_plan, engine, perturbation
from lava_plastic.train import (TrainConfig, class_batches, load_data, rule_defaults, run,
                                run_continual)


SHAPES = {"mnist": (784, 10), "nettalk": (189, 26), "digits": (64, 10)}
"""Inputs and outputs of each data set's network."""


def config_for(rule: str, dataset: str, data_dir, epochs: int, seed: int, hidden, precision,
               max_train=None, **changes) -> TrainConfig:
    """The command line's configuration of ``rule`` (its defaults) with ``changes``."""
    defaults = rule_defaults(rule, dataset=dataset, precision=precision)
    values = dict(defaults, rule=rule, dataset=dataset, data_dir=data_dir, epochs=epochs,
                  seed=seed, precision=precision, max_train=max_train, progress=False)
    if hidden:
        values["hidden"] = tuple(hidden)
    values.update(changes)
    return TrainConfig(**values)


def parse_changes(pairs) -> dict:
    """``KEY=VALUE`` pairs as TrainConfig fields (numbers parsed, ``true``/``false``)."""
    changes = {}
    for pair in pairs or ():
        key, _, value = pair.partition("=")
        if value.lower() in ("true", "false"):
            changes[key] = value.lower() == "true"
            continue
        try:
            changes[key] = int(value)
        except ValueError:
            changes[key] = float(value)
    return changes


def accuracy(args):
    runs = []
    for rule in args.rules:
        for seed in args.seeds:
            config = config_for(rule, args.dataset, args.data_dir, args.epochs, seed, args.hidden,
                                args.precision, args.max_train, **parse_changes(args.set))
            start = time.perf_counter()
            results = run(config, log=lambda line: print(f"  {rule} seed {seed}: {line}",
                                                         flush=True))
            runs.append(dict(rule=rule, seed=seed, config=repr(config),
                             sizes=[SHAPES[args.dataset][0], *results["hidden"],
                                    SHAPES[args.dataset][1]],
                             window=results["window"],
                             curve=[h["test_accuracy"] for h in results["history"]],
                             test_accuracy=results["test_accuracy"],
                             best_test_accuracy=results["best_test_accuracy"],
                             **{k: results[k] for k in ("test_code_accuracy",) if k in results},
                             seconds_per_epoch=results["seconds_per_epoch"],
                             wall_seconds=time.perf_counter() - start))
    summary = {}
    for rule in args.rules:
        finals = [r["test_accuracy"] for r in runs if r["rule"] == rule]
        summary[rule] = dict(mean=statistics.mean(finals),
                             sd=statistics.stdev(finals) if len(finals) > 1 else 0.0,
                             min=min(finals), max=max(finals), n=len(finals))
        codes = [r["test_code_accuracy"] for r in runs if r["rule"] == rule and
                 "test_code_accuracy" in r]
        if codes:  # multi-hot targets: the exact-code accuracy beside A.12's cosine accuracy
            summary[rule]["code_mean"] = statistics.mean(codes)
            summary[rule]["code_sd"] = statistics.stdev(codes) if len(codes) > 1 else 0.0
        print(f"{rule}: final test accuracy mean {summary[rule]['mean']:.4f}, sd "
              f"{summary[rule]['sd']:.4f}, range {summary[rule]['min']:.4f}-"
              f"{summary[rule]['max']:.4f} over {len(finals)} seeds")
    write_results(f"loco_{args.dataset}_{args.tag}",
                  dict(dataset=args.dataset, precision=args.precision, runs=runs,
                       summary=summary))


def continual(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {}
    for rule in args.rules:
        for seed in args.seeds:
            config = config_for(rule, args.dataset, args.data_dir, args.epochs, seed, args.hidden,
                                "float", args.max_train, **parse_changes(args.set))
            results = run_continual(config, log=lambda line: print(f"  {rule}: {line}",
                                                                   flush=True))
            curves.setdefault(rule, []).append(results["accuracy_after_class"])
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    summary = {}
    for rule, runs in curves.items():
        mean = np.mean(runs, axis=0)
        summary[rule] = dict(final_mean=float(mean[-1]), finals=[r[-1] for r in runs])
        ax.plot(range(len(mean)), mean, "o-", label=f"{rule.upper()} (final {mean[-1]:.3f})")
        print(f"{rule}: final accuracy over all classes {[round(r[-1], 4) for r in runs]}")
    ax.set_xlabel("class learned")
    ax.set_ylabel("accuracy over the classes seen")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / f"loco_continual_{args.dataset}.png", dpi=120)
    write_results(f"loco_continual_{args.dataset}",
                  dict(dataset=args.dataset, curves=curves, summary=summary))


def macs_per_sample(sizes, n_steps: int, projected: bool, batch: int = 32, rank: int = 10,
                    buffer: int = 50, clusters: int = 10, iterations: int = 10) -> float:
    """Multiply-accumulates per training sample: two runs (the first layer's constant input
    weighted once a run, the others every step), the update ``delta^T x`` and, for LOCO, the
    projector per batch over its samples (Gram ``b^2 n``, directions ``b n k``, k-means ``p c n``
    per iteration, the orthogonal span and Gram-Schmidt ``n (c + k)^2``, the projection
    ``2 b n k``)."""
    forward = sizes[0] * sizes[1] + sum(a * b for a, b in zip(sizes[1:-1], sizes[2:])) * n_steps
    update = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    total = 2 * forward + update
    if projected:
        for n in sizes[:-1]:
            total += (batch**2 * n + batch * n * rank + iterations * buffer * clusters * n
                      + n * (clusters + rank) ** 2 + 2 * batch * n * rank) / batch
    return float(total)


def efficiency_of(curve_a, curve_b, f0: float = 0.8, levels: int = 5):
    """Eq. 30's mean epochs to reach each of ``levels`` accuracy levels for two curves (epochs
    1-based), between max(min f1, min f2, f0) and min(max f1, max f2)."""
    low = max(min(curve_a), min(curve_b), f0)
    high = min(max(curve_a), max(curve_b))
    if low > high:
        raise ValueError(f"the curves share no accuracy range above f0 = {f0}: "
                         f"[{low:.4f}, {high:.4f}]")
    targets = np.linspace(low, high, levels)

    def mean_epochs(curve):
        return float(np.mean([1 + next(i for i, a in enumerate(curve) if a >= level)
                              for level in targets]))

    return mean_epochs(curve_a), mean_epochs(curve_b), targets.tolist()


def efficiency(args):
    results = json.loads(open(args.results).read())
    runs = results["runs"]
    by_rule = {}
    for r in runs:
        by_rule.setdefault(r["rule"], []).append(r)
    pairs = []
    mean_curves = {rule: np.mean([r["curve"] for r in rs], axis=0).tolist()
                   for rule, rs in by_rule.items()}
    mean_run = dict(seed="mean of the seeds' curves", sizes=by_rule["loco"][0]["sizes"],
                    window=by_rule["loco"][0]["window"])
    for loco_run, np_run in [(dict(mean_run, curve=mean_curves["loco"]),
                              dict(mean_run, curve=mean_curves["np"]))] + list(
                                  zip(by_rule["loco"], by_rule["np"])):
        sizes, n_steps = loco_run["sizes"], loco_run["window"]
        try:
            loco_epochs, np_epochs, targets = efficiency_of(loco_run["curve"], np_run["curve"],
                                                            args.f0)
        except ValueError as undefined:  # e.g. LOCO's first epoch beats NP's best
            print(f"seed {loco_run['seed']}: {undefined}")
            pairs.append(dict(seed=loco_run["seed"], undefined=str(undefined)))
            continue
        loco_cost = macs_per_sample(sizes, n_steps, True)
        np_cost = macs_per_sample(sizes, n_steps, False)
        pairs.append(dict(seed=loco_run["seed"], levels=targets, loco_epochs=loco_epochs,
                          np_epochs=np_epochs, gamma=np_epochs / loco_epochs,
                          loco_eff=loco_epochs * loco_cost, np_eff=np_epochs * np_cost))
        print(f"seed {loco_run['seed']}: levels {np.round(targets, 4)}; mean epochs LOCO "
              f"{loco_epochs:.2f}, NP {np_epochs:.2f}; gamma {np_epochs / loco_epochs:.2f}; "
              f"Eff (MAC per sample x epochs) LOCO {loco_epochs * loco_cost:.3g}, NP "
              f"{np_epochs * np_cost:.3g}")
    write_results(args.results.rsplit("/", 1)[-1].replace(".json", "_efficiency"),
                  dict(source=args.results, f0=args.f0, pairs=pairs))


def alignment(args):
    data = load_data(config_for("loco", args.dataset, args.data_dir, 1, 0, args.hidden, "float"))
    rows = {}
    for rule in ("np", "loco"):
        config = config_for(rule, args.dataset, args.data_dir, 1, 0, args.hidden, "float",
                            args.max_train, **parse_changes(args.set))
        net = config.network(data.n_features, data.n_classes)
        plan = compile_plan(net, config.rule_value(data.n_classes), config.batch_size)
        state = engine.init_state(plan)
        rng = np.random.default_rng(0)
        x = data.train_x[: args.max_train] if args.max_train else data.train_x
        y = data.train_y[: len(x)]
        one_class = np.flatnonzero(y == 3)[: config.batch_size]  # LOCO's batch: one class
        payload = engine.encode_input(net, x[one_class])
        targets = np.eye(data.n_classes)[y[one_class]]
        trained = 0
        for epochs in sorted(args.epochs):
            while trained < epochs:
                order = (class_batches(y, config.batch_size, rng) if config.class_batches
                         else rng.permutation(len(y)))
                state, _ = engine.train_epoch(plan, state, x, y, config.batch_size, None, order)
                trained += 1
            for draws in args.draws:
                cosines = perturbation.update_alignment(plan, state.weights, payload, targets,
                                                        draws, state.rule_state)
                row = dict(epochs=epochs, draws=draws, cosine=cosines)
                if plan.rule.projected:  # against the gradient projected as LOCO projects
                    row["cosine_projected"] = perturbation.update_alignment(
                        plan, state.weights, payload, targets, draws, state.rule_state, True)
                rows.setdefault(rule, []).append(row)
                print(f"{rule}, after {epochs} epochs, {draws} perturbations: cosine per layer "
                      f"{np.round(cosines, 3)}"
                      + (f", with the projected gradient {np.round(row['cosine_projected'], 3)}"
                         if "cosine_projected" in row else ""), flush=True)
    write_results(f"loco_alignment_{args.dataset}", dict(dataset=args.dataset, rows=rows))


def speed(args):
    """Paired rounds: LOCO then NP over the same slice of an epoch; LOCO's projector time from
    a wrapper around the host computation."""
    data = load_data(config_for("loco", args.dataset, args.data_dir, 1, 0, args.hidden, "float",
                                args.max_train))
    projector_seconds = [0.0]
    original = perturbation.projector_basis

    def timed(*a, **kw):
        start = time.perf_counter()
        try:
            return original(*a, **kw)
        finally:
            projector_seconds[0] += time.perf_counter() - start

    perturbation.projector_basis = timed
    rounds = []
    for _ in range(args.rounds):
        times = {}
        for rule in ("loco", "np"):
            config = config_for(rule, args.dataset, args.data_dir, 1, 0, args.hidden, "float",
                                args.max_train)
            plan = compile_plan(config.network(data.n_features, data.n_classes),
                                config.rule_value(data.n_classes), config.batch_size)
            state = engine.init_state(plan)
            rng = np.random.default_rng(0)
            order = class_batches(data.train_y, config.batch_size, rng)
            projector_seconds[0] = 0.0
            start = time.perf_counter()
            engine.train_epoch(plan, state, data.train_x, data.train_y, config.batch_size, None,
                               order)
            times[rule] = (time.perf_counter() - start, projector_seconds[0])
        scale = 60000 / len(data.train_x) if args.dataset == "mnist" else 1.0
        rounds.append(dict(loco_seconds=times["loco"][0] * scale,
                           np_seconds=times["np"][0] * scale,
                           projector_seconds=times["loco"][1] * scale,
                           ratio=times["loco"][0] / times["np"][0],
                           projector_share=times["loco"][1] / times["loco"][0]))
        print(f"round {len(rounds)}: LOCO {rounds[-1]['loco_seconds']:.1f} s, NP "
              f"{rounds[-1]['np_seconds']:.1f} s per epoch; LOCO/NP {rounds[-1]['ratio']:.3f}; "
              f"projector {rounds[-1]['projector_share']:.1%} of LOCO's", flush=True)
    perturbation.projector_basis = original
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(f"median over {len(rounds)} rounds: {median}")
    write_results(f"loco_speed_{args.dataset}", dict(rounds=rounds, median=median))


def oracle(args):
    """Train as ``accuracy`` does, with the update of each layer in ``--layers`` replaced by the
    descent direction of the surrogate gradient (:func:`perturbation.surrogate_gradient`; with
    ``--projected``, projected as LOCO projects, ``g Q Q^T``) of the same batch: where a rule
    would learn with a noiseless estimate. The (projected) gradient is scaled by one factor,
    fixed on the first batch, that gives it the norm of the rule's update averaged over 64
    perturbations of that batch, so the learning rate keeps its meaning."""
    original = perturbation.run_batch
    scale = {}

    def with_gradient(plan, weights, payload, targets, rows, learn, directions=(), parallel=None):
        out = original(plan, weights, payload, targets, rows, learn, directions, parallel)
        if not learn:
            return out
        counts, accs, after = out
        gradient = perturbation.surrogate_gradient(plan, weights, np.asarray(payload), targets)
        if args.projected:
            gradient = perturbation.projected_gradient(plan, weights, payload, gradient,
                                                       directions)
        accs = list(accs)
        for k in args.layers:
            g = gradient[k]
            if k not in scale:
                mean = sum(np.asarray(original(plan, weights, payload, targets,
                                               np.asarray(rows) + 10**7 * (draw + 1), True,
                                               directions)[1][k]) for draw in range(64)) / 64
                scale[k] = np.linalg.norm(mean) / np.linalg.norm(g)
            accs[k] = -g * scale[k]
        return counts, tuple(accs), after

    perturbation.run_batch = with_gradient
    try:
        for rule in args.rules:
            config = config_for(rule, args.dataset, args.data_dir, args.epochs, args.seed,
                                args.hidden, "float", args.max_train, **parse_changes(args.set))
            scale.clear()
            results = run(config, log=lambda line: print(f"  {rule}: {line}", flush=True))
            write_results(f"loco_oracle_{args.dataset}_{rule}_{args.tag}",
                          dict(dataset=args.dataset, rule=rule, layers=args.layers,
                               projected=args.projected, config=repr(config),
                               curve=[h["test_accuracy"] for h in results["history"]],
                               train_curve=[h["train_accuracy"] for h in results["history"]]))
    finally:
        perturbation.run_batch = original


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("accuracy", accuracy), ("continual", continual),
                       ("alignment", alignment), ("speed", speed), ("oracle", oracle)):
        p = sub.add_parser(name)
        p.add_argument("--data-dir", default=None)
        p.add_argument("--dataset", default="mnist")
        p.add_argument("--hidden", type=int, nargs="+", default=None)
        p.add_argument("--max-train", type=int, default=None)
        p.add_argument("--set", nargs="*", default=None, help="KEY=VALUE TrainConfig changes")
        p.set_defaults(func=func)
        if name in ("accuracy", "continual"):
            p.add_argument("--rules", nargs="+", default=["loco", "np"] if name == "accuracy"
                           else ["loco", "np", "drtp"])
            p.add_argument("--epochs", type=int, default=20 if name == "accuracy" else 1)
            p.add_argument("--seeds", type=int, nargs="+", default=[0])
        if name == "accuracy":
            p.add_argument("--precision", default="float")
            p.add_argument("--tag", default="run")
        if name == "alignment":
            p.add_argument("--draws", type=int, nargs="+", default=[1, 16, 64, 256])
            p.add_argument("--epochs", type=int, nargs="+", default=[0, 1])
        if name == "speed":
            p.add_argument("--rounds", type=int, default=3)
        if name == "oracle":
            p.add_argument("--rules", nargs="+", default=["loco"])
            p.add_argument("--epochs", type=int, default=10)
            p.add_argument("--seed", type=int, default=0)
            p.add_argument("--layers", type=int, nargs="+", default=[0])
            p.add_argument("--projected", action="store_true")
            p.add_argument("--tag", default="run")
    eff = sub.add_parser("efficiency")
    eff.add_argument("results")
    eff.add_argument("--f0", type=float, default=0.8)
    eff.set_defaults(func=efficiency)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
