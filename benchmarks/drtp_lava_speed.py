"""DRTP in the Lava graph: samples/s while learning, and the cost of learning.

Builds the DRTP graph (SampleSource -> DRTPDense -> DRTPLIF -> ... -> SpikeCounter, with the
label projections) for a 784-500-10 LIF network on MNIST, T=16, and times ``run()`` over the same
samples with learning on and with learning off (the synapses' ``learning`` Var at 0). The ratio
steps/s(learning) / steps/s(no learning) measures what learning costs; Lava's stock LearningDense
gets 0.1-0.2 (../shared/notes/lava-facts.md). Writes ``benchmarks/results/drtp_lava_speed.json``.

    .venv/bin/python benchmarks/drtp_lava_speed.py --data-dir ../shared/data
"""
from __future__ import annotations

import argparse
import time

from common import write_results

from lava_plastic.datasets import load_mnist
from lava_plastic.lava_graph.plastic import PlasticGraph
from lava_plastic.learning import PlasticNetwork, compile_plan, engine
from lava_plastic.rules import DRTP

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--steps", type=int, default=16)
    args = parser.parse_args()

    data = load_mnist(args.data_dir)
    x, y = data.train_x[: args.samples], data.train_y[: args.samples]
    results = {"network": f"784-{args.hidden}-10 LIF", "steps": args.steps,
               "samples": args.samples, "precisions": {}}
    for precision in ("float", "fixed"):
        net = PlasticNetwork((784, args.hidden, 10), n_steps=args.steps, precision=precision)
        plan = compile_plan(net, DRTP(lr=2**-9))
        with PlasticGraph(plan, engine.init_weights(net, 0), x, y) as graph:
            graph.present(0, 1, learning=False)  # compile, start, warm up
            timings = {}
            for learning in (False, True, False, True):
                start = time.perf_counter()
                graph.present(0, args.samples, learning=learning)
                timings.setdefault(learning, []).append(time.perf_counter() - start)
        n_steps = args.samples * args.steps
        off, on = min(timings[False]), min(timings[True])
        row = {"steps_per_s_learning": round(n_steps / on, 1),
               "steps_per_s_no_learning": round(n_steps / off, 1),
               "samples_per_s_learning": round(args.samples / on, 2),
               "learning_ratio": round(off / on, 3)}
        results["precisions"][precision] = row
        print(f"{precision:5s}: learning {row['samples_per_s_learning']:.2f} samples/s "
              f"({row['steps_per_s_learning']:.0f} steps/s), no learning "
              f"{row['steps_per_s_no_learning']:.0f} steps/s, ratio {row['learning_ratio']:.2f}")
    write_results("drtp_lava_speed", results)


if __name__ == "__main__":
    main()
