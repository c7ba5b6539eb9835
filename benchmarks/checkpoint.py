"""What a checkpoint costs: its size and the seconds to write (atomically, flushed to disk) and
read it, for the papers' networks, against the time of one training epoch.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/checkpoint.py [--rounds 5] [--folder DIR]

Each network's state is the engine's fresh training state (``engine.init_state``) with the
command line's optimiser for the rule (LOCO: SGD and direction buffers filled to table S2's 50;
OPZO: AdamW's two moments and the feedback matrices ``M``); the median of ``--rounds`` writes and
reads into ``--folder`` (default: a temporary folder) is reported. Writes
``benchmarks/results/checkpoint_cost.json``.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from common import write_results
from lava_plastic import checkpoint
from lava_plastic.learning import compile_plan, engine
from lava_plastic.train import TrainConfig, rule_defaults, run_settings

NETWORKS = {  # rule, data set, layer sizes
    "loco 784-500-10": ("loco", "mnist", (784, 500, 10)),
    "drtp 784-500-10 fixed": ("drtp", "mnist", (784, 500, 10)),
    "opzo 784-800-800-10": ("opzo", "mnist", (784, 800, 800, 10)),
}


def state_of(rule: str, dataset: str, sizes: tuple) -> tuple:
    precision = "fixed" if rule == "drtp" else "float"
    defaults = rule_defaults(rule, dataset=dataset, precision=precision)
    config = TrainConfig(**dict(defaults, rule=rule, dataset=dataset, hidden=sizes[1:-1],
                                precision=precision))
    net = config.network(sizes[0], sizes[-1])
    plan = compile_plan(net, config.rule_value(sizes[-1]), config.batch_size)
    optimizer = engine.make_optimizer_for(net, config.optimizer, config.lr, config.weight_decay)
    state = engine.init_state(plan, config.initial_weights(net), optimizer=optimizer)
    if rule == "loco":  # table S2's buffer of 50 directions per layer, full
        rng = np.random.default_rng(0)
        state = engine.TrainState(state.weights, state.feedback, state.opt_state,
                                  state.n_updates, state.n_samples,
                                  tuple(rng.random((50, n)) for n in sizes[:-1]))
    return config, state


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--folder", default=None)
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        path = Path(folder) / checkpoint.FILE
        for name, (rule, dataset, sizes) in NETWORKS.items():
            config, state = state_of(rule, dataset, sizes)
            point = checkpoint.Checkpoint(config=run_settings(config), data=[0, 0, 0, 0],
                                          epoch=1, batch=0, rng_state={}, history=[],
                                          seconds=0.0, state=state)
            writes, reads = [], []
            for _ in range(args.rounds):
                start = time.perf_counter()
                checkpoint.save(path, point)
                writes.append(time.perf_counter() - start)
                start = time.perf_counter()
                checkpoint.load(path)
                reads.append(time.perf_counter() - start)
            rows[name] = dict(bytes=path.stat().st_size, write_s=statistics.median(writes),
                              read_s=statistics.median(reads))
            print(f"{name}: {rows[name]['bytes'] / 1e6:.1f} MB, write {rows[name]['write_s']:.3f} s, "
                  f"read {rows[name]['read_s']:.3f} s (median of {args.rounds})", flush=True)
    write_results("checkpoint_cost", dict(rounds=args.rounds, networks=rows))


if __name__ == "__main__":
    main()
