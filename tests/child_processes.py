"""Starting and signalling a command the way a terminal or a job controller would, for the
tests of interruptions."""
import contextlib
import os
import signal


def sigint_as_in_a_terminal():
    """A child of a shell's background job (``cmd &``) starts with SIGINT ignored, which the
    guard respects (``nohup``); a Ctrl-C comes from a terminal, where it is not ignored. Run in
    the child before it starts (``preexec_fn``), so the tests do not depend on how the suite was
    started."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def reaped(proc):
    """No process of ``proc``'s group (started with ``start_new_session=True``) outlives the
    block, whatever happens in it."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def signal_and_wait(proc, signum: int, to_group: bool = False, timeout: float = 60) -> str:
    """Send ``signum`` to ``proc`` (``to_group``: to its whole process group, as a terminal's
    Ctrl-C does) and wait for it to end; returns its stderr."""
    if to_group:
        os.killpg(proc.pid, signum)
    else:
        os.kill(proc.pid, signum)
    return proc.communicate(timeout=timeout)[1]
