"""Ctrl-C and SIGTERM as exceptions, so that every ``finally`` block runs and finished work is
written before the process ends (no Lava here: the Lava layer adds its runtime's clean-up)."""
from __future__ import annotations

import contextlib
import signal
import threading


class Terminated(SystemExit):
    """Raised in the main thread on SIGTERM: a ``SystemExit``, so an uncaught one exits the
    interpreter quietly with status ``128 + signum`` (143) after every ``finally`` block ran."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(128 + signum)
        self.signum = signum


def _raise_terminated(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def sigterm_raises():
    """Within the block SIGTERM raises :class:`Terminated` in the main thread (elsewhere, or
    where SIGTERM is ignored, nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.getsignal(signal.SIGTERM)
    if old is signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


class StopRequests:
    """SIGINT and SIGTERM held until the work in progress reaches a point where it can stop
    without losing anything: :meth:`check` then raises ``KeyboardInterrupt`` (SIGINT) or
    :class:`Terminated` (SIGTERM). A second signal raises at once. ``requested`` is the
    signal waiting (``None``: none)."""

    def __init__(self):
        self.requested: int | None = None

    def _hold(self, signum, frame):
        if self.requested is not None:  # asked twice: stop now
            self.requested = signum
            self.check()
        self.requested = signum

    def check(self) -> None:
        """Raise for the signal received, if any."""
        if self.requested == signal.SIGINT:
            raise KeyboardInterrupt
        if self.requested is not None:
            raise Terminated(self.requested)


@contextlib.contextmanager
def stop_requests():
    """Within the block SIGINT and SIGTERM are held by a :class:`StopRequests` (yielded), in
    the main thread and where they are not ignored (a background job's SIGINT stays ignored);
    elsewhere nothing changes and ``check`` never raises."""
    stops = StopRequests()
    if threading.current_thread() is not threading.main_thread():
        yield stops
        return
    held = [s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) is not signal.SIG_IGN]
    old = {s: signal.getsignal(s) for s in held}
    for s in held:
        signal.signal(s, stops._hold)
    try:
        yield stops
    finally:
        for s in held:
            signal.signal(s, old[s])
