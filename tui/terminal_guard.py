"""The dashboard never outlives its terminal.

SIGHUP (the SSH connection dropped), SIGTERM, or its input reaching end of file (some drops
send no SIGHUP) make it leave as `q` + "keep training" does: the runs train on and the queue
is handed over. Leaving is bounded: Textual's writer queue is bounded, and once the terminal is
gone nothing drains it, so the shutdown can block for good in a write (and then hear no more
signals). A timer thread, started before anything else is tried, ends the process regardless.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import os
import select
import signal
import sys
import termios
import threading
from typing import Callable

HARD_EXIT_AFTER_S = 1.2  # a clean shutdown takes ~0.1 s; past this the terminal is the problem
CHECK_EVERY_S = 0.2
# End of file is "readable, nothing to read" every time one looks. Textual's input thread reads
# each key a moment after it arrives, so a key can make the input readable and be gone before it
# is counted: three such keys in a row (arrows held at 5-7 a second) once passed for end of file
# and closed the dashboard. So a readable, empty input is confirmed by looking again and again
# for a while: a key arriving every few milliseconds for that long is no user.
CONFIRM_LOOKS, CONFIRM_EVERY_S = 25, 0.008  # 25 looks over 0.2 s, each readable and empty


class TerminalGuard:
    def __init__(self, leave: Callable[[str, int], None], app=None) -> None:
        self._leave = leave  # (reason, exit code), called on the event loop's thread
        self._app = app  # the Textual app whose driver is restarted after SIGCONT
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gone = threading.Event()

    def install(self) -> None:
        self._loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        if self._app is not None:
            signal.signal(signal.SIGCONT, self._on_continue)
        threading.Thread(target=self._watch_input, name="mnist-tui-input-guard", daemon=True).start()

    def _on_signal(self, signum, _frame) -> None:
        self.gone(f"{signal.Signals(signum).name} received", 128 + signum)

    def _on_continue(self, _signum, _frame) -> None:
        """Continued after a stop: one fresh set of driver threads, terminal modes set again, a full repaint."""
        driver = getattr(self._app, "_driver", None)
        if driver is None or self._gone.is_set():
            return
        writer = getattr(driver, "_writer_thread", None)
        if writer is not None and writer.is_alive():  # a raw SIGSTOP: nothing was suspended before it
            driver.suspend_application_mode()
        driver.resume_application_mode()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(lambda: self._app.refresh(repaint=True, layout=True))

    def gone(self, reason: str, code: int) -> None:
        """The terminal is gone: arm the hard exit, then ask the app to leave."""
        if self._gone.is_set():
            return
        self._gone.set()
        timer = threading.Timer(HARD_EXIT_AFTER_S, os._exit, (code,))
        timer.daemon = True
        timer.start()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._leave, reason, code)

    def _watch_input(self) -> None:
        try:
            fd = sys.__stdin__.fileno()
        except (AttributeError, OSError, ValueError):
            return
        self.watch_input(fd)

    def watch_input(self, fd: int) -> None:
        """Until the terminal is gone: say so when `fd` hangs up or reaches end of file."""
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while not self._gone.is_set():
            ready = poller.poll(int(CHECK_EVERY_S * 1000))
            mask = ready[0][1] if ready else 0
            if mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                self.gone("the terminal closed", 129)
                return
            if mask & select.POLLIN and _at_end_of_file(poller, fd):
                self.gone("the terminal's input ended", 129)
                return
            if mask & select.POLLIN:
                self._gone.wait(CHECK_EVERY_S)  # a key for Textual's input thread: let it read


def _at_end_of_file(poller: select.poll, fd: int) -> bool:
    """Readable with nothing to read at every look for CONFIRM_LOOKS * CONFIRM_EVERY_S seconds."""
    for _ in range(CONFIRM_LOOKS):
        ready = poller.poll(0)
        if not (ready and ready[0][1] & select.POLLIN) or _bytes_waiting(fd) != 0:
            return False
        threading.Event().wait(CONFIRM_EVERY_S)
    return True


def _bytes_waiting(fd: int) -> int:
    count = array.array("i", [0])
    try:
        fcntl.ioctl(fd, termios.FIONREAD, count, True)
    except OSError:
        return 0  # not a terminal or pipe: it cannot say, so readable counts as empty
    return count[0]
