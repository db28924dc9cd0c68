"""The dashboard's one way in for events: the runs folder, read in a thread several times a second.

A thin shell around core.runstore.follow: the thread gets a copy of what to follow (offsets, configs,
runners), reads, and posts what changed; records are only touched on the UI thread.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

from textual.dom import DOMNode
from textual.message import Message

from core.runstore.follow import RunUpdate, poll_runs
from core.runstore.results import RunRecord, load_records
from core.runstore.store import RunStore

WATCH_INTERVAL_S = 0.2  # read + one UI tick (0.25 s) stays under half a second from write to screen


@dataclass
class HistoryLoaded(Message):
    """The runs found in the runs folder at start, replayed into records."""

    records: list[RunRecord]
    warnings: list[str]


@dataclass
class RunsChanged(Message):
    """New runs and new events, in the order they were read (posted after every read, even an empty one)."""

    updates: list[RunUpdate]


class RunWatcher:
    """One reading thread for the dashboard's life: the UI thread hands it what to follow (a copy)
    at most once per read, it reads and posts what changed. (A thread started per read, five a
    second, cost the dashboard about a third of its CPU while it followed a run: thread starts
    and three worker-state messages a read.)"""

    def __init__(self, node: DOMNode, store: RunStore) -> None:
        """`node`: where the messages go (the dashboard screen); its workers read the history."""
        self.node = node
        self.store = store
        self.reading = False  # a read is in flight until the app has folded its result in
        self.listed: set[str] = set()  # the run folders the last listing found: one missing later has vanished
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._app = None  # the running app, for the reading thread's reports (set on the UI thread with the thread)

    def done(self) -> None:
        """The app folded the last read in: the next may start (from the offsets it left)."""
        self.reading = False

    def load_history(self) -> None:
        self.node.run_worker(self._load_history, thread=True, exit_on_error=False, group="history")

    def _load_history(self) -> None:
        self.node.post_message(HistoryLoaded(*load_records(self.store)))

    def poll(self, records: dict[str, RunRecord], runners: dict) -> None:
        """Ask the reading thread for what is new; skipped while the last read is still going."""
        if self.reading:
            return
        self.reading = True
        followed = {run_id: (r.log_offset, r.config) for run_id, r in records.items() if r.status == "running"}
        if self._thread is None:
            self._app = self.node.app  # asked here, on the UI thread: the reading thread has no active app
            self._thread = threading.Thread(target=self._read_forever, name="mnist-tui-watcher", daemon=True)
            self._thread.start()
        self._requests.put((followed, set(records), runners))

    def stop(self) -> None:
        if self._thread is not None:
            self._requests.put(None)

    def _report(self, message: str) -> None:
        try:
            self._app.call_from_thread(self.node.notify, message, markup=False, title="background task failed", severity="error", timeout=10)
        except RuntimeError:  # the app is closing: nobody to tell
            pass

    def _read_forever(self) -> None:
        while (request := self._requests.get()) is not None:
            updates: list[RunUpdate] = []
            try:
                updates = poll_runs(self.store, *request, self.listed)
            except Exception as problem:  # a read that fails is reported; the next one still comes
                self._report(f"watch: {type(problem).__name__}: {problem}")
            finally:  # even a failed read must let the next one start
                self.node.post_message(RunsChanged(updates))
