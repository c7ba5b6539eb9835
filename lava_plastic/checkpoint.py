"""Checkpoints of engine training and atomic writes of a run's files.

A checkpoint holds everything a run needs to continue exactly where it stopped: the weights,
the feedback matrices (DRTP's ``B``, OPZO's ``M``), the optimiser's state, the rule's own state
(LOCO's direction buffers), the write and sample counters that key the stochastic rounding and
every noise stream, the epochs finished and the batches finished in the next one, the shuffling
generator's state at that epoch's start (its batches are drawn again, identically), the
outputs seen so far in the unfinished epoch and the history. Continued from a checkpoint, a run
ends with the weights of the same run never stopped: bit for bit in fixed point, and in float
with the same thread count (the same arithmetic in the same order).

The file, ``checkpoint.npz``, is a numpy archive without pickles: a JSON header (format
version, the run's configuration and data fingerprint, counters, generator state, history, the
layout of the state) and the state's arrays. It is written atomically (:func:`write_atomically`:
a temporary file in the same folder, flushed to disk, then renamed over the old one), so a kill
at any moment leaves the old checkpoint or the new one, never part of either. Reading checks
the version, the configuration and every array and raises :class:`CheckpointError`, naming the
problem, for anything else.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lava_plastic.errors import DAMAGED_ARCHIVE, LavaPlasticError
from lava_plastic.learning.engine import TrainState
from lava_plastic.xp import like, to_numpy

VERSION = 1
"""The checkpoint format; a file of another version is refused."""
FILE = "checkpoint.npz"
RESULTS = "results.json"


class CheckpointError(LavaPlasticError):
    """A checkpoint that cannot be used: missing, corrupt, truncated, of another format
    version, or of another run (rule, sizes, precision, data)."""


@dataclass(frozen=True)
class Checkpoint:
    """A run's position: ``config`` (the training configuration as a dict), ``data`` (the
    fingerprint of the data it trains on), ``epoch`` (epochs finished), ``batch`` (batches
    finished in epoch ``epoch + 1``), ``rng_state`` (the shuffling generator at the start of
    epoch ``epoch + 1``), ``history`` (the finished epochs' entries), ``seconds`` (training
    seconds spent in the unfinished epoch), ``state`` (the engine's :class:`TrainState`, numpy
    arrays) and ``seen`` (the outputs seen in the unfinished epoch, or ``None``)."""

    config: dict
    data: list
    epoch: int
    batch: int
    rng_state: dict
    history: list
    seconds: float
    state: TrainState
    seen: np.ndarray | None = None


def write_atomically(path: Path, write, by_name: bool = False) -> None:
    """``write(file)`` into a temporary file next to ``path``, flushed to disk, then renamed
    over ``path``: readers see the old file or the whole new one. On failure (a full disk,
    say) the temporary file is removed, ``path`` is unchanged and the ``OSError`` propagates.
    ``by_name``: ``write`` is given the temporary file's name instead (HDF5 writers open the
    file themselves)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # as leftovers() finds it
    try:
        if by_name:
            write(temporary)
        with open(temporary, "ab" if by_name else "wb") as file:
            if not by_name:
                write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    try:  # the rename itself reaches the disk with the folder's entry
        folder = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder)
    except OSError:
        pass
    finally:
        os.close(folder)


def leftovers(path: Path) -> list[Path]:
    """The temporary files of :func:`write_atomically` for ``path`` that a process killed while
    writing left behind."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def write_json(path: Path, value) -> None:
    """``value`` as indented JSON, atomically. Not-a-number and infinities are refused (they
    are not JSON): a value that may hold them is cleaned first (:func:`finite_or_none`)."""
    text = json.dumps(value, indent=2, allow_nan=False) + "\n"
    write_atomically(path, lambda file: file.write(text.encode()))


def finite_or_none(value):
    """``value`` with every float that is not finite replaced by ``None`` (JSON's null)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def _encode(value, arrays: dict):
    """A JSON layout of ``value`` (``None``, ints, floats, tuples and arrays), its arrays put
    into ``arrays`` under fresh names."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise LavaPlasticError("a training state holds no booleans")
    if isinstance(value, (int, np.integer)):
        return {"int": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"float": float(value)}
    if isinstance(value, (tuple, list)):
        return {"tuple": [_encode(v, arrays) for v in value]}
    name = f"a{len(arrays)}"
    arrays[name] = to_numpy(value)
    return {"array": name}


def _decode(layout, arrays, place):
    if layout is None:
        return None
    if not isinstance(layout, dict) or len(layout) != 1:
        raise CheckpointError(f"the state's layout is damaged ({str(layout)[:60]})")
    (kind, value), = layout.items()
    if kind == "int" and isinstance(value, int):
        return value
    if kind == "float" and isinstance(value, (int, float)):
        return float(value)
    if kind == "tuple" and isinstance(value, list):
        return tuple(_decode(v, arrays, place) for v in value)
    if kind == "array" and value in arrays:
        return place(arrays[value])
    raise CheckpointError(f"the state's layout is damaged ({kind!r})")


STATE_FIELDS = ("weights", "feedback", "opt_state", "n_updates", "n_samples", "rule_state")
"""The :class:`TrainState` fields a checkpoint holds; ``rule_state`` stays on the host."""


def save(path: Path, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` to ``path`` atomically (raises ``OSError`` if the disk refuses)."""
    arrays = {}
    layout = {name: _encode(getattr(checkpoint.state, name), arrays) for name in STATE_FIELDS}
    if checkpoint.seen is not None:
        arrays["seen"] = np.asarray(checkpoint.seen)
    header = dict(version=VERSION, config=checkpoint.config, data=checkpoint.data,
                  epoch=checkpoint.epoch, batch=checkpoint.batch,
                  rng_state=checkpoint.rng_state, history=finite_or_none(checkpoint.history),
                  seconds=checkpoint.seconds, layout=layout)
    arrays["header"] = np.frombuffer(json.dumps(header, allow_nan=False).encode(),
                                     dtype=np.uint8)

    def write(file):
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        file.write(buffer.getvalue())

    write_atomically(path, write)


def load(path: Path, template=None) -> Checkpoint:
    """The checkpoint in ``path``; the weights, feedback and optimiser arrays moved where
    ``template`` lives (``None``: numpy). Raises :class:`CheckpointError` for a missing,
    corrupt, truncated or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except DAMAGED_ARCHIVE as err:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated "
                              f"({type(err).__name__}: {str(err)[:80]})") from None
    try:
        header = json.loads(arrays.pop("header").tobytes().decode())
        if not isinstance(header, dict):
            raise LavaPlasticError("not an object")
    except (KeyError, ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"checkpoint {path} has no readable header ({err})") from None
    if header.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path} is of format version "
                              f"{header.get('version')!r}; this lava-plastic reads version "
                              f"{VERSION}")
    try:
        seen = arrays.pop("seen", None)
        layout = header["layout"]
        state = TrainState(**{  # the rule's state stays on the host
            name: _decode(layout[name], arrays,
                          (lambda a: a) if name == "rule_state" else (lambda a: like(template, a)))
            for name in STATE_FIELDS})
        checkpoint = Checkpoint(config=dict(header["config"]), data=list(header["data"]),
                                epoch=int(header["epoch"]), batch=int(header["batch"]),
                                rng_state=dict(header["rng_state"]),
                                history=list(header["history"]),
                                seconds=float(header["seconds"]), state=state, seen=seen)
    except CheckpointError as err:
        raise CheckpointError(f"checkpoint {path}: {err}") from None
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} lacks part of its header "
                              f"({type(err).__name__}: {err})") from None
    if checkpoint.epoch < 0 or checkpoint.batch < 0 or checkpoint.seconds < 0:
        raise CheckpointError(f"checkpoint {path} has negative counters")
    return checkpoint
