"""Bounded waits on a condition: a test that waits never hangs, and never sleeps a fixed time instead."""

from __future__ import annotations

import time


def wait_until(condition, timeout: float, what: str = "the condition", poll_s: float = 0.1):
    """Poll `condition` until it returns something truthy (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll_s)  # poll again until the deadline


async def wait_for(pilot, condition, timeout: float = 120.0, what: str = "the dashboard"):
    """The same inside a Textual pilot test: the app keeps running while the test waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.05)


async def dashboard_composed(pilot, timeout: float = 20.0) -> None:
    """Until the dashboard screen has its widgets: Textual composes an app's first screen in the
    screen's own task, so a test's first key could come before there is a form to open."""
    await wait_for(pilot, lambda: bool(pilot.app.query("#form")) and bool(pilot.app.query("Footer")), timeout, "the dashboard's widgets")
