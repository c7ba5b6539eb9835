"""Record the DRTP golden file ``drtp_v2.npz``: what today's code learns, to be required after
every later change that must not move the numbers. (v1 was recorded from the DRTP-only code and
required by the rule-generic core unchanged; v2 differs from it only in the fixed-point runs, whose
stochastic-rounding noise now comes from the counter-based generator, lava_plastic.noise.)

    .venv/bin/python tests/golden/make_drtp_golden.py

Per case (a 64-32-10 net with 8 weight bits and a 64-24-16-10 net with 7, T = 8, 16 training
and 8 test digits, lr 2**-8, two epochs of batch 1 in the stored order): the fixed-point weights
after training and the output counts of every sample (while learning and at test time), from
the engine and from the Lava graph; and one float engine run (64-32-10).
"""
from pathlib import Path

import numpy as np

from lava_plastic.datasets import load_digits
from lava_plastic.learning import (PlasticNetwork, compile_plan, init_state, init_weights, predict,
                                   train_epoch)
from lava_plastic.rules import DRTP

CASES = {"two": ((64, 32, 10), 8), "three": ((64, 24, 16, 10), 7)}
N_TRAIN, N_TEST, EPOCHS = 16, 8, 2


def data():
    d = load_digits(seed=0)
    return d.train_x[:N_TRAIN], d.train_y[:N_TRAIN], d.test_x[:N_TEST], d.test_y[:N_TEST]


def engine_run(sizes, weight_bits, precision):
    x, y, xt, yt = data()
    net = PlasticNetwork(sizes, n_steps=8, precision=precision, weight_bits=weight_bits)
    plan = compile_plan(net, DRTP(lr=2**-8, seed=1))
    state = init_state(plan, weights=init_weights(net, seed=2))
    seen, test = [], []
    for _ in range(EPOCHS):
        state, s = train_epoch(plan, state, x, y, 1, None, np.arange(N_TRAIN))
        seen.append(s)
        test.append(predict(plan, state, xt))
    return state.weights, np.stack(seen), np.stack(test)


def lava_run(sizes, weight_bits):
    from lava_plastic.lava_graph.plastic import PlasticGraph  # the engine runs need no Lava

    x, y, xt, yt = data()
    net = PlasticNetwork(sizes, n_steps=8, precision="fixed", weight_bits=weight_bits)
    plan = compile_plan(net, DRTP(lr=2**-8, seed=1))
    seen, test = [], []
    with PlasticGraph(plan, init_weights(net, seed=2), x, y, xt, yt) as graph:
        for _ in range(EPOCHS):
            seen.append(graph.train_epoch())
            test.append(graph.evaluate())
        weights = graph.weights()
    return weights, np.stack(seen), np.stack(test)


def main():
    out = {}
    for name, (sizes, bits) in CASES.items():
        for backend, (weights, seen, test) in (("engine", engine_run(sizes, bits, "fixed")),
                                               ("lava", lava_run(sizes, bits))):
            for k, w in enumerate(weights):
                out[f"{name}_{backend}_fixed_w{k}"] = np.asarray(w, dtype=np.int64)
            out[f"{name}_{backend}_fixed_seen"] = seen
            out[f"{name}_{backend}_fixed_test"] = test
    weights, seen, test = engine_run(*CASES["two"], "float")
    for k, w in enumerate(weights):
        out[f"two_engine_float_w{k}"] = w
    out["two_engine_float_seen"], out["two_engine_float_test"] = seen, test
    path = Path(__file__).with_name("drtp_v2.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {path}: {len(out)} arrays")


if __name__ == "__main__":
    main()
