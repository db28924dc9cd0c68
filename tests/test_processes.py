"""The dashboard's processes on a shared server: stopped and continued (Ctrl+Z and `fg`, a
suspended SSH client), it repaints, answers keys and quits promptly.

Real processes: the real `mnist-tui` in a pseudo-terminal; every wait bounded.
(That runners which ended are reaped is checked in tests/test_runners.py, on a finished run.)
"""

from __future__ import annotations

import os
import signal
import time

from tests.test_runners import _dashboard_in_a_pty, _kill, _stored_small_run
from tests.waiting import wait_until


def screen_output(terminal, seconds):
    """What the terminal printed within `seconds` (decoded leniently)."""
    out = bytearray()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            out += os.read(terminal, 65536)
        except (BlockingIOError, OSError):
            time.sleep(0.05)  # nothing yet: poll again until the deadline
    return out.decode("utf-8", "replace")


def test_stopped_and_continued_seven_times_the_dashboard_repaints_answers_keys_and_quits_within_2s(runs_dir):
    """It used to hang on `q` after a stop and continue in 4 of 7 tries (a second input thread
    blocked in read); now each SIGCONT repaints the whole screen, `?` opens the key list, `q` quits."""
    _stored_small_run(runs_dir)  # a stored run: the table has the focus, not the form
    pid, terminal, _ = _dashboard_in_a_pty(runs_dir)
    try:
        assert "small" in screen_output(terminal, 3)
        for attempt in range(7):
            os.kill(pid, signal.SIGSTOP)
            os.kill(pid, signal.SIGCONT)
            assert "Keys" in screen_output(terminal, 0.8), f"no repaint after continue #{attempt + 1}"  # the footer, redrawn
        os.write(terminal, b"?")
        assert "esc closes" in screen_output(terminal, 1.5)
        os.write(terminal, b"\x1b")
        screen_output(terminal, 0.5)
        os.write(terminal, b"q")
        t0 = time.monotonic()
        wait_until(lambda: screen_output(terminal, 0.02) is not None and os.waitpid(pid, os.WNOHANG)[0] == pid, 10, "the dashboard to quit", poll_s=0.01)
        assert time.monotonic() - t0 < 2.0
    finally:
        _kill(pid)
        os.close(terminal)
