"""Data sets and input encoders.

Every loader returns a :class:`Dataset` of float32 inputs in ``[0, 1]`` with a leading sample
axis and integer labels (or multi-hot targets for NETtalk). Files are read from a data directory
that the caller names (``data_dir``), else from the environment variable
``LAVA_PLASTIC_DATA``; a missing directory or file is a :class:`DataError` naming the variable
and the expected files. Nothing is downloaded.

Encoders turn values into the engine's input layout ``(batch, time, features)``:
:func:`direct_current` repeats the value at every step (the papers' "direct coding"),
:func:`rate_spikes` draws Bernoulli spikes with probability equal to the value, from a seed.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lava_plastic.errors import DAMAGED_ARCHIVE, LavaPlasticError

DATA_ENV_VAR = "LAVA_PLASTIC_DATA"

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
NETTALK_FILE = "nettalk/nettalk_small.npz"
NMNIST_FILE = "nmnist_small/nmnist_small.npz"
NMNIST_SHAPE = (2, 34, 34)


class DataError(LavaPlasticError):
    """A data file is missing, truncated, corrupt or of the wrong shape."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split. ``train_y``/``test_y`` are int64 class labels, or float32 multi-hot
    targets of shape ``(n, n_outputs)`` for multi-label data (NETtalk)."""

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    n_classes: int
    sequence: bool = False

    @property
    def n_features(self) -> int:
        """Input features (per step for a sequence, whose inputs are ``(n, steps, ...)``)."""
        return int(np.prod(self.train_x.shape[2 if self.sequence else 1:]))


NMNIST_BIN_US = 3000
"""The OPZO paper's N-MNIST bins (App. C.3.1, after Zhang & Li 2020): 3 ms, the first 30."""


def nmnist_sequences(data_dir, n_steps: int) -> Dataset:
    """The N-MNIST subset as spike sequences for a spiking network: ``n_steps`` bins of
    :data:`NMNIST_BIN_US` from each recording's start, binary, each step's frame flattened
    (``(n, n_steps, 2 * 34 * 34)`` float32)."""
    data = load_nmnist(data_dir, window_us=NMNIST_BIN_US, duration_us=n_steps * NMNIST_BIN_US)
    flat = [a.reshape(a.shape[0], a.shape[1], -1) for a in (data.train_x, data.test_x)]
    return Dataset("nmnist", flat[0], data.train_y, flat[1], data.test_y, 10, sequence=True)


def resolve_data_dir(data_dir: str | os.PathLike | None, needs: str) -> Path:
    """The data directory: ``data_dir`` if given, else ``$LAVA_PLASTIC_DATA``.

    ``needs`` describes the files the caller will read, for the error message.
    """
    if data_dir is None:
        data_dir = os.environ.get(DATA_ENV_VAR)
        if not data_dir:
            raise DataError(
                f"no data directory: pass data_dir (--data-dir) or set {DATA_ENV_VAR}; "
                f"it must contain {needs}"
            )
    path = Path(data_dir)
    if path.exists() and not path.is_dir():
        raise DataError(f"data directory {str(path)!r} is a file, not a folder; it must contain "
                        f"{needs}")
    if not path.is_dir():
        raise DataError(f"data directory {str(path)!r} does not exist; it must contain {needs}")
    return path


# ---------------------------------------------------------------------------------------------
# scikit-learn digits (bundled, needs no data directory)
# ---------------------------------------------------------------------------------------------
def load_digits(seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """scikit-learn's 8x8 digits (1,797 samples, values 0..16 scaled to [0, 1]), split into
    train and test by a seeded, stratified permutation."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise LavaPlasticError(f"test_fraction must be in (0, 1), got {test_fraction}")
    digits = sk_load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    train_x, test_x, train_y, test_y = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    return Dataset("digits", train_x, train_y, test_x, test_y, 10)


# ---------------------------------------------------------------------------------------------
# MNIST (IDX files)
# ---------------------------------------------------------------------------------------------
_IDX_DTYPES = {0x08: np.uint8}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzipped if its name ends in ``.gz``) into an array.

    Checks the magic number (two zero bytes, type code 0x08 = unsigned byte, number of
    dimensions) and that the payload holds exactly the product of the header's dimensions.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: cannot read IDX file ({err})") from err
    if len(raw) < 4:
        raise DataError(f"{path}: truncated IDX file ({len(raw)} bytes, no header)")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{path}: wrong IDX magic number 0x{raw[:4].hex()} (expected 0x000008NN, "
            "unsigned bytes with NN dimensions)"
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header_len])
    expected = int(np.prod(shape))
    payload = len(raw) - header_len
    if payload != expected:
        raise DataError(
            f"{path}: header says shape {shape} ({expected} values) but the file holds "
            f"{payload} values ({'truncated' if payload < expected else 'trailing bytes'})"
        )
    return np.frombuffer(raw, dtype=_IDX_DTYPES[dtype_code], offset=header_len).reshape(shape)


def _find_idx(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    raise DataError(
        f"MNIST file {stem}[.gz] not found in {folder}; expected the four standard IDX files "
        f"({', '.join(MNIST_FILES.values())}, gzipped or not) in <data-dir>/mnist/"
    )


def load_mnist(data_dir: str | os.PathLike | None = None) -> Dataset:
    """MNIST from the four standard IDX files in ``<data_dir>/mnist/``: 60,000 train and
    10,000 test images, flattened to 784 values in [0, 1]."""
    root = resolve_data_dir(data_dir, "mnist/ with the four MNIST IDX files")
    folder = root / "mnist"
    arrays = {key: read_idx(_find_idx(folder, stem)) for key, stem in MNIST_FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DataError(f"MNIST {split} images have shape {images.shape}, expected (n, 28, 28)")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise DataError(
                f"MNIST {split}: {labels.shape[0] if labels.ndim else 0} labels for "
                f"{images.shape[0]} images"
            )
        if labels.max(initial=0) > 9:
            raise DataError(f"MNIST {split} labels hold {labels.max()}, outside 0..9")

    def images(key):
        return (arrays[key].reshape(arrays[key].shape[0], -1) / np.float32(255.0)).astype(np.float32)

    return Dataset(
        "mnist",
        images("train_images"),
        arrays["train_labels"].astype(np.int64),
        images("test_images"),
        arrays["test_labels"].astype(np.int64),
        10,
    )


# ---------------------------------------------------------------------------------------------
# NETtalk
# ---------------------------------------------------------------------------------------------
def _load_npz(path: Path, keys: list[str]) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataError(f"{path} not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing arrays {missing}")
            return {k: npz[k] for k in keys}
    except DAMAGED_ARCHIVE as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path}: cannot read ({type(err).__name__}: {err})") from err


def load_nettalk(data_dir: str | os.PathLike | None = None) -> Dataset:
    """NETtalk (5,033 train / 500 test): 189 one-hot inputs (7 letters x 27 symbols) and 26
    multi-hot targets (21 articulatory + 5 stress features), from
    ``<data_dir>/nettalk/nettalk_small.npz``."""
    root = resolve_data_dir(data_dir, NETTALK_FILE)
    arrays = _load_npz(root / NETTALK_FILE, ["train_x", "train_y", "test_x", "test_y"])
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.ndim != 2 or x.shape[1] != 189 or y.ndim != 2 or y.shape != (x.shape[0], 26):
            raise DataError(
                f"NETtalk {split}: x {x.shape} and y {y.shape}, expected (n, 189) and (n, 26)"
            )
        for name, values in ((f"{split}_x", x), (f"{split}_y", y)):
            odd = values[(values != 0) & (values != 1)]  # NaN included
            if odd.size:
                raise DataError(f"NETtalk {name} holds values other than 0 and 1 (e.g. "
                                f"{odd.flat[0].item()!r})")
    return Dataset(
        "nettalk",
        arrays["train_x"].astype(np.float32),
        arrays["train_y"].astype(np.float32),
        arrays["test_x"].astype(np.float32),
        arrays["test_y"].astype(np.float32),
        26,
    )


# ---------------------------------------------------------------------------------------------
# N-MNIST subset
# ---------------------------------------------------------------------------------------------
def bin_events(
    x: np.ndarray, y: np.ndarray, p: np.ndarray, t_us: np.ndarray, window_us: int, n_bins: int
) -> np.ndarray:
    """Count the events of one recording into ``n_bins`` frames of ``window_us`` microseconds:
    an array ``(n_bins, 2, 34, 34)`` of uint16 counts. Events after the last bin are dropped
    (the caller chose the duration); events outside the sensor are an error."""
    if window_us <= 0 or n_bins <= 0:
        raise LavaPlasticError(f"window_us and n_bins must be positive, got {window_us}, {n_bins}")
    if x.size and (x.max() >= 34 or y.max() >= 34 or p.max() > 1):
        raise DataError("N-MNIST event outside the 34x34 sensor or polarity other than 0/1")
    frame = t_us.astype(np.int64) // window_us
    keep = frame < n_bins
    frames = np.zeros((n_bins,) + NMNIST_SHAPE, dtype=np.uint16)
    np.add.at(frames, (frame[keep], p[keep], y[keep], x[keep]), 1)
    return frames


def load_nmnist(
    data_dir: str | os.PathLike | None = None,
    window_us: int = 10_000,
    duration_us: int = 300_000,
    binary: bool = True,
) -> Dataset:
    """The N-MNIST subset (1,000 train / 100 test recordings) from
    ``<data_dir>/nmnist_small/nmnist_small.npz``, binned into spike frames.

    Inputs have shape ``(n, T, 2, 34, 34)`` with ``T = ceil(duration_us / window_us)``:
    binary spikes (an event in the window) as float32 if ``binary``, else event counts.
    """
    if window_us <= 0 or duration_us <= 0:
        raise LavaPlasticError(
            f"window_us and duration_us must be positive, got {window_us}, {duration_us}"
        )
    n_bins = -(-duration_us // window_us)
    root = resolve_data_dir(data_dir, NMNIST_FILE)
    keys = [f"{s}_{k}" for s in ("train", "test") for k in ("x", "y", "p", "t_us", "offsets", "labels")]
    arrays = _load_npz(root / NMNIST_FILE, keys)
    splits = {}
    for split in ("train", "test"):
        for key in ("x", "y", "p", "t_us", "offsets", "labels"):
            values = arrays[f"{split}_{key}"]
            if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
                raise DataError(f"N-MNIST {split}_{key} must be a 1-D array of integers, got "
                                f"{values.dtype} of shape {values.shape}")
            if values.size and values.min() < 0:
                raise DataError(f"N-MNIST {split}_{key} holds a negative value "
                                f"({values.min()})")
        lengths = {arrays[f"{split}_{k}"].shape[0] for k in ("x", "y", "p", "t_us")}
        if len(lengths) != 1:
            raise DataError(f"N-MNIST {split}: the event arrays x, y, p, t_us have different "
                            f"lengths {sorted(lengths)}")
        off, labels = arrays[f"{split}_offsets"], arrays[f"{split}_labels"]
        n_events = arrays[f"{split}_x"].shape[0]
        if off.ndim != 1 or off.shape[0] != labels.shape[0] + 1 or off[0] != 0 or off[-1] != n_events:
            raise DataError(
                f"N-MNIST {split}: offsets {off.shape} do not index {n_events} events of "
                f"{labels.shape[0]} samples"
            )
        if np.any(np.diff(off) < 0):
            raise DataError(f"N-MNIST {split}: offsets are not non-decreasing")
        if labels.max(initial=0) > 9:
            raise DataError(f"N-MNIST {split}: label {labels.max()} outside 0..9")
        frames = np.stack(
            [
                bin_events(
                    *(arrays[f"{split}_{k}"][off[i] : off[i + 1]] for k in ("x", "y", "p", "t_us")),
                    window_us,
                    n_bins,
                )
                for i in range(labels.shape[0])
            ]
        )
        splits[split] = ((frames > 0).astype(np.float32) if binary else frames, labels.astype(np.int64))
    return Dataset("nmnist", *splits["train"], *splits["test"], 10)


# ---------------------------------------------------------------------------------------------
# Encoders
# ---------------------------------------------------------------------------------------------
def _check_unit_interval(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 2:
        raise LavaPlasticError(f"expected values of shape (batch, features), got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise LavaPlasticError("input holds NaN or infinite values")
    if values.size and (values.min() < 0.0 or values.max() > 1.0):
        raise LavaPlasticError(
            f"input values must lie in [0, 1], got [{values.min()}, {values.max()}]"
        )
    return values


def direct_current(values: np.ndarray, n_steps: int, payload_scale: int | None = None) -> np.ndarray:
    """Direct coding: the value at each of ``n_steps`` steps,
    ``(batch, features) -> (batch, n_steps, features)``.

    For a fixed-point network with a graded first layer pass ``payload_scale``: the values
    become integer payloads ``round(value * payload_scale)`` (round half to even), e.g. 255
    for 8-bit pixel payloads.
    """
    values = _check_unit_interval(values)
    if n_steps <= 0:
        raise LavaPlasticError(f"n_steps must be positive, got {n_steps}")
    current = values.astype(np.float64)
    if payload_scale is not None:
        if int(payload_scale) != payload_scale or payload_scale < 1:
            raise LavaPlasticError(f"payload_scale must be a positive integer, got {payload_scale}")
        current = np.rint(current * payload_scale).astype(np.int64)
    return np.repeat(current[:, None, :], n_steps, axis=1)


def rate_spikes(values: np.ndarray, n_steps: int, seed: int, max_rate: float = 1.0) -> np.ndarray:
    """Bernoulli rate coding: at each step a feature spikes with probability
    ``value * max_rate`` (the discrete-time Poisson process), drawn from ``seed``.
    Returns 0/1 float32 of shape ``(batch, n_steps, features)``."""
    values = _check_unit_interval(values)
    if n_steps <= 0:
        raise LavaPlasticError(f"n_steps must be positive, got {n_steps}")
    if not 0.0 < max_rate <= 1.0:
        raise LavaPlasticError(f"max_rate must be in (0, 1], got {max_rate}")
    rng = np.random.default_rng(seed)
    draws = rng.random((values.shape[0], n_steps, values.shape[1]))
    return (draws < values[:, None, :] * max_rate).astype(np.float32)


IMAGE_SHAPES = {"digits": (8, 8), "mnist": (28, 28)}
"""The frame of each image data set whose samples are flattened images."""


def random_shifts(x: np.ndarray, image_shape: tuple[int, int], max_shift: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Training-set augmentation: each flattened image of ``x`` ``(n, h * w)`` translated by its
    own random ``(dy, dx)``, each drawn uniformly from ``-max_shift .. max_shift``; pixels moved in
    from outside the frame are 0."""
    h, w = image_shape
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != h * w:
        raise LavaPlasticError(f"images must have shape (n, {h * w}) for {h}x{w} images, got "
                               f"{x.shape}")
    if int(max_shift) != max_shift or not 0 <= max_shift < min(h, w):
        raise LavaPlasticError(f"max_shift must be an integer in [0, {min(h, w) - 1}], got "
                               f"{max_shift!r}")
    n, m = len(x), int(max_shift)
    dy, dx = rng.integers(-m, m + 1, size=(2, n))
    padded = np.pad(x.reshape(n, h, w), ((0, 0), (m, m), (m, m)))
    rows = (m - dy)[:, None, None] + np.arange(h)[None, :, None]
    cols = (m - dx)[:, None, None] + np.arange(w)[None, None, :]
    return padded[np.arange(n)[:, None, None], rows, cols].reshape(n, h * w)


def load(name: str, data_dir: str | os.PathLike | None = None, seed: int = 0) -> Dataset:
    """Load a data set by name: ``digits`` (bundled), ``mnist``, ``nettalk`` or ``nmnist``."""
    if name == "digits":
        return load_digits(seed=seed)
    loaders = {"mnist": load_mnist, "nettalk": load_nettalk, "nmnist": load_nmnist}
    if name not in loaders:
        raise LavaPlasticError(f"unknown dataset {name!r}; choose from digits, "
                               f"{', '.join(loaders)}")
    return loaders[name](data_dir)


# ---------------------------------------------------------------------------------------------
# Classes and accuracy of class labels and of multi-hot targets
# ---------------------------------------------------------------------------------------------
def class_ids(targets: np.ndarray) -> np.ndarray:
    """Each sample's class: its label, or for multi-hot targets ``(n, C)`` the index of its
    target row among the distinct rows (NETtalk's 116 phoneme-and-stress codes)."""
    targets = np.asarray(targets)
    if targets.ndim == 1:
        return targets.astype(np.int64)
    return np.unique(targets, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def accuracy(data: Dataset, scores, targets) -> float:
    """The accuracy of output ``scores`` ``(n, C)`` (spike counts, say). Class labels: the
    fraction classified correctly (the highest score; the lowest index on ties). Multi-hot
    targets (NETtalk): LOCO A.12's accuracy, the mean cosine similarity between each output
    and its target, an output of all zeros scoring 0. A.12 defines the NETtalk accuracy as "the
    cosine similarity distance of identified phonemes and real phonemes", a graded score that
    credits a partly right phoneme; :func:`code_accuracy` is the stricter exact-code reading."""
    scores, targets = np.asarray(scores, dtype=np.float64), np.asarray(targets)
    if targets.ndim == 1:
        return float(np.mean(scores.argmax(axis=1) == targets))
    norms = np.linalg.norm(scores, axis=1) * np.linalg.norm(targets, axis=1)
    dots = np.sum(scores * targets, axis=1)
    return float(np.mean(np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)))


def code_accuracy(data: Dataset, scores, targets) -> float:
    """Multi-hot targets only: the fraction of samples whose output identifies their own code,
    the one of the training set's distinct target rows (NETtalk's 116 phoneme-and-stress codes)
    with the largest cosine similarity to the output (an output of all zeros identifies none)."""
    scores, targets = np.asarray(scores, dtype=np.float64), np.asarray(targets)
    codes = np.unique(np.asarray(data.train_y), axis=0).astype(np.float64)
    norms = np.linalg.norm(scores, axis=1)
    similarity = (scores @ (codes / np.linalg.norm(codes, axis=1, keepdims=True)).T)
    identified = codes[similarity.argmax(axis=1)]
    correct = np.all(identified == targets, axis=1) & (norms > 0)
    return float(np.mean(correct))
