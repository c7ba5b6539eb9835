"""Checkpoints, exact resume, the run's folder and atomic results (issue 11).

A run resumed from any of its checkpoints (every few batches, mid-epoch and at epoch
boundaries) ends with the state of the same run never stopped: weights, feedback matrices,
optimiser and rule state, counters and history, for DRTP, OPZO and LOCO in float and fixed
point. Corrupt, truncated and foreign checkpoints are refused with one clear error and leave
every file as it was; a full disk while writing keeps the previous checkpoint."""
import errno
import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from child_processes import reaped, sigint_as_in_a_terminal, signal_and_wait

from lava_plastic import checkpoint, cli
from lava_plastic.train import RunFilesError, TrainConfig, chunk_bounds, prepare_output, run

QUIET = dict(log=lambda *_: None)
RUNS = {
    "drtp-float": dict(epochs=2, max_train=120, max_test=40),
    "drtp-fixed": dict(epochs=2, max_train=120, max_test=40, precision="fixed"),
    "loco-float": dict(rule="loco", epochs=2, max_train=320, max_test=40, batch_size=32,
                       class_batches=True, lr=2.0**-4, output_init=0.03),
    "loco-fixed": dict(rule="loco", epochs=2, max_train=320, max_test=40, batch_size=32,
                       class_batches=True, lr=2.0**-4, output_init=0.03, precision="fixed"),
    "opzo-float": dict(rule="opzo", epochs=2, max_train=160, max_test=40, batch_size=16,
                       optimizer="adamw", weight_decay=2e-4, schedule="cosine", lr=2e-4,
                       hidden=(32, 32), steps=4, dropout=0.2),
    "opzo-fixed": dict(rule="opzo", epochs=2, max_train=160, max_test=40, batch_size=16,
                       precision="fixed", lr=2.0**-12, hidden=(32, 32), steps=4, loss="sse",
                       feedback_gain=64.0, momentum=1 - 2.0**-10),
}


def assert_same_state(a: checkpoint.Checkpoint, b: checkpoint.Checkpoint):
    """Every array of the two states equal (exactly), and the same counters and history."""
    layout_a, layout_b = {}, {}
    for name in checkpoint.STATE_FIELDS:
        arrays_a, arrays_b = {}, {}
        layout_a[name] = checkpoint._encode(getattr(a.state, name), arrays_a)
        layout_b[name] = checkpoint._encode(getattr(b.state, name), arrays_b)
        assert layout_a[name] == layout_b[name], name
        for key in arrays_a:
            assert arrays_a[key].dtype == arrays_b[key].dtype, (name, key)
            assert np.array_equal(arrays_a[key], arrays_b[key]), (name, key)
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in a.history]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in b.history]
    assert (a.epoch, a.batch, a.rng_state) == (b.epoch, b.batch, b.rng_state)


@pytest.mark.parametrize("name", list(RUNS))
def test_resume_from_any_checkpoint_ends_as_the_run_never_stopped(name, tmp_path, monkeypatch):
    base = TrainConfig(progress=False, **RUNS[name])
    run(replace(base, out=str(tmp_path / "whole")), **QUIET)
    whole = checkpoint.load(tmp_path / "whole" / checkpoint.FILE)
    # the same run with a checkpoint every 2 batches: each one written is kept as it was
    snapshots, save = [], checkpoint.save

    def keep(path, point):
        save(path, point)
        snapshots.append((point.epoch, point.batch, Path(path).read_bytes()))

    monkeypatch.setattr(checkpoint, "save", keep)
    run(replace(base, out=str(tmp_path / "kept"), checkpoint_every=2, checkpoint_unit="batch"),
        **QUIET)
    monkeypatch.setattr(checkpoint, "save", save)
    assert_same_state(checkpoint.load(tmp_path / "kept" / checkpoint.FILE), whole)
    positions = [(e, b) for e, b, _ in snapshots]
    per_epoch = max(b for e, b in positions if e == 0)
    assert positions[:2] == [(0, 2), (0, 4)] and positions[-1] == (2, 0)
    # resume from the first, the first epoch's last batch and a mid-epoch one of each epoch
    chosen = {0, positions.index((0, per_epoch)), len(snapshots) // 4,
              3 * len(snapshots) // 4}
    for i in sorted(chosen):
        folder = tmp_path / f"resumed{i}"
        folder.mkdir()
        (folder / checkpoint.FILE).write_bytes(snapshots[i][2])
        results = run(replace(base, out=str(folder)), resume=True, **QUIET)
        assert results["status"] == "finished" and results["epochs"] == base.epochs
        assert_same_state(checkpoint.load(folder / checkpoint.FILE), whole)


def test_chunks_end_at_every_checkpoint_and_every_tenth_batch():
    assert chunk_bounds(25, 0) == [(0, 10), (10, 20), (20, 25)]
    assert chunk_bounds(25, 7) == [(7, 10), (10, 20), (20, 25)]
    assert chunk_bounds(25, 0, every=4) == [(0, 4), (4, 8), (8, 10), (10, 12), (12, 16),
                                            (16, 20), (20, 24), (24, 25)]
    assert chunk_bounds(5, 5) == []


# ---------------------------------------------------------------------------------------------
# Bad checkpoints: one clear error, nothing overwritten
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
    """A DRTP run's folder holding a mid-epoch checkpoint (as a kill would leave it)."""
    folder = tmp_path_factory.mktemp("interrupted")
    config = TrainConfig(epochs=2, max_train=60, max_test=20, progress=False, out=str(folder),
                         checkpoint_every=25, checkpoint_unit="batch")
    saved = []
    original = checkpoint.save

    def first_only(path, point):
        if not saved:
            original(path, point)
        saved.append(point.batch)

    checkpoint.save = first_only
    try:
        run(config, **QUIET)
    finally:
        checkpoint.save = original
    (folder / checkpoint.RESULTS).unlink()
    (folder / "accuracy.png").unlink()
    return config, folder, (folder / checkpoint.FILE).read_bytes()


def corrupt(data: bytes, how: str) -> bytes:
    if how == "truncated":
        return data[: len(data) // 2]
    if how == "empty":
        return b""
    if how == "garbage":
        return bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8))
    if how == "flipped":  # a byte inside the archive's compressed-free payload
        damaged = bytearray(data)
        damaged[len(data) // 3] ^= 0xFF
        return bytes(damaged)
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["truncated", "empty", "garbage", "flipped"])
def test_a_damaged_checkpoint_is_refused_and_left_alone(interrupted_run, tmp_path, how):
    config, folder, data = interrupted_run
    target = tmp_path / "run"
    target.mkdir()
    damaged = corrupt(data, how)
    (target / checkpoint.FILE).write_bytes(damaged)
    with pytest.raises(checkpoint.CheckpointError, match="checkpoint"):
        run(replace(config, out=str(target)), resume=True, **QUIET)
    assert (target / checkpoint.FILE).read_bytes() == damaged
    assert sorted(p.name for p in target.iterdir()) == [checkpoint.FILE]


def rewrite_header(data: bytes, change) -> bytes:
    import io

    with np.load(io.BytesIO(data)) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays["header"].tobytes().decode())
    change(header)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize("change, override, message", [
    (lambda h: h.update(version=99), {}, "format version 99; this lava-plastic reads version 1"),
    (lambda h: None, dict(rule="dfa"), "is of another run: its rule is 'drtp', this run's 'dfa'"),
    (lambda h: None, dict(hidden=(50,)), "its hidden is [100], this run's [50]"),
    (lambda h: None, dict(precision="fixed"), "its precision is 'float', this run's 'fixed'"),
    (lambda h: None, dict(max_train=59), "its max_train is 60, this run's 59"),
    (lambda h: h.update(data=[1, 2, 3, 4]), {}, "was trained on other data"),
    (lambda h: h.pop("rng_state"), {}, "lacks part of its header"),
    (lambda h: h["layout"].update(weights={"array": "a999"}), {}, "layout is damaged"),
    (lambda h: h.update(epoch=-1), {}, "negative counters"),
])
def test_a_foreign_checkpoint_is_refused(interrupted_run, tmp_path, change, override, message):
    config, folder, data = interrupted_run
    target = tmp_path / "run"
    target.mkdir()
    foreign = rewrite_header(data, change)
    (target / checkpoint.FILE).write_bytes(foreign)
    with pytest.raises(checkpoint.CheckpointError) as caught:
        run(replace(config, out=str(target), **override), resume=True, **QUIET)
    assert message in str(caught.value)
    assert (target / checkpoint.FILE).read_bytes() == foreign


def test_resume_refuses_a_finished_run_and_a_folder_without_checkpoint(tmp_path):
    config = TrainConfig(epochs=1, max_train=30, max_test=10, progress=False,
                         out=str(tmp_path / "done"))
    run(config, **QUIET)
    with pytest.raises(RunFilesError, match="has finished: nothing to resume"):
        run(config, resume=True, **QUIET)
    with pytest.raises(RunFilesError, match="holds no checkpoint to resume from"):
        run(replace(config, out=str(tmp_path / "empty")), resume=True, **QUIET)


# ---------------------------------------------------------------------------------------------
# The run's folder and its files
# ---------------------------------------------------------------------------------------------
def test_the_output_folder_is_checked_before_any_work(tmp_path, interrupted_run):
    config = TrainConfig(epochs=1, max_train=30, max_test=10, progress=False)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(RunFilesError, match=f"the output folder {a_file} is a file"):
        prepare_output(a_file)
    with pytest.raises(RunFilesError, match=f"cannot write into the output folder "
                                            f"{a_file / 'below'}: {a_file} is a file"):
        prepare_output(a_file / "below")
    prepare_output(tmp_path / "new" / "folder")  # checked, not made
    assert not (tmp_path / "new").exists()
    finished = tmp_path / "finished"
    run(replace(config, out=str(finished)), **QUIET)
    before = (finished / checkpoint.RESULTS).read_text()
    with pytest.raises(RunFilesError, match="already holds a finished run: choose another "
                                            "--out or pass --overwrite"):
        run(replace(config, out=str(finished)), **QUIET)
    assert (finished / checkpoint.RESULTS).read_text() == before
    _, stopped, _ = interrupted_run
    with pytest.raises(RunFilesError, match=r"an interrupted run \(--resume continues it\)"):
        prepare_output(stopped)
    # --overwrite: the earlier run's files are gone before the new run starts
    prepare_output(finished, overwrite=True)
    assert list(finished.iterdir()) == []


def test_results_are_valid_json_with_a_status_and_no_nan(tmp_path):
    out = tmp_path / "run"
    results = run(TrainConfig(epochs=2, max_train=30, max_test=10, progress=False,
                              out=str(out)), **QUIET)
    written = json.loads((out / checkpoint.RESULTS).read_text())
    assert written["status"] == results["status"] == "finished"
    assert [h["epoch"] for h in written["history"]] == [1, 2]
    assert checkpoint.finite_or_none({"a": [1.0, float("nan")], "b": float("inf"), "c": 2}) \
        == {"a": [1.0, None], "b": None, "c": 2}
    with pytest.raises(ValueError):
        checkpoint.write_json(tmp_path / "x.json", {"a": float("nan")})
    assert not (tmp_path / "x.json").exists()


def test_an_atomic_write_that_fails_leaves_the_old_file(tmp_path):
    path = tmp_path / "file"
    path.write_bytes(b"old")

    def fail_half_way(file):
        file.write(b"new, partly")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        checkpoint.write_atomically(path, fail_half_way)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["file"]


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "run"
    config = TrainConfig(epochs=3, max_train=40, max_test=10, progress=False, out=str(out),
                         checkpoint_every=1)
    calls = []
    save = checkpoint.save

    def fails_second_time(path, point):
        calls.append(point.epoch)
        if len(calls) == 2:
            no_space()
        save(path, point)

    monkeypatch.setattr(checkpoint, "save", fails_second_time)
    with pytest.raises(RunFilesError, match="could not write the checkpoint .*No space left "
                                            "on device; the previous one is kept"):
        run(config, **QUIET)
    kept = checkpoint.load(out / checkpoint.FILE)
    assert (kept.epoch, kept.batch) == (1, 0)
    monkeypatch.setattr(checkpoint, "save", save)
    assert run(config, resume=True, **QUIET)["epochs"] == 3


def test_a_full_disk_while_writing_results_is_one_line_and_keeps_the_checkpoint(
        tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    monkeypatch.setattr(checkpoint, "write_json", no_space)
    code = cli.main(["train", "--epochs", "1", "--max-train", "30", "--max-test", "10",
                     "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().splitlines() == [
        f"lava-plastic: could not write {out / 'results.json'}: No space left on device"]
    assert checkpoint.load(out / checkpoint.FILE).epoch == 1


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def test_default_folder_names_say_what_ran():
    config = TrainConfig(rule="loco", dataset="mnist", hidden=(500, 500), epochs=20, seed=3,
                         precision="fixed")
    assert cli.default_out(config) == "runs/loco-mnist-h500x500-engine-fixed-e20-seed3"
    assert cli.default_out(config, "continual-").startswith("runs/continual-loco-mnist-")


@pytest.mark.parametrize("argv, message", [
    (["--checkpoint-every", "0"], "--checkpoint-every takes a positive number of epochs"),
    (["--checkpoint-every", "3x"], "--checkpoint-every takes a positive number of epochs"),
    (["--checkpoint-every", "2", "--backend", "lava"], "checkpoints are taken by the engine"),
    (["--resume", "RUN", "--lr", "0.1"], "with its own settings: leave out --lr"),
    (["--resume", "RUN", "--epochs", "5", "--seed", "1"], "leave out --epochs, --seed"),
    (["--resume", "NOWHERE"], "no checkpoint at NOWHERE/checkpoint.npz"),
])
def test_cli_checkpoint_options_refused_in_one_line(argv, message, tmp_path, capsys,
                                                    interrupted_run):
    _, folder, _ = interrupted_run
    argv = [str(folder) if a == "RUN" else a for a in argv]
    code = cli.main(["train", *argv, "--no-progress"]
                    + ([] if "--resume" in argv else ["--out", str(tmp_path / "x")]))
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert message in err


def test_cli_resume_continues_the_run(interrupted_run, tmp_path, capsys):
    config, folder, data = interrupted_run
    target = tmp_path / "run"
    target.mkdir()
    (target / checkpoint.FILE).write_bytes(data)
    assert cli.main(["train", "--resume", str(target), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "resuming after epoch 0 and 25 batches of the next" in out
    assert json.loads((target / checkpoint.RESULTS).read_text())["status"] == "finished"
    whole = tmp_path / "whole"
    run(replace(config, out=str(whole), checkpoint_every=0), **QUIET)
    assert_same_state(checkpoint.load(target / checkpoint.FILE),
                      checkpoint.load(whole / checkpoint.FILE))


# ---------------------------------------------------------------------------------------------
# Kills and signals of a real command
# ---------------------------------------------------------------------------------------------
def start(out: Path, *extra):
    command = [sys.executable, "-m", "lava_plastic.cli", "train", "--precision", "fixed",
               "--epochs", "4", "--max-train", "400", "--max-test", "20", "--no-progress",
               "--out", str(out), "--checkpoint-every", "7b", *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=sigint_as_in_a_terminal)


def wait_for_checkpoint(proc, path: Path, then: float, timeout: float = 120):
    """Wait for the first checkpoint, then ``then`` seconds more."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint written"
        time.sleep(0.02)
    time.sleep(then)


@pytest.mark.parametrize("signum, code", [(signal.SIGKILL, -9), (signal.SIGTERM, 143),
                                          (signal.SIGINT, 130)])
def test_a_killed_or_stopped_run_resumes_to_the_same_weights(tmp_path, signum, code):
    out = tmp_path / "run"
    proc = start(out)
    with reaped(proc):
        wait_for_checkpoint(proc, out / checkpoint.FILE, 0.3)
        stderr = signal_and_wait(proc, signum)
    assert proc.returncode == code, stderr[-2000:]
    stopped = checkpoint.load(out / checkpoint.FILE)
    assert stopped.epoch < 4, "the run finished before the signal"
    if signum != signal.SIGKILL:  # held until the batches in hand are done, then kept
        assert stderr.strip().splitlines() == [
            f"lava-plastic: stopped by {'Ctrl-C' if signum == signal.SIGINT else 'SIGTERM'}; "
            f"the checkpoint and the results so far are in {out} (--resume {out} continues)"]
        assert json.loads((out / checkpoint.RESULTS).read_text())["status"] == "interrupted"
    resumed = subprocess.run([sys.executable, "-m", "lava_plastic.cli", "train", "--resume",
                              str(out), "--no-progress"], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    config = TrainConfig(precision="fixed", epochs=4, max_train=400, max_test=20,
                         progress=False, out=str(tmp_path / "whole"))
    run(config, **QUIET)
    assert_same_state(checkpoint.load(out / checkpoint.FILE),
                      checkpoint.load(tmp_path / "whole" / checkpoint.FILE))
    assert json.loads((out / checkpoint.RESULTS).read_text())["status"] == "finished"


def test_a_temporary_file_a_kill_left_is_removed_when_the_run_resumes(interrupted_run, tmp_path):
    config, _, data = interrupted_run
    target = tmp_path / "run"
    target.mkdir()
    (target / checkpoint.FILE).write_bytes(data)
    left = target / f".{checkpoint.FILE}.999999.tmp"
    left.write_bytes(data[:100])  # a write cut short by SIGKILL
    run(replace(config, out=str(target)), resume=True, **QUIET)
    assert not left.exists()
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [checkpoint.FILE, checkpoint.RESULTS, "accuracy.png"])
