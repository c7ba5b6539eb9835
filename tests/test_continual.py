"""``lava-plastic continual``: class-incremental learning, its results and its refusals."""
import json

import numpy as np
import pytest

from lava_plastic import cli
from lava_plastic.datasets import load_digits
from lava_plastic.train import TrainConfig, run_continual


def test_continual_records_the_accuracy_after_each_class(tmp_path):
    out = tmp_path / "run"
    config = TrainConfig(rule="loco", epochs=1, batch_size=32, lr=2.0**-8, class_batches=True,
                         out=str(out), progress=False)
    results = run_continual(config, log=lambda _: None)
    after = results["accuracy_after_class"]
    assert len(after) == 10 and results["final_accuracy"] == after[-1]
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["accuracy_after_class"] == after and (out / "continual.png").stat().st_size
    test_y = load_digits(seed=0).test_y
    for c, entry in enumerate(results["history"]):
        counts = np.array([np.sum(test_y == j) for j in range(c + 1)])
        assert len(entry["per_class_accuracy"]) == c + 1
        # the accuracy over the classes seen is the per-class accuracies weighted by their sizes
        assert entry["accuracy"] == pytest.approx(np.dot(entry["per_class_accuracy"], counts)
                                                  / counts.sum(), abs=1e-12)
    assert after[0] > 0.3  # class 0 alone, learnt for an epoch: 0.64 measured (seed 0)


def test_continual_is_reproducible():
    config = TrainConfig(rule="np", epochs=1, batch_size=32, lr=2.0**-8, progress=False,
                         max_train=400)
    first = run_continual(config, log=lambda _: None)["accuracy_after_class"]
    assert first == run_continual(config, log=lambda _: None)["accuracy_after_class"]


@pytest.mark.parametrize("argv, message", [
    (["--rule", "loco", "--dataset", "nettalk"], "continual learning takes the class-labelled"),
    (["--rule", "drtp", "--backend", "lava"], "continual learning runs in the engine backend"),
    (["--rule", "loco", "--augment-shift", "1"], "augment_shift is an option of train"),
    (["--rule", "np", "--max-train", "5"], "no example of classes"),
])
def test_continual_refuses_in_one_line(argv, message, capsys, tmp_path):
    code = cli.main(["continual", *argv, "--out", str(tmp_path / "x"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
