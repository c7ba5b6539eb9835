"""Engine speed: one MNIST training epoch of every rule on the core, float64, float32 and fixed
point, beside backprop-through-time of the same spiking network in torch, on one machine.

    OMP_NUM_THREADS=1 .venv-torch/bin/python benchmarks/speed.py --data-dir ../shared/data
    OMP_NUM_THREADS=1 .venv-torch/bin/python benchmarks/speed.py --data-dir ../shared/data --device cuda

Network: 784-500-10 LIF (the engine's neurons: du = 4095, dv = 0, threshold 1 in float
units), T = 16 steps of direct coding, batch 64, the training set's first
``--max-train`` samples (19,200 by default: 300 batches, so the first batches' warm-up weighs
little), timed as seconds per full epoch (60,000 samples, scaled). The configurations run
interleaved, round robin, ``--repeats`` times (the machines are shared and noisy); the table
gives the median, and the ratios the targets name (BPTT over float32, fixed over float64) are
paired within each round.

BPTT: the same network in torch (float32, the same thread count): layer 1's input current
computed once per sample as the engine does, 16 steps of LIF dynamics with the engine's
triangular surrogate derivative, a cross-entropy loss on the output spike counts, backward
through all steps, an SGD step.

FLOPs count the matrix products (2 per multiply-add): the engine computes the first layer's
current once per sample and multiplies its summed third factors once; the output layer every
step. The fraction of peak divides by the float32 (float64 for fixed point, whose largest exact
product, the first layer's update, runs in float64) GEMM rate measured in the same run. Writes ``benchmarks/results/speed.json``,
``speed.md`` and ``speed.png``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from common import RESULTS, write_results
from lava_plastic import datasets
from lava_plastic.learning import PlasticNetwork, compile_plan, engine
from lava_plastic.rules import RULES, make_rule
from lava_plastic.train import engine_template
from lava_plastic.xp import to_numpy

SIZES, STEPS, BATCH, EPOCH = (784, 500, 10), 16, 64, 60_000


def rule_flops(n: int) -> float:
    n_in, hidden, out = SIZES
    first = 2 * 2 * n * n_in * hidden               # forward once + summed update once
    output = 2 * n * STEPS * hidden * out + 2 * n * (STEPS - 1) * hidden * out
    return float(first + output)


def bptt_flops(n: int) -> float:
    n_in, hidden, out = SIZES
    first = 3 * 2 * n * n_in * hidden               # forward, weight grad (input grad skipped)
    output = 3 * 2 * n * STEPS * hidden * out        # forward, weight grad, input grad
    return float(first + output)


def gemm_rate(dtype, template) -> float:
    """GFLOP/s of a 1024^3 matrix product in ``dtype``, best of 5."""
    rng = np.random.default_rng(0)
    a, b = (rng.random((1024, 1024)).astype(dtype) for _ in range(2))
    if template is not None:
        import torch
        a, b = (torch.from_numpy(m).to(template.device) for m in (a, b))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        c = a @ b
        float(c[0, 0])  # waits for an asynchronous device
        best = min(best, time.perf_counter() - start)
    return 2 * 1024**3 / best / 1e9


def time_rule(rule_name, precision, dtype, x, y, template) -> float:
    net = PlasticNetwork(SIZES, n_steps=STEPS, precision=precision)
    plan = compile_plan(net, make_rule(rule_name, lr=2.0**-8, n_classes=10), BATCH)
    state = engine.init_state(plan, template=template, dtype=dtype)
    order = np.random.default_rng(0).permutation(len(x))
    start = time.perf_counter()
    state, _ = engine.train_epoch(plan, state, x, y, BATCH, None, order)
    float(to_numpy(state.weights[0][0, 0]))
    return time.perf_counter() - start


def time_bptt(x, y, template) -> float:
    import torch

    device = "cpu" if template is None else template.device
    torch.manual_seed(0)
    w0 = (torch.rand(SIZES[1], SIZES[0], device=device) - 0.5) * 0.1
    w1 = (torch.rand(SIZES[2], SIZES[1], device=device) - 0.5) * 0.1
    w0.requires_grad_(), w1.requires_grad_()
    xs, ys = torch.from_numpy(x.astype(np.float32)).to(device), torch.from_numpy(y).to(device)

    class Spike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return (v > 1.0).to(v.dtype)

        @staticmethod
        def backward(ctx, grad):
            (v,) = ctx.saved_tensors
            return grad * torch.clamp(1.0 - (v - 1.0).abs(), min=0.0)

    start = time.perf_counter()
    for i in range(0, len(xs), BATCH):
        xb, yb = xs[i : i + BATCH], ys[i : i + BATCH]
        a0 = xb @ w0.t()
        v0 = torch.zeros(len(xb), SIZES[1], device=device)
        v1 = torch.zeros(len(xb), SIZES[2], device=device)
        count = torch.zeros(len(xb), SIZES[2], device=device)
        for _ in range(STEPS):
            v0 = v0 + a0
            s0 = Spike.apply(v0)
            v0 = v0 * (1 - s0)
            v1 = v1 + s0 @ w1.t()
            s1 = Spike.apply(v1)
            v1 = v1 * (1 - s1)
            count = count + s1
        loss = torch.nn.functional.cross_entropy(count, yb)
        g0, g1 = torch.autograd.grad(loss, (w0, w1))
        with torch.no_grad():
            w0 -= 0.01 * g0
            w1 -= 0.01 * g1
    float(w0[0, 0])
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--max-train", type=int, default=19200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu (numpy), torch-cpu, cuda or cuda:N")
    parser.add_argument("--rules", nargs="+", default=sorted(RULES), choices=sorted(RULES))
    args = parser.parse_args()
    template = engine_template(args.device)
    data = datasets.load("mnist", args.data_dir, seed=0)
    x, y = data.train_x[: args.max_train], data.train_y[: args.max_train]
    scale = EPOCH / len(x)
    configs = {}
    for r in args.rules:
        for label, precision, dtype in (("float64", "float", "float64"),
                                        ("float32", "float", "float32"),
                                        ("fixed", "fixed", "float64")):
            configs[f"{r} {label}"] = (precision, dtype,
                                       lambda r=r, p=precision, d=dtype: time_rule(r, p, d, x, y, template))
    configs["bptt float32 (torch)"] = ("float", "float32", lambda: time_bptt(x, y, template))
    seconds = {name: [] for name in configs}
    for _ in range(args.repeats):
        for name, (_, _, run) in configs.items():
            seconds[name].append(run() * scale)
            print(f"{name}: {seconds[name][-1]:.2f} s/epoch", flush=True)
    peaks = {"float32": gemm_rate(np.float32, template), "float64": gemm_rate(np.float64, template)}
    n = EPOCH
    rows = []
    for name, (precision, dtype, _) in configs.items():
        median = statistics.median(seconds[name])
        flops = bptt_flops(n) if name.startswith("bptt") else rule_flops(n)
        peak = peaks["float64" if precision == "fixed" else dtype]
        rows.append(dict(config=name, seconds_per_epoch=median, runs=seconds[name],
                         gflop=flops / 1e9, gflop_per_s=flops / median / 1e9,
                         fraction_of_peak=flops / median / 1e9 / peak))
    results = dict(device=args.device, threads=os.environ.get("OMP_NUM_THREADS"),
                   max_train=args.max_train, repeats=args.repeats, batch=BATCH, steps=STEPS,
                   gemm_gflop_per_s=peaks, rows=rows)
    lines = [f"| configuration | s/epoch (median of {args.repeats}) | GFLOP | GFLOP/s | of GEMM peak |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['config']} | {r['seconds_per_epoch']:.2f} | {r['gflop']:.1f} | "
              f"{r['gflop_per_s']:.1f} | {100 * r['fraction_of_peak']:.1f}% |" for r in rows]
    lines.append(f"\nGEMM peak: float32 {peaks['float32']:.0f}, float64 {peaks['float64']:.0f} "
                 f"GFLOP/s; device {args.device}, OMP_NUM_THREADS={results['threads']}")
    # Paired ratios: the configurations of one round ran back to back.
    bptt = np.array(seconds["bptt float32 (torch)"])
    lines += ["", "| rule | BPTT / float32 (paired, median [min, max]) | fixed / float64 |",
              "|---|---|---|"]
    ratios = {}
    for r in args.rules:
        over_bptt = bptt / np.array(seconds[f"{r} float32"])
        fixed_over_float = np.array(seconds[f"{r} fixed"]) / np.array(seconds[f"{r} float64"])
        ratios[r] = dict(bptt_over_float32=over_bptt.tolist(),
                         fixed_over_float64=fixed_over_float.tolist())
        lines.append(f"| {r} | {np.median(over_bptt):.2f}x [{over_bptt.min():.2f}, "
                     f"{over_bptt.max():.2f}] | {np.median(fixed_over_float):.2f}x "
                     f"[{fixed_over_float.min():.2f}, {fixed_over_float.max():.2f}] |")
    results["paired_ratios"] = ratios
    write_results("speed", results)
    (RESULTS / "speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1))
    ax.barh([r["config"] for r in rows], [r["seconds_per_epoch"] for r in rows])
    ax.set_xlabel("seconds per MNIST epoch")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(RESULTS / "speed.png", dpi=120)


if __name__ == "__main__":
    main()
