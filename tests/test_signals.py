"""Ctrl-C and SIGTERM during a real training run of the Lava backend: the command ends promptly
with one line on stderr and no traceback, no process of its session and no new /dev/shm segment
remains, and the finished epochs' results are on disk. Also SIGTERM during an engine run."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from child_processes import reaped, sigint_as_in_a_terminal, signal_and_wait

pytestmark = pytest.mark.lava
SHM = Path("/dev/shm")


def session_processes(sid: int) -> list[int]:
    """Live (non-zombie) processes of session ``sid``."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def start_training(tmp_path, backend: str, epochs: int = 200):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "lava_plastic.cli", "train", "--backend", backend,
               "--precision", "fixed", "--epochs", str(epochs), "--hidden", "32",
               "--max-train", "60", "--max-test", "20", "--no-progress", "--out", str(out)]
    log = tmp_path / "stdout.txt"
    with open(log, "w") as stdout:
        proc = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, preexec_fn=sigint_as_in_a_terminal,
                                env=dict(os.environ, PYTHONUNBUFFERED="1"))
    proc.log = log
    return proc, out


def wait_for_epochs(proc, minimum: int, timeout: float = 240):
    """Wait until the run has printed ``minimum`` finished epochs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        lines = [line for line in proc.log.read_text().splitlines() if line.startswith("epoch ")]
        if len(lines) >= minimum:
            return lines
        time.sleep(0.2)
    raise AssertionError(f"fewer than {minimum} epochs after {timeout} s")


def assert_all_gone(sid: int, shm_before: set, grace: float = 15):
    """No process of the session and no new shared-memory segment, within ``grace`` seconds
    (Python's resource tracker needs a moment to notice its parent is gone)."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        left, segments = session_processes(sid), set(os.listdir(SHM)) - shm_before
        if not left and not segments:
            return
        time.sleep(0.25)
    raise AssertionError(f"left behind: processes {left}, shared memory {sorted(segments)[:5]}")


@pytest.mark.parametrize("signum, to_group, code", [
    (signal.SIGINT, True, 130),     # Ctrl-C in a terminal: the whole foreground process group
    (signal.SIGTERM, False, 143),   # kill PID
    (signal.SIGTERM, True, 143),    # a job controller stopping the group
])
def test_lava_training_stops_cleanly(tmp_path, signum, to_group, code):
    shm_before = set(os.listdir(SHM))
    proc, out = start_training(tmp_path, "lava")
    with reaped(proc):
        wait_for_epochs(proc, minimum=1)
        assert len(children_of(proc.pid)) >= 3, "the Lava runtime is not running"
        stderr = signal_and_wait(proc, signum, to_group)
    assert proc.returncode == code, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("lava-plastic: stopped by"), stderr[-3000:]
    assert_all_gone(proc.pid, shm_before)
    results = json.loads((out / "results.json").read_text())
    assert results["interrupted"] == ("SIGINT" if signum == signal.SIGINT else "SIGTERM")
    assert results["epochs"] >= 1 and len(results["history"]) == results["epochs"]


def test_engine_training_keeps_finished_epochs_on_sigterm(tmp_path):
    proc, out = start_training(tmp_path, "engine", epochs=100000)
    with reaped(proc):
        wait_for_epochs(proc, minimum=2)
        stderr = signal_and_wait(proc, signal.SIGTERM)
    assert proc.returncode == 143, stderr[-3000:]
    assert "Traceback" not in stderr
    results = json.loads((out / "results.json").read_text())
    assert results["interrupted"] == "SIGTERM" and results["epochs"] >= 2


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stock_graph_run_stops_cleanly(tmp_path, signum):
    """The stock LIF graph (``run_lava``, the self-check's path) signalled mid-run as a group."""
    script = """
import numpy as np
from lava_plastic.lava_graph import run_lava
from lava_plastic.network import random_network
net = random_network(np.random.default_rng(0), (20, 10, 5), "fixed")
x = (np.random.default_rng(1).random((1, 100000, 20)) < 0.3).astype(int)
run_lava(net, x, record_state=False)
"""
    shm_before = set(os.listdir(SHM))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=sigint_as_in_a_terminal)
    with reaped(proc):
        deadline = time.monotonic() + 120
        while len(children_of(proc.pid)) < 4:  # the runtime service and the model processes
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.2)
        time.sleep(2)
        signal_and_wait(proc, signum, to_group=True)
    assert proc.returncode in (-signal.SIGINT, 130, 143, 1)
    assert_all_gone(proc.pid, shm_before)
