"""Paired, interleaved epoch timings of two source trees of lava-plastic on one machine.

    git worktree add /tmp/lava-plastic-before <commit>
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/paired_speed.py --before /tmp/lava-plastic-before \
        --data-dir ../shared/data

Each configuration trains one epoch through ``lava_plastic.train.run`` (the ``lava-plastic
train`` code path) in a fresh interpreter whose ``PYTHONPATH`` names the tree, alternating
before/after ``--pairs`` times (A B A B ...), so that the machine's load affects both alike. It
prints each pair and the median after/before ratio of seconds per epoch (below 1: faster), and
writes ``benchmarks/results/paired_speed.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from common import write_results

CONFIGS = {
    "mnist-lif-float": dict(dataset="mnist", hidden=(500,), steps=16, lr=2.0**-8, batch_size=64,
                            precision="float"),
    "mnist-lif-fixed": dict(dataset="mnist", hidden=(500,), steps=16, lr=2.0**-8, batch_size=64,
                            precision="fixed"),
    "mnist-tanh": dict(dataset="mnist", model="tanh", hidden=(500,), optimizer="adam", lr=1e-3,
                       batch_size=60),
}
ONE_EPOCH = """
import json, sys
from lava_plastic.train import TrainConfig, run
spec = json.loads(sys.argv[1])
spec["hidden"] = tuple(spec["hidden"])
r = run(TrainConfig(epochs=1, progress=False, **spec), log=lambda line: None)
print(json.dumps(dict(seconds=r["seconds_per_epoch"], test_accuracy=r["test_accuracy"])))
"""


def one_epoch(tree: Path, spec: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "-c", ONE_EPOCH, json.dumps(spec)], env=env, cwd=tree,
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the run in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=Path, help="source tree of the baseline")
    parser.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--max-train", type=int, default=20000)
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=sorted(CONFIGS))
    args = parser.parse_args()
    results = {"before": str(args.before), "after": str(args.after), "pairs": args.pairs,
               "max_train": args.max_train, "omp_threads": os.environ.get("OMP_NUM_THREADS"),
               "configs": {}}
    for name in args.configs:
        spec = dict(CONFIGS[name], data_dir=os.path.abspath(args.data_dir), max_train=args.max_train,
                    max_test=2000)
        rows = []
        for pair in range(args.pairs):
            before = one_epoch(args.before, spec)
            after = one_epoch(args.after, spec)
            rows.append(dict(before=before, after=after, ratio=after["seconds"] / before["seconds"]))
            print(f"{name} pair {pair + 1}: before {before['seconds']:.2f} s, after "
                  f"{after['seconds']:.2f} s, ratio {rows[-1]['ratio']:.3f}", flush=True)
        median = statistics.median(r["ratio"] for r in rows)
        results["configs"][name] = dict(spec=spec, pairs=rows, median_ratio=median)
        print(f"{name}: median after/before {median:.3f}", flush=True)
    write_results("paired_speed", results)


if __name__ == "__main__":
    main()
