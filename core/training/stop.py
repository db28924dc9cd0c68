"""Asking a run to stop, with the reason it records (no torch here: the dashboard imports it)."""

from __future__ import annotations

import threading


class StopRequest(threading.Event):
    """A cancel event that can say why; the trainer accepts a plain threading.Event as well."""

    reason = "stopped by the user"
    pruned_after: int | None = None  # a search pruned the run after this epoch (its later batches do not count)

    def stop(self, reason: str, pruned_after: int | None = None) -> None:
        self.reason = reason
        self.pruned_after = pruned_after
        self.set()
