"""Bad input, table-driven (issue 11): every bad value on the command line gives one line on
stderr naming the problem and exit status 2, before any work (no output folder appears); every
bad data file raises the loaders' ``DataError``; every bad argument to the public API raises
the library's :class:`~lava_plastic.errors.LavaPlasticError` naming it. 121 cases in all."""
import json
import os

import numpy as np
import pytest

from fakes import (files, idx_bytes, npz_bytes, nettalk_arrays, unknown_compression,
                   write)
from lava_plastic import LavaPlasticError, checkpoint, cli, datasets
from lava_plastic.learning import PlasticNetwork, compile_plan, engine
from lava_plastic.rules import make_rule
from lava_plastic.train import TrainConfig

OPZO = ["--rule", "opzo", "--hidden", "16", "--hidden", "16"]
CLI_CASES = [
    (["--rule", "hebb"], "unknown rule 'hebb'"),
    (["--dataset", "cifar"], "unknown dataset 'cifar'"),
    (["--backend", "gpu"], "unknown backend 'gpu'"),
    (["--precision", "half"], "unknown precision 'half'"),
    (["--model", "relu"], "unknown model 'relu'"),
    (["--optimizer", "lion"], "unknown optimizer 'lion'"),
    (["--schedule", "step", "--optimizer", "adam"], "unknown schedule 'step'"),
    (["--epochs", "0"], "epochs must be a positive integer, got 0"),
    (["--epochs", "-3"], "epochs must be a positive integer, got -3"),
    (["--epochs", "two"], "argument --epochs: invalid int value: 'two'"),
    (["--hidden", "0"], "hidden layer sizes must be positive, got (0,)"),
    (["--hidden", "-5"], "hidden layer sizes must be positive, got (-5,)"),
    (["--batch-size", "0"], "batch_size must be a positive integer, got 0"),
    (["--steps", "0"], "steps must be a positive integer, got 0"),
    (["--lr", "0"], "learning rate must be positive, got 0.0"),
    (["--lr", "-1"], "learning rate must be positive, got -1.0"),
    (["--lr", "nan"], "learning rate must be positive, got nan"),
    (["--lr", "inf"], "learning rate must be positive, got inf"),
    (["--lr", "fast"], "argument --lr: invalid float value: 'fast'"),
    (["--seed", "-1"], "seed must be an integer in [0, 4294967295], got -1"),
    (["--seed", "4294967296"], "seed must be an integer in [0, 4294967295], got 4294967296"),
    (["--seed", "1.5"], "argument --seed: invalid int value: '1.5'"),
    (["--max-train", "0"], "max_train must be a positive number of samples, got 0"),
    (["--max-train", "-5"], "max_train must be a positive number of samples, got -5"),
    (["--max-test", "0"], "max_test must be a positive number of samples, got 0"),
    (["--precision", "fixed", "--weight-bits", "0"],
     "every initial weight of layer 1 rounds to 0, and nothing can be learned"),
    (["--precision", "fixed", "--weight-bits", "13"], "weight_bits"),
    (["--optimizer", "adamw", "--weight-decay", "-1"], "weight decay must be a non-negative"),
    (["--weight-decay", "0.1"], "weight decay is an option of adamw"),
    (["--schedule", "cosine"], "the cosine schedule is for adam and adamw"),
    (["--optimizer", "adam", "--precision", "fixed"], "adam runs in float only"),
    ([*OPZO, "--dropout", "1"], "dropout must be in [0, 1), got 1.0"),
    ([*OPZO, "--dropout", "-0.1"], "dropout must be in [0, 1), got -0.1"),
    (["--dropout", "0.5"], "--dropout is an option of the online rules"),
    ([*OPZO, "--alpha", "0"], "must be a positive number, got 0.0"),
    ([*OPZO, "--momentum", "1"], "momentum"),
    ([*OPZO, "--noise", "pink"], "pink"),
    ([*OPZO, "--noise-site", "axon"], "axon"),
    ([*OPZO, "--loss", "hinge"], "hinge"),
    ([*OPZO, "--steps", "4", "--antithetic"], "window of 7 steps"),
    (["--rule", "loco", "--sigma", "0"], "sigma must be a positive number, got 0.0"),
    (["--rule", "loco", "--sigma", "nan"], "sigma must be a positive number, got nan"),
    (["--rule", "loco", "--rank", "0"], "rank must be an integer >= 1"),
    (["--rule", "loco", "--clusters", "80"], "80 clusters need a buffer"),
    (["--rule", "loco", "--buffer", "0"], "buffer"),
    (["--rule", "np", "--rank", "3"], "--rank is an option of loco, not of np"),
    (["--rule", "np", "--hidden-lr", "-1"], "hidden_lr must be a positive number, got -1.0"),
    (["--rule", "drtp", "--sigma", "0.5"], "--sigma is an option of np and loco, not of drtp"),
    (["--init-gain", "0"], "init_gain must be a positive number, got 0.0"),
    (["--init-gain", "nan"], "init_gain must be a positive number, got nan"),
    (["--output-init", "nan"], "output_init must be a finite number, got nan"),
    (["--lr-halving", "0"], "lr_halving must be a positive number of epochs, got 0"),
    (["--lr-halving", "2", "--backend", "lava"], "the lava backend keeps one learning rate"),
    (["--augment-shift", "8"], "augment_shift must be an integer in [0, 7] pixels for digits"),
    (["--augment-shift", "-1"], "augment_shift must be an integer in [0, 7] pixels for digits"),
    (["--rule", "loco", "--dataset", "nettalk", "--augment-shift", "2"],
     "augment_shift translates images"),
    (["--dtype", "float16"], "unknown dtype 'float16'"),
    (["--dtype", "float32", "--precision", "fixed"], "float32 is a training option of the float"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--device", "cuda:x"], "unknown device 'cuda:x'"),
    (["--dataset", "mnist", "--data-dir", "FILE"], "is a file, not a folder"),
    (["--dataset", "mnist", "--data-dir", "NOWHERE"], "does not exist"),
    (["--rule", "opzo", "--dataset", "nettalk"], "nettalk's multi-hot targets"),
    (["--dataset", "nmnist"], "nmnist presents an input per step"),
    (["--backend", "lava", "--optimizer", "adam"], "the lava backend runs the on-chip rule"),
    (["--model", "tanh", "--precision", "fixed"], "the tanh network"),
    (["--checkpoint-every", "0"], "--checkpoint-every takes a positive number of epochs"),
    (["--checkpoint-every", "2x"], "--checkpoint-every takes a positive number of epochs"),
    (["--checkpoint-every", "2", "--backend", "lava"], "checkpoints are taken by the engine"),
    (["--resume", "NOWHERE"], "nowhere/checkpoint.npz"),
    (["--out", "FILE"], "is a file"),
    (["--out", "FILE/below"], "is a file"),
    (["--out", "FINISHED"], "already holds a finished run"),
    (["--flux-capacitor"], "unrecognized arguments: --flux-capacitor"),
]
CONTINUAL_CASES = [
    (["--rule", "loco", "--dataset", "nettalk"], "continual learning takes the class-labelled"),
    (["--backend", "lava"], "continual learning runs in the engine backend"),
    (["--augment-shift", "1"], "augment_shift is an option of train"),
    (["--checkpoint-every", "2"], "unrecognized arguments: --checkpoint-every 2"),
]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """A file, a missing path and a folder holding a finished run, for the cases' FILE,
    NOWHERE and FINISHED."""
    root = tmp_path_factory.mktemp("places")
    (root / "file").write_text("not a folder")
    finished = root / "finished"
    finished.mkdir()
    (finished / checkpoint.RESULTS).write_text(json.dumps({"status": "finished"}))
    return {"FILE": str(root / "file"), "NOWHERE": str(root / "nowhere"),
            "FINISHED": str(finished)}


def substitute(argv, places):
    return [next((a.replace(k, v) for k, v in places.items() if a.startswith(k)), a)
            for a in argv]


@pytest.mark.parametrize("command, argv, message",
                         [("train", *case) for case in CLI_CASES]
                         + [("continual", *case) for case in CONTINUAL_CASES])
def test_bad_command_line_is_one_line_before_any_work(command, argv, message, places, tmp_path,
                                                      capsys):
    argv = substitute(argv, places)
    resume = "--resume" in argv
    out = [] if "--out" in argv or resume else ["--out", str(tmp_path / "run")]
    epochs = [] if "--epochs" in argv or resume else ["--epochs", "1"]
    code = cli.main([command, *argv, *out, *epochs, "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert message in err[0], err[0]
    assert not (tmp_path / "run").exists()


MNIST_LABELS = "mnist/" + datasets.MNIST_FILES["train_labels"]
LOADER_CASES = [  # (data set, its files, the message)
    ("nettalk", files("nettalk", train_x=np.full((6, 189), np.nan)),
     "NETtalk train_x holds values other than 0 and 1 (e.g. nan)"),
    ("nettalk", files("nettalk", test_y=np.full((3, 26), 0.5)),
     "NETtalk test_y holds values other than 0 and 1 (e.g. 0.5)"),
    ("nettalk", files("nettalk", train_x=-np.ones((6, 189))),
     "NETtalk train_x holds values other than 0 and 1"),
    ("nettalk", files("nettalk", train_y=np.zeros((5, 26))), "expected (n, 189) and (n, 26)"),
    ("nettalk", files("nettalk", test_x=np.zeros((3, 180))), "expected (n, 189) and (n, 26)"),
    ("nettalk", files("nettalk", test_y=None), "missing arrays ['test_y']"),
    ("nettalk", {str(datasets.NETTALK_FILE): b"PK\x03\x04 broken"}, "cannot read"),
    ("nettalk", {str(datasets.NETTALK_FILE): unknown_compression(npz_bytes(nettalk_arrays()))},
     "cannot read (NotImplementedError: That compression method is not supported)"),
    ("nettalk", {}, "not found"),
    ("nmnist", files("nmnist", train_x=np.arange(12, dtype=np.int16) - 3),
     "N-MNIST train_x holds a negative value"),
    ("nmnist", files("nmnist", train_labels=np.array([0.5, 1.0, 2.0])),
     "train_labels must be a 1-D array of integers"),
    ("nmnist", files("nmnist", test_t_us=np.arange(8, dtype=np.int64) - 100),
     "test_t_us holds a negative value"),
    ("nmnist", files("nmnist", train_p=np.zeros(11, np.uint8)),
     "x, y, p, t_us have different lengths [11, 12]"),
    ("nmnist", files("nmnist", train_labels=np.array([0, 1, 12], np.uint8)),
     "label 12 outside 0..9"),
    ("nmnist", files("nmnist", train_labels=np.array([0, 1], np.uint8)),
     "do not index 12 events of 2 samples"),
    ("nmnist", files("nmnist", test_offsets=np.array([0, 6, 4, 8])), "do not index"),
    ("nmnist", files("nmnist", train_x=np.full(12, 40, np.uint8)), "outside the 34x34 sensor"),
    ("mnist", files("mnist", train_labels=np.array([0, 1, 2, 11])),
     "labels hold 11, outside 0..9"),
    ("mnist", files("mnist", test_labels=np.arange(3)), "3 labels for 2 images"),
    ("mnist", files("mnist", train_images=np.zeros((4, 20, 20))), "expected (n, 28, 28)"),
    ("mnist", dict(files("mnist"), **{MNIST_LABELS: b"\x00\x00\x08"}), "truncated IDX file"),
    ("mnist", dict(files("mnist"), **{MNIST_LABELS: idx_bytes(np.arange(4), b"\x01\x02\x08\x01")}),
     "wrong IDX magic number"),
    ("mnist", files("mnist", train_images=None), "not found"),
]


@pytest.mark.parametrize("name, contents, message", LOADER_CASES)
def test_bad_data_files_raise_data_error(name, contents, message, tmp_path):
    write(tmp_path, contents)
    with pytest.raises(datasets.DataError) as caught:
        datasets.load(name, tmp_path)
    assert message in str(caught.value)


def plan_of(sizes=(4, 3, 2), precision="float"):
    return compile_plan(PlasticNetwork(sizes, precision=precision), make_rule("drtp", n_classes=2))


API_CASES = [
    (lambda: make_rule("hebb"), "unknown rule"),
    (lambda: make_rule("drtp", lr=-1.0), "learning rate must be a positive number, got -1.0"),
    (lambda: make_rule("drtp", lr=float("nan")), "learning rate must be a positive number"),
    (lambda: make_rule("drtp", lr=True), "learning rate must be a positive number, got True"),
    (lambda: make_rule("drtp", n_classes=1), "n_classes must be an integer >= 2"),
    (lambda: make_rule("drtp", seed=-2), "seed must be a non-negative integer"),
    (lambda: make_rule("loco", sigma=-0.1), "sigma must be a positive number"),
    (lambda: TrainConfig(epochs=1.5), "epochs must be a positive integer, got 1.5"),
    (lambda: TrainConfig(seed=-1), "seed must be an integer in [0, 4294967295]"),
    (lambda: TrainConfig(checkpoint_unit="hour"), "unknown checkpoint unit 'hour'"),
    (lambda: PlasticNetwork((4, 3, 2), weight_bits=13), "weight_bits"),
    (lambda: engine.encode_input(PlasticNetwork((4, 3, 2)), np.zeros((2, 5))), "(batch, 4)"),
    (lambda: engine.train_epoch(plan_of(), engine.init_state(plan_of()), np.zeros((2, 4)),
                                np.array([0, 2]), 1, None, np.arange(2)), "label"),
    (lambda: engine.train_epoch(plan_of(), engine.init_state(plan_of()), np.zeros((2, 4)),
                                np.array([0]), 1, None, np.arange(2)), "2 inputs and 1 labels"),
    (lambda: engine.train_epoch(plan_of(), engine.init_state(plan_of()),
                                np.full((2, 4), np.nan), np.array([0, 1]), 1, None,
                                np.arange(2)), "NaN"),
    (lambda: engine.train_epoch(plan_of(), engine.init_state(plan_of()), np.zeros((2, 4)),
                                np.array([0.5, 1.0]), 1, None, np.arange(2)), "label"),
    (lambda: engine.predict(plan_of(), engine.init_state(plan_of()), np.zeros((2, 7))),
     "(batch, 4)"),
    (lambda: datasets.direct_current(np.full((2, 3), 2.0), 4), "must lie in [0, 1]"),
    (lambda: datasets.load("cifar", None), "unknown dataset 'cifar'"),
    (lambda: checkpoint.load(os.devnull), "no checkpoint at /dev/null"),
]


@pytest.mark.parametrize("call, message", API_CASES)
def test_bad_api_arguments_raise_the_library_error_naming_them(call, message):
    with pytest.raises(LavaPlasticError) as caught:
        call()
    assert message in str(caught.value)


def test_the_tables_hold_at_least_80_bad_inputs():
    counted = len(CLI_CASES) + len(CONTINUAL_CASES) + len(LOADER_CASES) + len(API_CASES)
    assert counted >= 80, counted
