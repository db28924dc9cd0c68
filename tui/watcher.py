"""The dashboard's one way in for events: the runs folder, read in a thread several times a second.

A thin shell around core.runstore.follow: the thread gets a copy of what to follow (offsets, configs,
runners), reads, and posts what changed; records are only touched on the UI thread.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

from rich.text import Text
from textual.app import App
from textual.message import Message

from core.comparison.columns import status_style
from core.events import Event, RunFailed, RunStarted, RunStopped, format_line
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

    def __init__(self, app: App, store: RunStore) -> None:
        self.app = app
        self.store = store
        self.reading = False  # a read is in flight until the app has folded its result in
        self.listed: set[str] = set()  # the run folders the last listing found: one missing later has vanished
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def done(self) -> None:
        """The app folded the last read in: the next may start (from the offsets it left)."""
        self.reading = False

    def load_history(self) -> None:
        self.app.run_worker(self._load_history, thread=True, exit_on_error=False, group="history")

    def _load_history(self) -> None:
        self.app.post_message(HistoryLoaded(*load_records(self.store)))

    def poll(self, records: dict[str, RunRecord], runners: dict) -> None:
        """Ask the reading thread for what is new; skipped while the last read is still going."""
        if self.reading:
            return
        self.reading = True
        followed = {run_id: (r.log_offset, r.config) for run_id, r in records.items() if r.status == "running"}
        if self._thread is None:
            self._thread = threading.Thread(target=self._read_forever, name="mnist-tui-watcher", daemon=True)
            self._thread.start()
        self._requests.put((followed, set(records), runners))

    def stop(self) -> None:
        if self._thread is not None:
            self._requests.put(None)

    def _report(self, message: str) -> None:
        try:
            self.app.call_from_thread(self.app.notify, message, markup=False, title="background task failed", severity="error", timeout=10)
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
                self.app.post_message(RunsChanged(updates))


def log_lines(record: RunRecord, events: list[Event], color: str) -> list[Text]:
    """The log pane's lines for a run's new events: a header when it starts, then the seed's lines;
    its last line (failed, stopped) names the run, as runs side by side interleave."""
    lines = []
    for event in events:
        if isinstance(event, RunStarted):
            lines.append(Text(f"── {record.label} ({event.run_id}) ──", style=color))
        if (line := format_line(event)) is not None:
            lines.append(Text.assemble((record.label, color), ": ", line) if isinstance(event, (RunFailed, RunStopped)) else Text(line))
    return lines


def ending_line(record: RunRecord, color: str, no_color: bool = False) -> Text:
    """Why a run ended, for the log pane, when no event of its own said it (an interrupted run,
    a run of the history): `too hot: failed: loss became NaN …` (the status without colour under NO_COLOR)."""
    return Text.assemble((record.label, color), ": ", (record.status, status_style(record.status, no_color)), f": {record.reason}")
