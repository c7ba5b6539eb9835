"""Stopping a Lava runtime cleanly on errors, Ctrl-C and SIGTERM (lava-nc 0.10.0).

Lava's runtime forks, in ``Runtime.initialize()``, a shared-memory manager server, one process
per ProcessModel and a runtime service. Left to themselves:

* Ctrl-C sends SIGINT to the whole process group: the children die of ``KeyboardInterrupt`` and
  the parent's ``stop()`` then waits for them for ever;
* SIGTERM kills the parent without any clean-up: the children and the ``/dev/shm`` segments
  stay behind.

:class:`RuntimeGuard` fixes both. It creates the runtime with SIGINT and SIGTERM blocked, so
every forked process and every port thread inherits the block and only the parent's main thread
acts on them; while the runtime lives, SIGINT raises ``KeyboardInterrupt`` and SIGTERM raises
:class:`~lava_plastic.interrupt.Terminated` (a ``SystemExit`` with status 143) in the main thread, so ``finally`` blocks
run, and :func:`stop_runtime` stops the runtime. Its STOP handshake replaces ``Runtime.stop()``,
which hangs when no ``run()`` was ever started and raises when an interrupted run's DONE message
is still in the channel; whatever does not stop in time is killed (SIGKILL: the children's
SIGTERM is blocked) and the segments are unlinked. Children also get ``PR_SET_PDEATHSIG``, so
they die with a parent that is killed outright.

This relies on lava-nc 0.10.0 internals (the runtime's channels and messaging
infrastructure); ``tests/test_signals.py`` checks it on real training runs.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing as mp
import os
import signal
import time
from multiprocessing import resource_tracker

from lava.magma.runtime.mgmt_token_enums import MGMT_COMMAND, MGMT_RESPONSE, enum_equal

from lava_plastic.interrupt import Terminated

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_TIMEOUT = 20.0
"""Seconds a graceful stop may take before the runtime's processes are killed."""


# Children are forked with SIGINT/SIGTERM blocked, so a plain `kill` no longer reaches them; if
# the parent is SIGKILLed they would live for ever. PR_SET_PDEATHSIG makes the kernel SIGKILL
# them when the parent dies. A fork hook cannot be unregistered, so it acts only during a
# guarded fork.
_PR_SET_PDEATHSIG = 1
_guarded_parent: int | None = None
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # not on Linux: no death signal, the rest still works
    _libc = None


def _after_fork_in_child():
    if _guarded_parent is not None and _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != _guarded_parent:  # the parent died before prctl took effect
            os._exit(1)


os.register_at_fork(after_in_child=_after_fork_in_child)


@contextlib.contextmanager
def signals_blocked(signals=SIGNALS):
    """Block ``signals`` in the calling thread for the block; what it forks and the threads it
    starts inherit the block. A signal arriving meanwhile fires when the block ends."""
    global _guarded_parent
    # Python's resource tracker starts with the first SharedMemory, inside
    # Runtime.initialize(), and then *unblocks* SIGINT/SIGTERM in the calling thread, which
    # would undo the block before the ProcessModels fork: start it now.
    resource_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    _guarded_parent = os.getpid()
    try:
        yield
    finally:
        _guarded_parent = None
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _own_actors(runtime):
    return [a for a in runtime._messaging_infrastructure.actors
            if a._parent_pid == os.getpid() and not a._is_done]


def _wait_ready(runtime, port, deadline: float) -> bool:
    """Poll ``port`` (data to receive, or room to send) until ``deadline``; give up at once
    when no child is alive any more."""
    while not port.probe():
        if time.monotonic() > deadline or not any(a.is_alive() for a in _own_actors(runtime)):
            return False
        time.sleep(0.005)
    return True


def _graceful_stop(runtime, deadline: float) -> bool:
    """``Runtime.stop()``'s STOP handshake, also when no run was started, dropping what an
    interrupted run left in the channel, and bounded by ``deadline``."""
    for port in runtime.runtime_to_service:
        if not _wait_ready(runtime, port, deadline):
            return False
        port.send(MGMT_COMMAND.STOP)
    for port in runtime.service_to_runtime:
        while True:
            if not _wait_ready(runtime, port, deadline):
                return False
            reply = port.recv()
            if enum_equal(reply, MGMT_RESPONSE.TERMINATED):
                break
            if enum_equal(reply, MGMT_RESPONSE.ERROR):
                return False
    runtime.join()  # releases the port threads
    return True


def _shutdown_shared_memory(infrastructure):
    """Stop the shared-memory manager, which unlinks every segment; unlink them here if it
    could not."""
    smm = infrastructure.smm
    if smm is None or smm._manager is None:
        return
    handles = list(smm._shared_memory_handles)
    server = smm._manager._process
    was_alive = server is not None and server.is_alive()
    try:
        smm.shutdown()
    finally:
        if server is not None and server.is_alive():
            server.kill()  # its SIGTERM is blocked
            server.join(5)
        if not was_alive or server is None or server.exitcode != 0:
            for handle in handles:
                with contextlib.suppress(Exception):
                    handle.unlink()


def stop_runtime(process, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the runtime of ``process``'s graph: the STOP handshake, then join every child,
    killing what has not stopped by ``timeout``; then the shared memory. Idempotent. Returns
    whether the stop was graceful."""
    runtime = process.runtime
    if runtime is None or getattr(runtime, "_lava_plastic_stopped", False):
        return True
    runtime._lava_plastic_stopped = True
    infrastructure = runtime._messaging_infrastructure
    deadline = time.monotonic() + timeout
    graceful = False
    if infrastructure is not None and runtime._is_initialized:
        try:
            graceful = _graceful_stop(runtime, deadline)
        except Exception:  # noqa: BLE001 - fall back to killing below
            log.exception("graceful Lava stop failed")
    if infrastructure is not None:
        actors = _own_actors(runtime)
        if not graceful:
            log.error("the Lava runtime did not stop cleanly; killing its processes")
            for actor in actors:
                if actor.is_alive():
                    actor.kill()
        for actor in actors:
            mp.Process.join(actor, max(0.0, deadline - time.monotonic()) if graceful else 5)
            if actor.is_alive():
                actor.kill()
                mp.Process.join(actor, 5)
            if not actor.is_alive():
                actor.join()  # Lava's bookkeeping: closes the actor's pipe
        _shutdown_shared_memory(infrastructure)
    with contextlib.suppress(Exception):
        runtime._watchdog_manager.stop()
    runtime._is_running = False
    runtime._is_started = False  # Runtime.__del__ must not send STOP again
    return graceful


class RuntimeGuard:
    """Owns the runtime of one Lava graph: :meth:`create_runtime` forks it with SIGINT and
    SIGTERM blocked and turns them into exceptions in the main thread; :meth:`stop` stops it and
    restores the previous handlers. Use from the main thread."""

    def __init__(self, process):
        self.process = process
        self._stopping = False
        self._deferred: list[int] = []
        self._old_handlers = {}

    def _on_signal(self, signum, frame):
        # Only the first signal raises; later ones (a second Ctrl-C while the first unwinds)
        # are kept for after the clean-up, which they must not cut short.
        if self._stopping:
            self._deferred.append(signum)
            return
        self._stopping = True
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)

    def create_runtime(self, run_cfg):
        """Compile the graph (interruptible) and create its runtime with the signals blocked."""
        executable = self.process.compile(run_cfg)
        for signum in SIGNALS:
            self._old_handlers[signum] = signal.getsignal(signum)
            if self._old_handlers[signum] is not signal.SIG_IGN:  # respect nohup and `cmd &`
                signal.signal(signum, self._on_signal)
        with signals_blocked():
            self.process.create_runtime(executable=executable)

    def stop(self):
        """Stop the runtime (if any) and restore the signal handlers; a signal deferred during
        the clean-up is raised afterwards."""
        self._stopping = True
        try:
            stop_runtime(self.process)
        finally:
            for signum, handler in self._old_handlers.items():
                signal.signal(signum, handler)
            self._old_handlers.clear()
        if self._deferred:
            signum = self._deferred.pop(0)
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise Terminated(signum)
