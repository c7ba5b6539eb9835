"""Tiny stand-ins for the data sets' files (valid unless changed), for the tests of the loaders'
refusals: ``files(name, **changes)`` maps each file's path under the data directory to its
bytes, ``write(root, files)`` puts them there. A change replaces one array; ``None`` leaves it
out (a missing array, or for MNIST a missing file)."""
import io
import zipfile
from pathlib import Path

import numpy as np

from lava_plastic import datasets


def nettalk_arrays() -> dict:
    rng = np.random.default_rng(0)
    return dict(train_x=(rng.random((6, 189)) < 0.04).astype(np.uint8),
                train_y=(rng.random((6, 26)) < 0.2).astype(np.uint8),
                test_x=(rng.random((3, 189)) < 0.04).astype(np.uint8),
                test_y=(rng.random((3, 26)) < 0.2).astype(np.uint8))


def nmnist_arrays() -> dict:
    """Three train and two test recordings of four events each."""
    arrays = {}
    for split, n in (("train", 3), ("test", 2)):
        events = 4 * n
        arrays.update({f"{split}_x": np.arange(events, dtype=np.uint8) % 34,
                       f"{split}_y": np.arange(events, dtype=np.uint8) % 34,
                       f"{split}_p": np.arange(events, dtype=np.uint8) % 2,
                       f"{split}_t_us": np.arange(events, dtype=np.uint32) * 1000,
                       f"{split}_offsets": np.arange(0, events + 1, 4, dtype=np.int64),
                       f"{split}_labels": np.arange(n, dtype=np.uint8)})
    return arrays


def mnist_arrays() -> dict:
    return dict(train_images=np.arange(4 * 28 * 28).reshape(4, 28, 28) % 256,
                train_labels=np.arange(4), test_images=np.zeros((2, 28, 28)),
                test_labels=np.arange(2))


def idx_bytes(array, magic: bytes | None = None) -> bytes:
    """``array`` as an IDX file of unsigned bytes (``magic``: another first four bytes)."""
    array = np.asarray(array)
    header = magic if magic is not None else bytes([0, 0, 8, array.ndim])
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + dims + array.astype(np.uint8).tobytes()


def npz_bytes(arrays: dict) -> bytes:
    """``arrays`` as ``np.savez`` writes them, but with a fixed timestamp: the same bytes on
    every run, so a corruption at a given offset always hits the same field."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                             member.getvalue())
    return buffer.getvalue()


def unknown_compression(archive: bytes) -> bytes:
    """``archive`` (a zip file) with every member's compression method set to 99, which no
    reader knows (as one flipped byte can do)."""
    damaged = bytearray(archive)
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = damaged.find(signature)
        while at >= 0:
            damaged[at + offset : at + offset + 2] = (99).to_bytes(2, "little")
            at = damaged.find(signature, at + 4)
    return bytes(damaged)


def files(name: str, **changes) -> dict[str, bytes]:
    """The files of data set ``name`` (``mnist``, ``nettalk``, ``nmnist``) with ``changes``."""
    arrays = dict(dict(mnist=mnist_arrays, nettalk=nettalk_arrays, nmnist=nmnist_arrays)[name](),
                  **changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    if name == "mnist":
        return {f"mnist/{stem}": idx_bytes(arrays[key])
                for key, stem in datasets.MNIST_FILES.items() if key in arrays}
    path = datasets.NETTALK_FILE if name == "nettalk" else datasets.NMNIST_FILE
    return {str(path): npz_bytes(arrays)}


def write(root, contents: dict[str, bytes]) -> None:
    for relative, data in contents.items():
        path = Path(root) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
