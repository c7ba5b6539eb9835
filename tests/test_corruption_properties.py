"""Property tests (hypothesis): random corruptions of checkpoints and data files only ever
raise the library's own error (``CheckpointError``, ``DataError``) or load; no other exception
escapes and nothing hangs (each example has a deadline of 30 s, far above its few
milliseconds, so that a loaded machine does not make it flaky)."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import files, nettalk_arrays, write
from lava_plastic import checkpoint, datasets
from lava_plastic.train import TrainConfig, run

SETTINGS = settings(max_examples=60, deadline=30000, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("run")
    run(TrainConfig(rule="loco", epochs=1, max_train=64, max_test=20, batch_size=32,
                    class_batches=True, progress=False, out=str(out)), log=lambda *_: None)
    return (out / checkpoint.FILE).read_bytes()


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


@pytest.mark.parametrize("name", ["mnist", "nettalk", "nmnist"])
@SETTINGS
@given(data=st.data(), how=corruptions)
def test_a_corrupted_data_file_loads_or_raises_data_error(tmp_path, name, data, how):
    contents = files(name)
    which = data.draw(st.sampled_from(sorted(contents)))
    write(tmp_path, dict(contents, **{which: corrupt(contents[which], how)}))
    try:
        loaded = datasets.load(name, tmp_path)
    except datasets.DataError:
        return
    assert len(loaded.train_x) == len(loaded.train_y) and len(loaded.test_x) == len(loaded.test_y)


@SETTINGS
@given(values=st.lists(st.sampled_from([0, 1, -1, 2, 0.5, float("nan"), float("inf")]),
                       min_size=1, max_size=6))
def test_nettalk_values_other_than_0_and_1_raise_data_error(tmp_path, values):
    x = nettalk_arrays()["train_x"].astype(np.float64)
    x.flat[: len(values)] = values
    write(tmp_path, files("nettalk", train_x=x))
    if set(values) <= {0, 1}:
        assert datasets.load("nettalk", tmp_path).train_x.shape == (6, 189)
    else:
        with pytest.raises(datasets.DataError, match="values other than 0 and 1"):
            datasets.load("nettalk", tmp_path)
