"""Property tests (hypothesis): random corruptions of checkpoints and data files only ever
raise the library's own error (``CheckpointError``, ``DataError``) or load; no other exception
escapes and nothing hangs (each example has a deadline)."""
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lava_plastic import checkpoint, datasets
from lava_plastic.train import TrainConfig, run

SETTINGS = settings(max_examples=60, deadline=5000, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("run")
    run(TrainConfig(rule="loco", epochs=1, max_train=64, max_test=20, batch_size=32,
                    class_batches=True, progress=False, out=str(out)), log=lambda *_: None)
    return (out / checkpoint.FILE).read_bytes()


def nettalk_bytes() -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    np.savez(buffer, train_x=(rng.random((6, 189)) < 0.04).astype(np.uint8),
             train_y=(rng.random((6, 26)) < 0.2).astype(np.uint8),
             test_x=(rng.random((3, 189)) < 0.04).astype(np.uint8),
             test_y=(rng.random((3, 26)) < 0.2).astype(np.uint8))
    return buffer.getvalue()


corruptions = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)),
                                        min_size=1, max_size=8)),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=64)),
)


def corrupt(data: bytes, how) -> bytes:
    kind, what = how
    if kind == "truncate":
        return data[: int(what * len(data))]
    if kind == "append":
        return data + what
    damaged = bytearray(data)
    for where, mask in what:
        damaged[min(int(where * len(data)), len(data) - 1)] ^= mask
    return bytes(damaged)


@SETTINGS
@given(how=corruptions)
def test_a_corrupted_checkpoint_loads_or_raises_checkpoint_error(checkpoint_bytes, tmp_path,
                                                                 how):
    path = Path(tmp_path) / checkpoint.FILE
    path.write_bytes(corrupt(checkpoint_bytes, how))
    try:
        point = checkpoint.load(path)
    except checkpoint.CheckpointError:
        return
    assert isinstance(point, checkpoint.Checkpoint)


@SETTINGS
@given(how=corruptions)
def test_a_corrupted_nettalk_file_loads_or_raises_data_error(tmp_path, how):
    path = Path(tmp_path) / datasets.NETTALK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(corrupt(nettalk_bytes(), how))
    try:
        data = datasets.load("nettalk", tmp_path)
    except datasets.DataError:
        return
    assert set(np.unique(data.train_x)) <= {0, 1} and data.train_y.shape[1] == 26


@SETTINGS
@given(values=st.lists(st.sampled_from([0, 1, -1, 2, 0.5, float("nan"), float("inf")]),
                       min_size=1, max_size=6))
def test_nettalk_values_other_than_0_and_1_raise_data_error(tmp_path, values):
    rng = np.random.default_rng(1)
    x = (rng.random((6, 189)) < 0.04).astype(np.float64)
    x.flat[: len(values)] = values
    path = Path(tmp_path) / datasets.NETTALK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, train_x=x, train_y=np.zeros((6, 26)), test_x=np.zeros((3, 189)),
             test_y=np.zeros((3, 26)))
    if set(values) <= {0, 1}:
        assert datasets.load("nettalk", tmp_path).train_x.shape == (6, 189)
    else:
        with pytest.raises(datasets.DataError, match="values other than 0 and 1"):
            datasets.load("nettalk", tmp_path)


def mnist_folder(root: Path) -> dict:
    """The four IDX files of a tiny MNIST, as bytes by file name."""
    files = {}
    for key, stem in datasets.MNIST_FILES.items():
        shape = (4, 28, 28) if "images" in key else (4,)
        values = np.arange(int(np.prod(shape))) % (256 if "images" in key else 10)
        header = bytes([0, 0, 8, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)
        files[stem] = header + values.astype(np.uint8).tobytes()
    return files


@SETTINGS
@given(which=st.sampled_from(sorted(datasets.MNIST_FILES.values())), how=corruptions)
def test_a_corrupted_mnist_file_loads_or_raises_data_error(tmp_path, which, how):
    folder = Path(tmp_path) / "mnist"
    folder.mkdir(exist_ok=True)
    for stem, data in mnist_folder(folder).items():
        (folder / stem).write_bytes(corrupt(data, how) if stem == which else data)
    try:
        data = datasets.load("mnist", tmp_path)
    except datasets.DataError:
        return
    assert data.train_x.shape[1] == 784 and data.train_y.max() <= 9


def nmnist_bytes() -> bytes:
    arrays = {}
    for split, n in (("train", 3), ("test", 2)):
        events = 4 * n
        arrays.update({f"{split}_x": np.arange(events, dtype=np.uint8) % 34,
                       f"{split}_y": np.arange(events, dtype=np.uint8) % 34,
                       f"{split}_p": np.arange(events, dtype=np.uint8) % 2,
                       f"{split}_t_us": np.arange(events, dtype=np.uint32) * 1000,
                       f"{split}_offsets": np.arange(0, events + 1, 4, dtype=np.int64),
                       f"{split}_labels": np.arange(n, dtype=np.uint8)})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@SETTINGS
@given(how=corruptions)
def test_a_corrupted_nmnist_file_loads_or_raises_data_error(tmp_path, how):
    path = Path(tmp_path) / datasets.NMNIST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(corrupt(nmnist_bytes(), how))
    try:
        data = datasets.load("nmnist", tmp_path)
    except datasets.DataError:
        return
    assert data.train_x.ndim == 5 and data.train_y.max() <= 9
