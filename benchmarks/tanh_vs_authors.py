"""The DRTP paper's tanh network (FC1-500, sigmoid output, BCE, Adam, batch 60): one training
epoch of our engine against the authors' PyTorch training loop, interleaved, on one machine.

    git clone https://github.com/ChFrenkel/DirectRandomTargetProjection /tmp/drtp-authors
    OMP_NUM_THREADS=1 python benchmarks/tanh_vs_authors.py --authors /tmp/drtp-authors --data-dir ../shared/data

The authors' ``train.train_epoch`` runs on pre-built batches (its per-image torchvision loader
alone costs more than the training), with torch on one thread; ours is
``lava_plastic.ann.train_epoch`` as ``lava-plastic train --model tanh`` runs it (float64, and
``--dtype float32``). Both train 784-500-10 with DRTP directions through Adam (lr 1e-3).
Writes benchmarks/results/tanh_vs_authors.json.
"""
import argparse
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import write_results  # noqa: E402

BATCH, LR = 60, 1e-3


def authors_epoch(authors: Path, x: np.ndarray, labels: np.ndarray):
    """A closure timing one epoch of the authors' loop on pre-built float32 batches."""
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, str(authors))
    import models
    import train as authors_train

    torch.set_num_threads(1)
    authors_train.tqdm = lambda batches: batches  # no progress bar
    torch.manual_seed(42)
    model = models.NetworkBuilder("FC_500_FC_10", input_size=28, input_channels=1,
                                  label_features=10, train_batch_size=BATCH, train_mode="DRTP",
                                  dropout=0, conv_act="none", hidden_act="tanh",
                                  output_act="sigmoid", fc_zero_init=False, loss="BCE",
                                  device="cpu")
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    images = torch.from_numpy(x.astype(np.float32)).reshape(-1, 1, 28, 28)
    targets = torch.from_numpy(labels.astype(np.int64))
    batches = [(images[i : i + BATCH], targets[i : i + BATCH]) for i in range(0, len(x), BATCH)]
    args = SimpleNamespace(freeze_conv_layers=False, regression=False, label_features=10)

    def epoch():
        authors_train.train_epoch(args, model, "cpu", batches, optimizer, (F.binary_cross_entropy, lambda t: t))

    def accuracy():
        with torch.no_grad():
            out = model(images.reshape(len(x), 1, 28, 28), None)
        return float((out.argmax(1) == targets).float().mean())

    return epoch, accuracy


def ours_epoch(x: np.ndarray, labels: np.ndarray, dtype: str):
    from lava_plastic import ann
    from lava_plastic.optim import make_optimizer
    from lava_plastic.rules import make_rule
    from lava_plastic.rules.feedback import projection_matrices

    rule = make_rule("drtp", lr=LR, n_classes=10, seed=0)
    params = ann.init_ann((784, 500, 10), seed=0, dtype=dtype)
    bs = projection_matrices(rule.seed, 10, (500,))
    optimizer = make_optimizer("adam", LR)
    state = {"params": params, "opt": optimizer.init(params.weights + params.biases)}
    xs = x.astype(dtype)
    order = np.arange(len(x))

    def epoch():
        state["params"], state["opt"], _ = ann.train_epoch(rule, bs, state["params"], state["opt"],
                                                           optimizer, xs, labels, BATCH, order)

    def accuracy():
        return float(np.mean(ann.predict(state["params"], xs) == labels))

    return epoch, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors", required=True, help="a clone of ChFrenkel/DirectRandomTargetProjection")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from lava_plastic import datasets

    data = datasets.load("mnist", args.data_dir, seed=0)
    x, y = data.train_x, data.train_y
    runners = {"authors (torch float32)": authors_epoch(Path(args.authors), x, y),
               "ours float64": ours_epoch(x, y, "float64"),
               "ours float32": ours_epoch(x, y, "float32")}
    seconds = {name: [] for name in runners}
    for _ in range(args.repeats):
        for name, (epoch, _) in runners.items():  # interleaved
            start = time.perf_counter()
            epoch()
            seconds[name].append(time.perf_counter() - start)
    base = np.array(seconds["authors (torch float32)"])
    rows = []
    for name, (_, accuracy) in runners.items():
        ratio = base / np.array(seconds[name])
        rows.append(dict(name=name, seconds=seconds[name], median=float(np.median(seconds[name])),
                         authors_over_ours_median=float(np.median(ratio)),
                         authors_over_ours_min=float(ratio.min()),
                         train_accuracy_after=accuracy()))
        print(f"{name:24s} {np.median(seconds[name]):6.2f} s/epoch  authors/this "
              f"{np.median(ratio):.2f}x [{ratio.min():.2f}, {ratio.max():.2f}]  "
              f"train accuracy after {args.repeats} epochs {rows[-1]['train_accuracy_after']:.4f}")
    write_results("tanh_vs_authors", dict(threads=os.environ.get("OMP_NUM_THREADS"), rows=rows))


if __name__ == "__main__":
    main()
