"""The dashboard leaves when its terminal's input ends, and only then (tui/terminal_guard.py).

A user holding an arrow key fed the input a key every 150 ms or so, each read by Textual's input
thread a moment after it arrived; three of them counted as "readable, nothing to read" once passed
for end of file and closed the dashboard (exit 129, no message)."""

from __future__ import annotations

import os
import random
import select
import threading
import time

from tui.terminal_guard import TerminalGuard


def watched(fd: int) -> tuple[TerminalGuard, list, threading.Thread]:
    said: list = []
    guard = TerminalGuard(lambda reason, code: None)
    guard.gone = lambda reason, code: said.append((reason, code, time.monotonic()))  # no hard exit in a test
    thread = threading.Thread(target=guard.watch_input, args=(fd,), daemon=True)
    thread.start()
    return guard, said, thread


def reader(fd: int, stop: threading.Event) -> None:
    """What Textual's input thread does: read each key as soon as it is there."""
    while not stop.is_set():
        if select.select([fd], [], [], 0.05)[0]:
            if not os.read(fd, 1024):
                return


def test_keys_read_as_they_come_are_not_the_end_of_the_input():
    read_end, write_end = os.pipe()
    stop = threading.Event()
    threading.Thread(target=reader, args=(read_end, stop), daemon=True).start()
    guard, said, thread = watched(read_end)
    rng = random.Random(7)
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline:  # arrows held, typed fast and slow: 7-50 keys a second
        os.write(write_end, b"\x1b[B")
        time.sleep(rng.uniform(0.02, 0.15))  # the moment of the next key (the test's input, not a wait)
    assert said == []  # still there
    os.close(write_end)  # the connection drops: end of file
    closed = time.monotonic()
    thread.join(timeout=2.0)
    stop.set()
    assert said and said[0][1] == 129 and said[0][2] - closed < 1.0
    os.close(read_end)


def test_an_input_that_is_always_readable_and_empty_is_its_end():
    """stdin from /dev/null (or a file read to its end): no hang-up, just nothing to read, ever."""
    fd = os.open(os.devnull, os.O_RDONLY)
    try:
        started = time.monotonic()
        _, said, thread = watched(fd)
        thread.join(timeout=2.0)
        assert said and said[0][:2] == ("the terminal's input ended", 129) and said[0][2] - started < 1.0
    finally:
        os.close(fd)
