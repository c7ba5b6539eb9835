"""What deployment costs in accuracy, and what training would cost on Loihi 2, for every rule
trained in fixed point.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/deploy.py [--dataset digits] [--epochs 10]
        [--seeds 0 1 2] [--folder DIR] [--data-dir DIR]

For each spiking rule and seed: a fixed-point engine run (the command line's defaults for the
rule, ``--epochs`` epochs), its test accuracy as trained, and as exported for netx (the deployed
network's engine inference, which Lava reproduces bit for bit: tests/test_deploy.py), with the
fraction of test samples whose output counts are unchanged. For every rule (seed 0) the Loihi 2
cost per training sample (:mod:`lava_plastic.cost`). Writes ``benchmarks/results/deploy.json``.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np

from common import write_results
from lava_plastic import cost, deploy
from lava_plastic.learning import compile_plan, engine
from lava_plastic.train import TrainConfig, load_data, rule_defaults, run

SPIKING = ("drtp", "dfa", "sdfa", "np", "loco")
ONLINE = ("opzo", "zo", "opzo-dfa")


def train(rule, dataset, epochs, seed, folder, data_dir):
    settings = dict(rule_defaults(rule, "engine", dataset, "fixed"), epochs=epochs)
    config = TrainConfig(rule=rule, dataset=dataset, precision="fixed", seed=seed,
                         out=str(folder / f"{rule}-seed{seed}"), progress=False,
                         data_dir=data_dir, **settings)
    run(config, log=lambda *_: None)
    return Path(config.out), config


def export_accuracy(run_dir, config):
    (net, weights), _ = deploy.trained_network(run_dir)
    data = load_data(config)
    plan = compile_plan(net, config.rule_value(net.n_classes))
    trained = np.asarray(engine.predict(plan, engine.init_state(plan, weights=weights),
                                        data.test_x))
    deployed = deploy.predict(deploy.deploy_run(run_dir), data.test_x)
    return (engine.accuracy(trained, data.test_y), engine.accuracy(deployed, data.test_y),
            float(np.mean(np.all(trained == deployed, axis=1))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folder", default=None)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="deploy-bench-"))
    accuracy, costs = {}, {}
    for rule in SPIKING + ONLINE:
        for seed in (args.seeds if rule in SPIKING else args.seeds[:1]):
            run_dir, config = train(rule, args.dataset, args.epochs, seed, folder, args.data_dir)
            if rule in SPIKING:
                trained, deployed, same = export_accuracy(run_dir, config)
                accuracy.setdefault(rule, []).append(
                    {"seed": seed, "trained": trained, "deployed": deployed, "same_counts": same})
                print(f"{rule} seed {seed}: trained {trained:.4f}, deployed {deployed:.4f}, "
                      f"same counts {same:.3f}", flush=True)
            if seed == args.seeds[0]:
                estimate = cost.estimate(run_dir)
                costs[rule] = estimate["totals"] | {"sizes": estimate["sizes"]}
                print(cost.table(estimate), flush=True)
    summary = {rule: {"trained_mean": statistics.mean(r["trained"] for r in rows),
                      "deployed_mean": statistics.mean(r["deployed"] for r in rows),
                      "cost_mean": statistics.mean(r["trained"] - r["deployed"] for r in rows),
                      "cost_spread": (statistics.stdev(r["trained"] - r["deployed"] for r in rows)
                                      if len(rows) > 1 else 0.0)}
               for rule, rows in accuracy.items()}
    for rule, s in summary.items():
        print(f"{rule}: trained {s['trained_mean']:.4f}, deployed {s['deployed_mean']:.4f}, "
              f"cost {s['cost_mean']*100:+.2f} +- {s['cost_spread']*100:.2f} points")
    write_results("deploy", {"dataset": args.dataset, "epochs": args.epochs,
                                  "accuracy": accuracy, "summary": summary, "cost": costs})


if __name__ == "__main__":
    main()
