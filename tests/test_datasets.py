"""Loaders on the real data (LAVA_PLASTIC_DATA) and on broken files made here; encoders."""
import gzip
import struct

import numpy as np
import pytest

from lava_plastic import datasets as ds


# --- bundled digits -------------------------------------------------------------------------
def test_digits_split_is_seeded_and_stratified():
    a, b, c = ds.load_digits(seed=1), ds.load_digits(seed=1), ds.load_digits(seed=2)
    assert a.train_x.shape == (1437, 64) and a.test_x.shape == (360, 64)
    np.testing.assert_array_equal(a.test_x, b.test_x)
    assert not np.array_equal(a.test_y, c.test_y)
    assert a.train_x.min() == 0.0 and a.train_x.max() == 1.0
    counts = np.bincount(a.test_y, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37


# --- MNIST ----------------------------------------------------------------------------------
@pytest.mark.data
def test_mnist_real_files(data_dir):
    data = ds.load_mnist(data_dir)
    assert data.train_x.shape == (60000, 784) and data.test_x.shape == (10000, 784)
    assert data.train_x.dtype == np.float32 and 0.0 <= data.train_x.min() and data.train_x.max() == 1.0
    np.testing.assert_array_equal(np.bincount(data.test_y), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    assert data.train_y[:5].tolist() == [5, 0, 4, 1, 9]


def write_idx(path, array, magic=None, truncate=0, gz=True):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) if magic is None else magic
    header += struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    raw = raw[: len(raw) - truncate]
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


def make_mnist(root, n=5, **broken):
    folder = root / "mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split in ("train", "t10k"):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    return folder


def test_mnist_reads_uncompressed_files(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    for split in ("train", "t10k"):
        write_idx(folder / f"{split}-images-idx3-ubyte", images, gz=False)
        write_idx(folder / f"{split}-labels-idx1-ubyte", np.array([1, 2, 3]), gz=False)
    data = ds.load_mnist(tmp_path)
    assert data.test_y.tolist() == [1, 2, 3]
    np.testing.assert_allclose(data.train_x[0, :3], np.array([0, 1, 2]) / 255.0)


def test_mnist_truncated_file(tmp_path):
    folder = make_mnist(tmp_path)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((5, 28, 28)), truncate=10)
    with pytest.raises(ds.DataError, match="truncated"):
        ds.load_mnist(tmp_path)


def test_mnist_wrong_magic(tmp_path):
    folder = make_mnist(tmp_path)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(5), magic=b"\x00\x00\x0d\x01")
    with pytest.raises(ds.DataError, match="magic"):
        ds.load_mnist(tmp_path)


def test_mnist_corrupt_gzip(tmp_path):
    folder = make_mnist(tmp_path)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ds.DataError, match="cannot read"):
        ds.load_mnist(tmp_path)


def test_mnist_label_count_mismatch(tmp_path):
    folder = make_mnist(tmp_path)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(4))
    with pytest.raises(ds.DataError, match="4 labels for 5 images"):
        ds.load_mnist(tmp_path)


def test_mnist_wrong_image_shape(tmp_path):
    folder = make_mnist(tmp_path)
    write_idx(folder / "train-images-idx3-ubyte.gz", np.zeros((5, 28, 27)))
    with pytest.raises(ds.DataError, match=r"expected \(n, 28, 28\)"):
        ds.load_mnist(tmp_path)


def test_mnist_missing_file_names_expected_files(tmp_path):
    folder = make_mnist(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(ds.DataError, match="t10k-labels-idx1-ubyte"):
        ds.load_mnist(tmp_path)


def test_data_dir_from_environment(tmp_path, monkeypatch):
    make_mnist(tmp_path, n=2)
    monkeypatch.setenv(ds.DATA_ENV_VAR, str(tmp_path))
    assert ds.load_mnist().train_x.shape == (2, 784)


def test_no_data_dir_names_the_variable(monkeypatch):
    monkeypatch.delenv(ds.DATA_ENV_VAR, raising=False)
    with pytest.raises(ds.DataError, match="LAVA_PLASTIC_DATA.*mnist"):
        ds.load_mnist()


def test_missing_data_dir(tmp_path):
    with pytest.raises(ds.DataError, match="does not exist"):
        ds.load_nettalk(tmp_path / "nowhere")


# --- NETtalk --------------------------------------------------------------------------------
@pytest.mark.data
def test_nettalk_real_file(data_dir):
    data = ds.load_nettalk(data_dir)
    assert data.train_x.shape == (5033, 189) and data.train_y.shape == (5033, 26)
    assert data.test_x.shape == (500, 189) and data.test_y.shape == (500, 26)
    # 7-letter window, one symbol per position
    np.testing.assert_array_equal(data.train_x.reshape(-1, 7, 27).sum(axis=2), 1)


def test_nettalk_wrong_shape(tmp_path):
    (tmp_path / "nettalk").mkdir()
    np.savez(tmp_path / "nettalk" / "nettalk_small.npz", train_x=np.zeros((3, 180)),
             train_y=np.zeros((3, 26)), test_x=np.zeros((1, 189)), test_y=np.zeros((1, 26)))
    with pytest.raises(ds.DataError, match=r"expected \(n, 189\)"):
        ds.load_nettalk(tmp_path)


def test_nettalk_corrupt_file(tmp_path):
    (tmp_path / "nettalk").mkdir()
    (tmp_path / "nettalk" / "nettalk_small.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ds.DataError, match="cannot read"):
        ds.load_nettalk(tmp_path)


# --- N-MNIST --------------------------------------------------------------------------------
def test_bin_events_counts_into_frames():
    x = np.array([0, 0, 33, 5])
    y = np.array([0, 0, 33, 6])
    p = np.array([1, 1, 0, 0])
    t = np.array([0, 999, 1000, 5000])
    frames = ds.bin_events(x, y, p, t, window_us=1000, n_bins=3)
    assert frames.shape == (3, 2, 34, 34)
    assert frames[0, 1, 0, 0] == 2 and frames[1, 0, 33, 33] == 1
    assert frames.sum() == 3  # the event at 5 ms lies after the last bin


@pytest.mark.data
def test_nmnist_real_file(data_dir):
    data = ds.load_nmnist(data_dir, window_us=20_000, duration_us=300_000)
    assert data.train_x.shape == (1000, 15, 2, 34, 34) and data.test_x.shape == (100, 15, 2, 34, 34)
    assert set(np.unique(data.train_x)) == {0.0, 1.0}
    assert data.train_y.min() == 0 and data.train_y.max() == 9
    counts = ds.load_nmnist(data_dir, window_us=20_000, duration_us=300_000, binary=False)
    assert counts.train_x.max() > 1
    np.testing.assert_array_equal(counts.train_x > 0, data.train_x > 0)


def test_nmnist_bad_offsets(tmp_path):
    (tmp_path / "nmnist_small").mkdir()
    arrays = {}
    for s in ("train", "test"):
        arrays.update({f"{s}_x": np.zeros(4, np.uint8), f"{s}_y": np.zeros(4, np.uint8),
                       f"{s}_p": np.zeros(4, np.uint8), f"{s}_t_us": np.arange(4, dtype=np.uint32),
                       f"{s}_offsets": np.array([0, 2, 5]), f"{s}_labels": np.array([1, 2], np.uint8)})
    np.savez(tmp_path / "nmnist_small" / "nmnist_small.npz", **arrays)
    with pytest.raises(ds.DataError, match="offsets"):
        ds.load_nmnist(tmp_path)


def test_nmnist_bad_window():
    with pytest.raises(ValueError, match="positive"):
        ds.load_nmnist("unused", window_us=0)


# --- encoders -------------------------------------------------------------------------------
def test_direct_current_repeats_values():
    x = np.array([[0.0, 0.5, 1.0]])
    out = ds.direct_current(x, 4)
    assert out.shape == (1, 4, 3)
    np.testing.assert_array_equal(out[0, 3], [0.0, 0.5, 1.0])
    payload = ds.direct_current(x, 2, payload_scale=255)
    assert payload.dtype == np.int64
    np.testing.assert_array_equal(payload[0, 0], [0, 128, 255])


def test_rate_spikes_seeded_and_rate():
    x = np.full((50, 64), 0.3)
    a, b = ds.rate_spikes(x, 100, seed=4), ds.rate_spikes(x, 100, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, ds.rate_spikes(x, 100, seed=5))
    assert abs(a.mean() - 0.3) < 0.005
    assert set(np.unique(a)) == {0.0, 1.0}
    assert ds.rate_spikes(np.zeros((2, 3)), 10, seed=0).sum() == 0


@pytest.mark.parametrize("bad, match", [
    (np.array([[np.nan, 0.1]]), "NaN"),
    (np.array([[1.5, 0.1]]), r"\[0, 1\]"),
    (np.array([0.1, 0.2]), "shape"),
])
def test_encoders_reject_bad_values(bad, match):
    with pytest.raises(ValueError, match=match):
        ds.rate_spikes(bad, 5, seed=0)
    with pytest.raises(ValueError, match=match):
        ds.direct_current(bad, 5)


def test_encoders_reject_bad_parameters():
    with pytest.raises(ValueError, match="n_steps"):
        ds.direct_current(np.zeros((1, 2)), 0)
    with pytest.raises(ValueError, match="payload_scale"):
        ds.direct_current(np.zeros((1, 2)), 3, payload_scale=0.5)
    with pytest.raises(ValueError, match="max_rate"):
        ds.rate_spikes(np.zeros((1, 2)), 3, seed=0, max_rate=2.0)


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        ds.load("cifar")


def test_random_shifts_translates_each_image_by_its_own_offset():
    rng = np.random.default_rng(7)
    x = rng.random((50, 36)).astype(np.float32)
    shifted = ds.random_shifts(x, (6, 6), 2, np.random.default_rng(3))
    dy, dx = np.random.default_rng(3).integers(-2, 3, size=(2, 50))  # the draws it makes
    for i in range(50):
        expected = np.zeros((6, 6), np.float32)
        src = x[i].reshape(6, 6)
        expected[max(dy[i], 0):6 + min(dy[i], 0), max(dx[i], 0):6 + min(dx[i], 0)] = \
            src[max(-dy[i], 0):6 - max(dy[i], 0), max(-dx[i], 0):6 - max(dx[i], 0)]
        np.testing.assert_array_equal(shifted[i].reshape(6, 6), expected)
    assert len(set(zip(dy, dx))) > 10  # offsets differ between images
    np.testing.assert_array_equal(ds.random_shifts(x, (6, 6), 0, rng), x)


def test_random_shifts_rejects_bad_arguments():
    x = np.zeros((3, 64))
    with pytest.raises(ValueError, match=r"shape \(n, 49\) for 7x7 images"):
        ds.random_shifts(x, (7, 7), 1, np.random.default_rng(0))
    for bad in (8, -1, 1.5):
        with pytest.raises(ValueError, match=r"max_shift must be an integer in \[0, 7\]"):
            ds.random_shifts(x, (8, 8), bad, np.random.default_rng(0))
