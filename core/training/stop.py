"""Asking a run to stop, with the reason it records (no torch here: the dashboard imports it)."""

from __future__ import annotations

import threading


class StopRequest(threading.Event):
    """A cancel event that can say why; the trainer accepts a plain threading.Event as well."""

    reason = "stopped by the user"

    def stop(self, reason: str) -> None:
        self.reason = reason
        self.set()
