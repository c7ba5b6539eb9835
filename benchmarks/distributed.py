"""Data-parallel scaling: the same training run as one process and as N ranks (torchrun, gloo,
one BLAS thread per rank), interleaved, on one machine.

    python benchmarks/distributed.py --data-dir ../shared/data [--ranks 2] [--repeats 3] [--batch-size 64]

Trains DRTP 784-500-10 LIF (T = 16) on the first ``--samples`` MNIST images for one epoch, in
float64 and fixed point, and reports the training seconds (results.json), their ratio, and
whether the accuracies are the same. Writes benchmarks/results/distributed_b<batch>.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import write_results  # noqa: E402


def train(ranks: int, precision: str, args, out: Path) -> dict:
    command = ["-m", "lava_plastic.cli", "train", "--dataset", "mnist", "--data-dir", args.data_dir,
               "--hidden", "500", "--batch-size", str(args.batch_size), "--epochs", "1", "--precision", precision,
               "--max-train", str(args.samples), "--max-test", "1000", "--no-progress",
               "--out", str(out)]
    if ranks > 1:
        command = (["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}"]
                   + command + ["--distributed"])
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    subprocess.run([sys.executable] + command, check=True, capture_output=True, env=env)
    return json.loads((out / "results.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--samples", type=int, default=12800)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("float", "fixed"):
            seconds = {1: [], args.ranks: []}
            accuracy = {}
            for repeat in range(args.repeats):
                for ranks in (1, args.ranks):  # interleaved
                    r = train(ranks, precision, args, Path(tmp) / f"{precision}-{ranks}-{repeat}")
                    seconds[ranks].append(r["train_seconds"])
                    accuracy[ranks] = (r["train_accuracy"], r["test_accuracy"])
            ratio = np.array(seconds[1]) / np.array(seconds[args.ranks])
            row = dict(precision=precision, samples=args.samples, ranks=args.ranks,
                       batch_size=args.batch_size,
                       seconds_one=seconds[1], seconds_ranks=seconds[args.ranks],
                       speedup_median=float(np.median(ratio)), speedup_min=float(ratio.min()),
                       speedup_max=float(ratio.max()), accuracy_one=accuracy[1],
                       accuracy_ranks=accuracy[args.ranks],
                       same_accuracy=accuracy[1] == accuracy[args.ranks])
            rows.append(row)
            print(f"{precision}: 1 process {np.median(seconds[1]):.2f} s, {args.ranks} ranks "
                  f"{np.median(seconds[args.ranks]):.2f} s, speed-up {row['speedup_median']:.2f}x "
                  f"[{row['speedup_min']:.2f}, {row['speedup_max']:.2f}], same accuracy "
                  f"{row['same_accuracy']} {accuracy[1]} vs {accuracy[args.ranks]}")
    write_results(f"distributed_b{args.batch_size}", dict(cpu_count=os.cpu_count(), rows=rows))


if __name__ == "__main__":
    main()
