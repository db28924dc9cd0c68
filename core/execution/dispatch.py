"""The dashboard's runs, minus the screen: the queue, and the runner processes that train them.

The app asks for runs (`submit`), starts what has a free device slot (`start_ready`), and
hears from the run store (core.runstore.follow) when one ends (`finish`). Stopping goes through
core.execution.control, so `x` works the same on a run of this dashboard and on a headless one.
"""

from __future__ import annotations

import os
import sys

from core.config import RunConfig
from core.execution.control import ControlError, request_stop
from core.execution.launcher import Launcher, Runner
from core.execution.run_queue import Job, RunQueue, slot_device
from core.runstore.store import RunStore, new_run_id


class Dispatcher:
    def __init__(self, store: RunStore, data_dir: str | os.PathLike | None = None, python: str = sys.executable, warm: bool = True) -> None:
        self.store = store
        self.queue = RunQueue()
        self.launcher = Launcher(store.root, data_dir, python, warm)

    def submit(self, configs: list[RunConfig], devices: list[str] | None = None) -> list[tuple[str, RunConfig]]:
        """Queue runs; with several devices, one trains on each at a time (a device may repeat)."""
        slots = tuple(f"{device}#{i}" for i, device in enumerate(devices)) if devices and len(devices) > 1 else None
        queued = []
        for config in configs:
            run_id = new_run_id(config)
            self.queue.add(Job(run_id, config, slots) if slots else Job(run_id, config))
            queued.append((run_id, config))
        return queued

    def start_ready(self) -> list[tuple[str, RunConfig]]:
        """Hand every job with a free slot to a runner; returns them with the device they got.

        The next warm runner starts only once a run waits for a slot (or when a run ends): its
        torch import takes seconds of CPU, which a run training on the CPU should not lose.
        """
        started = []
        for job, slot in self.queue.next_jobs():
            config = job.config.with_values(device=slot_device(slot, job.config))
            self.launcher.launch([(job.run_id, config)], warm_next=False)
            started.append((job.run_id, config))
        if self.queue.waiting:
            self.launcher.warm_up()
        return started

    def finish(self, run_id: str) -> bool:
        """A run ended; True if it held a slot here (something else may start now)."""
        held = run_id in self.queue.running
        self.queue.finish(run_id)
        if held:
            self.launcher.warm_up()  # for the next run, queued or yet to be typed
        return held

    def runners(self) -> dict[str, Runner]:
        """Every run's runner (asked at each watch): runners that have exited are reaped first."""
        self.launcher.reap()
        return dict(self.launcher.by_run)

    def stop(self, run_id: str, reason: str) -> None:
        """Ask a live run (this dashboard's or another process's) to stop after its batch; ControlError says why not."""
        runner = self.launcher.by_run.get(run_id)
        if runner is not None:
            if runner.exit_code() is not None:
                raise ControlError(f"{run_id} is not training any more")
            request_stop(self.store.root / run_id, reason, pid=runner.pid)
        else:
            request_stop(self.store.root / run_id, reason)

    def stop_own(self, reason: str) -> None:
        """Stop every run this dashboard trains (one that has just ended needs nothing)."""
        for run_id in list(self.queue.running):
            try:
                self.stop(run_id, reason)
            except ControlError:
                pass

    def hand_over(self) -> int:
        """On quit: the waiting runs go to detached runners (one per slot), after the run each slot trains now."""
        handed = 0
        for slot, after, jobs in self.queue.hand_over():
            self.launcher.launch(
                [(job.run_id, job.config.with_values(device=slot_device(slot, job.config))) for job in jobs],
                after=after,
                warm_next=False,
            )
            handed += len(jobs)
        return handed

    def close(self) -> None:
        self.launcher.close()
