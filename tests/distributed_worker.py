"""One rank of the data-parallel tests (``torchrun ... tests/distributed_worker.py OUT DEVICE``):
trains the cases of :data:`CASES` with its share of every batch and writes what it ends with
to ``OUT/rank<R>.npz``. :func:`train_case` without ``parallel`` is the single-process reference."""
import sys
from pathlib import Path

import numpy as np

from lava_plastic.datasets import load_digits
from lava_plastic.learning import PlasticNetwork, compile_plan, engine, parallel as dp
from lava_plastic.xp import to_numpy
from lava_plastic.rules import make_rule
from lava_plastic.train import engine_template

BATCH = 8
N_TRAIN = 8 * 12 + 1
"""Twelve full batches and a final batch of one row, which one rank gets none of."""
CASES = [("drtp", "fixed", "sgd"), ("dfa", "fixed", "sgd"), ("drtp", "float", "sgd"),
         ("sdfa", "float", "adam"), ("opzo", "float", "adamw"), ("np", "fixed", "sgd"),
         ("loco", "fixed", "sgd"), ("loco", "float", "sgd")]
ONLINE = dict(reset="subtract", dv=2048, output="readout")
"""OPZO's network (the online rules train with noise, dropout and M across the ranks)."""


def train_case(rule_name, precision, optimizer_name, template=None, parallel=None):
    data = load_digits(seed=0)
    x, y = data.train_x[:N_TRAIN], data.train_y[:N_TRAIN]
    online = rule_name == "opzo"
    net = PlasticNetwork((64, 32, 24, 10), n_steps=8, precision=precision, weight_bits=7,
                         **(ONLINE if online else {}))
    extra = dict(momentum=0.9) if online else {}
    if rule_name in ("np", "loco"):  # LOCO's projector sees the whole batch on every rank
        extra = dict(sigma=0.5, **(dict(rank=4, class_batches=False) if rule_name == "loco"
                                   else {}))
    plan = compile_plan(net, make_rule(rule_name, lr=2**-6, seed=3, **extra), BATCH)
    optimizer = engine.make_optimizer_for(net, optimizer_name, 1e-3)
    state = engine.init_state(plan, optimizer=optimizer, template=template)
    options = dict(alpha=0.2, dropout=0.2) if online else {}
    seen = []
    for epoch in range(2):
        order = np.random.default_rng(epoch).permutation(len(x))
        state, s = engine.train_epoch(plan, state, x, y, BATCH, optimizer, order, parallel,
                                      **options)
        seen.append(s)
    test = engine.predict(plan, state, data.test_x[:101], batch_size=40, parallel=parallel)
    learnt = state.weights + (state.feedback if online else ())  # OPZO: M too
    return [to_numpy(w) for w in learnt], np.stack(seen), to_numpy(test)


def main(out: str, device: str) -> None:
    parallel = dp.open_group(device)
    try:
        template = engine_template(dp.local_device(device))
        arrays = {}
        for case in CASES:
            weights, seen, test = train_case(*case, template=template, parallel=parallel)
            name = "-".join(case)
            arrays.update({f"{name}/w{k}": w for k, w in enumerate(weights)})
            arrays[f"{name}/seen"], arrays[f"{name}/test"] = seen, test
        np.savez(Path(out) / f"rank{parallel.rank}.npz", **arrays)
    finally:
        dp.close_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
