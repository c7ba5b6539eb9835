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
