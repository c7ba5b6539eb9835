"""Data-parallel training with ``torch.distributed`` (gloo, two CPU processes via torchrun),
every rule kind (NP and LOCO included: the projector gathers the whole batch on every rank).

Two ranks that each run half of every batch and sum their accumulators end with the weights of
one process training the same global batches: fixed point the same integers, float within
rtol 1e-9 / atol 1e-9 weight units (the cross-rank sum adds in another order), the same output
counts while training and at test. Both ranks end with the same weights. Misconfigured launches
fail with one line before training.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parent))
import distributed_worker as worker  # noqa: E402

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def torchrun(args, **kw):
    return subprocess.run(TORCHRUN + args, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Both ranks' results on numpy (``cpu``) and on torch CPU tensors (the arrays NCCL would
    carry on GPUs)."""
    results = {}
    for device in ("cpu", "torch-cpu"):
        out = tmp_path_factory.mktemp(device)
        done = torchrun([str(Path(worker.__file__)), str(out), device])
        assert done.returncode == 0, done.stderr[-3000:]
        results[device] = [dict(np.load(out / f"rank{r}.npz")) for r in range(2)]
    return results


@pytest.mark.parametrize("device", ["cpu", "torch-cpu"])
@pytest.mark.parametrize("case", worker.CASES, ids="-".join)
def test_two_ranks_equal_one_process(two_ranks, device, case):
    weights, seen, test = worker.train_case(*case)
    name = "-".join(case)
    assert seen.sum() > 0 and test.sum() > 0
    for rank in two_ranks[device]:
        if case[0] == "opzo":  # readout sums of float weights summed across ranks
            np.testing.assert_allclose(rank[f"{name}/seen"], seen, rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(rank[f"{name}/test"], test, rtol=1e-9, atol=1e-9)
        else:
            np.testing.assert_array_equal(rank[f"{name}/seen"], seen)
            np.testing.assert_array_equal(rank[f"{name}/test"], test)
        for k, w in enumerate(weights):
            got = rank[f"{name}/w{k}"]
            if case[1] == "fixed":
                assert got.dtype == np.int32
                np.testing.assert_array_equal(got, w, err_msg=f"layer {k}")
            else:
                np.testing.assert_allclose(got, w, rtol=1e-9, atol=1e-9, err_msg=f"layer {k}")
    r0, r1 = two_ranks[device]
    for key in r0:
        np.testing.assert_array_equal(r0[key], r1[key], err_msg=key)


def test_cli_two_ranks_equal_one_process(tmp_path):
    """``torchrun -m lava_plastic.cli train --distributed``: the same accuracies, epoch by epoch,
    as one process; rank 0 alone writes results.json."""
    common = ["train", "--precision", "fixed", "--epochs", "2", "--batch-size", "8",
              "--max-train", "600", "--max-test", "200", "--no-progress"]
    done = torchrun(["-m", "lava_plastic.cli"] + common + ["--distributed", "--out", str(tmp_path / "two")])
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("epoch 2/2") == 1
    one = subprocess.run([sys.executable, "-m", "lava_plastic.cli"] + common + ["--out", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr
    two = json.loads((tmp_path / "two" / "results.json").read_text())
    one = json.loads((tmp_path / "one" / "results.json").read_text())
    assert (two["world_size"], one["world_size"]) == (2, 1)
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in one["history"]]
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in two["history"]] == strip


def test_torchrun_trains_opzo_as_one_process_does(tmp_path):
    """OPZO through the command line on two ranks (M's estimates summed every step): the same
    accuracies epoch by epoch as one process (float: the readout sums agree to rounding, which
    leaves every argmax in place here)."""
    common = ["train", "--rule", "opzo", "--hidden", "40", "--hidden", "30", "--epochs", "2",
              "--batch-size", "16", "--max-train", "320", "--max-test", "100", "--no-progress"]
    done = torchrun(["-m", "lava_plastic.cli"] + common + ["--distributed", "--out", str(tmp_path / "two")])
    assert done.returncode == 0, done.stderr[-3000:]
    one = subprocess.run([sys.executable, "-m", "lava_plastic.cli"] + common + ["--out", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr
    two = json.loads((tmp_path / "two" / "results.json").read_text())
    one = json.loads((tmp_path / "one" / "results.json").read_text())
    assert (two["world_size"], one["world_size"], two["rule"]) == (2, 1, "opzo")
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in one["history"]]
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in two["history"]] == strip


def test_batch_that_does_not_divide_is_refused(tmp_path):
    done = torchrun(["-m", "lava_plastic.cli", "train", "--distributed", "--batch-size", "3",
                     "--no-progress", "--out", str(tmp_path)])
    assert done.returncode != 0
    for rank in (0, 1):
        assert f"lava-plastic (rank {rank}): batch size 3 does not divide across 2 ranks" in done.stderr
    assert not (tmp_path / "results.json").exists()


def test_ranks_that_disagree_are_refused(tmp_path):
    """Two ranks launched by hand with different learning rates: both stop before training with
    the same line naming the setting."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank, lr in ((0, "0.01"), (1, "0.02")):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "lava_plastic.cli", "train", "--distributed", "--batch-size", "2",
             "--lr", lr, "--no-progress", "--out", str(tmp_path)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for rank, proc in enumerate(procs):
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 2
        assert err.strip() == (f"lava-plastic (rank {rank}): distributed ranks disagree on the "
                               f"configuration (lr: rank 0 0.01, rank 1 0.02)")
    assert not (tmp_path / "results.json").exists()


def test_distributed_without_torchrun_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
    done = subprocess.run([sys.executable, "-m", "lava_plastic.cli", "train", "--distributed",
                           "--out", str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 2
    assert done.stderr.strip() == ("lava-plastic (rank 0): distributed training is launched with torchrun "
                                   "(the environment lacks RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)")
