"""The queue of runs waiting to train, and the message that carries a core event to the UI."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from textual.message import Message

from core.config import RunConfig
from core.events import Event
from core.results import RunRecord
from core.stop import StopRequest


@dataclass
class TrainingEvent(Message):
    """An event from the training thread, posted (never awaited) so training never waits on the UI."""

    event: Event


@dataclass
class HistoryLoaded(Message):
    """The runs found in the runs folder at start, replayed into records."""

    records: list[RunRecord]
    warnings: list[str]


DEFAULT_SLOT = "default"  # plain runs share one slot: they execute one after another


def slot_device(slot: str, config: RunConfig) -> str:
    """The device a job runs on in a slot: its own for the default slot, else the slot's."""
    return config.device if slot == DEFAULT_SLOT else slot.split("#")[0]


@dataclass
class Job:
    run_id: str
    config: RunConfig
    slots: tuple[str, ...] = (DEFAULT_SLOT,)  # where it may run; a parallel sweep lists one per device


@dataclass
class RunQueue:
    """Waiting jobs in order; each slot trains one job at a time (several slots: in parallel)."""

    waiting: deque[Job] = field(default_factory=deque)
    running: dict[str, tuple[str, StopRequest]] = field(default_factory=dict)  # run_id -> (slot, cancel)
    started: int = 0  # runs started this session, for "#3"

    @property
    def current(self) -> str | None:
        return next(iter(self.running), None)

    def add(self, job: Job) -> None:
        self.waiting.append(job)

    def next_jobs(self) -> list[tuple[Job, str, StopRequest]]:
        """Start every waiting job that has a free slot, in queue order."""
        busy = {slot for slot, _ in self.running.values()}
        started = []
        for job in list(self.waiting):
            slot = next((s for s in job.slots if s not in busy), None)
            if slot is None:
                continue
            self.waiting.remove(job)
            busy.add(slot)
            cancel = StopRequest()
            self.running[job.run_id] = (slot, cancel)
            self.started += 1
            started.append((job, slot, cancel))
        return started

    def finish(self, run_id: str) -> None:
        self.running.pop(run_id, None)

    def stop_running(self, reason: str = StopRequest.reason) -> int:
        for _, cancel in self.running.values():
            cancel.stop(reason)
        return len(self.running)

    def remove(self, run_id: str) -> None:
        self.waiting = deque(job for job in self.waiting if job.run_id != run_id)

    def clear(self) -> list[str]:
        dropped = [job.run_id for job in self.waiting]
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
