"""The queue of runs waiting to train, and the message that carries a core event to the UI."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from textual.message import Message

from core.config import RunConfig
from core.events import Event
from core.results import RunRecord


@dataclass
class TrainingEvent(Message):
    """An event from the training thread, posted (never awaited) so training never waits on the UI."""

    event: Event


@dataclass
class HistoryLoaded(Message):
    """The runs found in the runs folder at start, replayed into records."""

    records: list[RunRecord]
    warnings: list[str]


@dataclass
class RunQueue:
    """Runs execute one after another: `current` trains, `waiting` are queued in order."""

    waiting: deque[tuple[str, RunConfig]] = field(default_factory=deque)
    current: str | None = None
    cancel: threading.Event | None = None
    started: int = 0  # runs started this session, for "run 3"

    def add(self, run_id: str, config: RunConfig) -> None:
        self.waiting.append((run_id, config))

    def next(self) -> tuple[str, RunConfig] | None:
        if self.current is not None or not self.waiting:
            return None
        run_id, config = self.waiting.popleft()
        self.current, self.cancel = run_id, threading.Event()
        self.started += 1
        return run_id, config

    def finish(self, run_id: str) -> None:
        if self.current == run_id:
            self.current, self.cancel = None, None

    def stop_current(self) -> bool:
        if self.cancel is None:
            return False
        self.cancel.set()
        return True

    def remove(self, run_id: str) -> None:
        self.waiting = deque(job for job in self.waiting if job[0] != run_id)

    def clear(self) -> list[str]:
        dropped = [run_id for run_id, _ in self.waiting]
        self.waiting.clear()
        return dropped


@dataclass
class ForeignEvents(Message):
    """New events of a run that another process is writing into the runs folder."""

    run_id: str
    record: RunRecord | None  # set when the run is new to the dashboard (read whole)
    events: list[Event]
    offset: int  # bytes of its log read so far
    live: bool  # its writer still holds the log
