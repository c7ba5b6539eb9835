"""Inference speed: batched engine vs the same network as a Lava graph.

A 784-500-10 LIF network (random seeded weights: no rule is trained here) reads MNIST test
images as Bernoulli rate spikes for T=16 steps. The engine runs batches of 256 in float and
fixed point; Lava's simulator (Loihi2SimCfg) runs the same description one sample after another
in a single ``run()`` (SampleLIF neurons resetting between samples, a Monitor on the output
spikes). Prints samples/s for each and the ratio, checks that the output spikes agree, and writes
the figures to ``benchmarks/results/inference_speed.json``.

    .venv/bin/python benchmarks/inference_speed.py --data-dir ../shared/data
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from common import write_results
from lava.magma.core.run_conditions import RunSteps

from lava_plastic.datasets import load_mnist, rate_spikes
from lava_plastic.engine import check_input, simulate
from lava_plastic.lava_graph import build_graph, monitor_data, probe, run_config, stopping
from lava_plastic.network import random_network

def engine_run(net, x, batch):
    start = time.perf_counter()
    counts = np.concatenate([
        simulate(net, x[i : i + batch], record_state=False).spikes[-1].sum(axis=1)
        for i in range(0, len(x), batch)
    ])
    return counts, time.perf_counter() - start


def lava_run(net, x):
    """Returns output spike counts per sample, seconds to build+compile+first step, and
    seconds of steady running."""
    x = check_input(net, x)
    n, steps, _ = x.shape
    start = time.perf_counter()
    graph = build_graph(net, x.reshape(n * steps, -1), sample_steps=steps)
    monitor = probe(graph.neurons[-1].s_out, graph.n_steps)
    with stopping(graph.source, run_config(net.precision)):
        graph.source.run(condition=RunSteps(num_steps=steps), run_cfg=run_config(net.precision))
        setup_s = time.perf_counter() - start
        start = time.perf_counter()
        graph.source.run(condition=RunSteps(num_steps=graph.n_steps - steps),
                         run_cfg=run_config(net.precision))
        run_s = time.perf_counter() - start
        out = monitor_data(monitor)
    return out.reshape(n, steps, -1).sum(axis=1), setup_s, run_s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--engine-samples", type=int, default=10000)
    parser.add_argument("--lava-samples", type=int, default=200)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = load_mnist(args.data_dir)
    x = rate_spikes(data.test_x[: args.engine_samples], args.steps, seed=args.seed)
    results = {"network": "784-500-10 LIF", "steps": args.steps, "batch": args.batch,
               "machine": f"{platform.processor() or platform.machine()}, "
                          f"{__import__('os').cpu_count()} cores", "precisions": {}}
    for precision in ("float", "fixed"):
        net = random_network(np.random.default_rng(args.seed), (784, 500, 10), precision,
                             max_vth=2**12)
        counts, engine_s = engine_run(net, x, args.batch)
        n_lava = args.lava_samples
        lava_counts, setup_s, run_s = lava_run(net, x[:n_lava])
        # The first sample ran during setup; steady rate over the others.
        lava_rate = (n_lava - 1) / run_s
        engine_rate = len(x) / engine_s
        agree = float(np.mean(np.all(lava_counts == counts[:n_lava], axis=1)))
        row = {
            "engine_samples": len(x), "engine_seconds": round(engine_s, 3),
            "engine_samples_per_s": round(engine_rate, 1),
            "lava_samples": n_lava, "lava_setup_seconds": round(setup_s, 3),
            "lava_run_seconds": round(run_s, 3), "lava_samples_per_s": round(lava_rate, 2),
            "lava_steps_per_s": round(lava_rate * args.steps, 1),
            "speedup": round(engine_rate / lava_rate, 1),
            "output_counts_identical_fraction": agree,
            "mean_output_spikes_per_sample": round(float(counts.sum(axis=1).mean()), 2),
        }
        results["precisions"][precision] = row
        print(f"{precision:5s}: engine {engine_rate:9.1f} samples/s ({len(x)} in {engine_s:.2f} s) | "
              f"Lava {lava_rate:7.2f} samples/s ({n_lava - 1} in {run_s:.2f} s, setup "
              f"{setup_s:.2f} s) | engine/Lava = {engine_rate / lava_rate:.0f}x | "
              f"output counts identical for {agree:.0%} of samples")
    write_results("inference_speed", results)


if __name__ == "__main__":
    main()
