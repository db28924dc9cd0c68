"""The dashboard's queue: runs waiting for a device slot, and the runs holding one.

A slot trains one run at a time; plain runs share the default slot (one after another), a
parallel sweep lists a slot per device (N per device with several runs per device). Pure
bookkeeping: core.execution.executor decides, core.execution.launcher starts the processes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from core.config import RunConfig

DEFAULT_SLOT = "default"  # plain runs share one slot: they train one after another


def slot_device(slot: str, config: RunConfig) -> str:
    """The device a job runs on in a slot: its own for the default slot, else the slot's."""
    device = slot.split("#")[0]  # "cuda:0#1" -> cuda:0; "#1" (several runs on the run's own device) -> its own
    return config.device if slot == DEFAULT_SLOT or not device else device


@dataclass
class Job:
    run_id: str
    config: RunConfig
    slots: tuple[str, ...] = (DEFAULT_SLOT,)  # where it may run; a parallel sweep lists one per device


@dataclass
class RunQueue:
    waiting: deque[Job] = field(default_factory=deque)
    running: dict[str, str] = field(default_factory=dict)  # run_id -> the slot it holds
    started: int = 0  # runs started this session, for "#3"

    @property
    def current(self) -> str | None:
        return next(iter(self.running), None)

    def add(self, job: Job) -> None:
        self.waiting.append(job)

    def next_jobs(self) -> list[tuple[Job, str]]:
        """Take every waiting job that has a free slot, in queue order, with the slot it gets."""
        busy = set(self.running.values())
        started = []
        for job in list(self.waiting):
            slot = next((s for s in job.slots if s not in busy), None)
            if slot is None:
                continue
            self.waiting.remove(job)
            busy.add(slot)
            self.running[job.run_id] = slot
            self.started += 1
            started.append((job, slot))
        return started

    def finish(self, run_id: str) -> None:
        self.running.pop(run_id, None)

    def remove(self, run_id: str) -> None:
        self.waiting = deque(job for job in self.waiting if job.run_id != run_id)

    def clear(self) -> list[str]:
        dropped = [job.run_id for job in self.waiting]
        self.waiting.clear()
        return dropped

    def take_all(self, slot: str) -> list[Job]:
        """Every waiting job, now running in one slot that takes any number (Ray's: Ray places them)."""
        jobs = list(self.waiting)
        self.waiting.clear()
        for job in jobs:
            self.running[job.run_id] = slot
        self.started += len(jobs)
        return jobs

    def hand_over(self) -> list[tuple[str, list[Job]]]:
        """Empty the queue into shares for the slots' runners: (slot, jobs in order). One share
        per slot that has work, so a parallel sweep keeps one run per device; a slot's runner
        trains its share after the run it trains now."""
        shares: dict[str, list[Job]] = {}
        load = {slot: 0 for slot in self.running.values()}
        for job in self.waiting:
            slot = min(job.slots, key=lambda s: (load.get(s, 0), job.slots.index(s)))
            load[slot] = load.get(slot, 0) + 1
            shares.setdefault(slot, []).append(job)
        self.waiting.clear()
        return list(shares.items())
