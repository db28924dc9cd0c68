"""The one executor: every front end (`train`, `sweep`, `reproduce`, the dashboard) runs runs here.

A job is a configuration and a run id. It waits in the queue (core.execution.run_queue) until a
device slot is free, then a backend starts it:

- local: runner processes on this machine (core.execution.launcher, core.execution.runner), one
  per slot, kept for the slot's next job (one torch import per slot, not per run). With
  `runs_per_device=N`, each device has N slots: N runner processes share it.
- Ray: one driver process (the runner with `--ray ADDRESS`, core.execution.ray_driver) runs every
  job as a Ray task on any node with room. Ray's scheduler holds the jobs until a node has room,
  so the executor hands them over at once.

Either way the run's events land in this machine's run store, and the executor learns that a
run ended from the store (as the dashboard does): the dashboard calls `finish` when its watcher
reads an end, the CLI's `drive` reads the store itself. Nothing here imports torch or Ray.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Callable

from core.config import RunConfig
from core.events import END_KINDS, Event, RunFailed
from core.execution.control import ControlError, request_stop
from core.execution.launcher import Launcher, Runner
from core.execution.run_queue import Job, RunQueue, slot_device
from core.runstore.follow import record_runner_death
from core.runstore.store import RunStore, new_run_id

RAY_SLOT = "ray"  # every Ray job goes to the one driver; Ray places it on a node
MAX_RUNS_PER_DEVICE = 16


def device_slots(devices: list[str] | None, runs_per_device: int) -> tuple[str, ...] | None:
    """The slots a submission may use: `["cuda:0", "cuda:1"]` x 2 -> cuda:0#0, cuda:0#1, cuda:1#2,
    cuda:1#3. None: the default slot (plain runs, one after another). A device listed twice gets
    two slots. Slot names are stable, so a later submission to the same devices shares them."""
    if (not devices or len(devices) == 1) and runs_per_device == 1:
        return None
    devices = devices or [""]  # "" + "#k": the run's own device (slot_device)
    listed = [device for device in devices for _ in range(runs_per_device)]
    return tuple(f"{device}#{k}" for k, device in enumerate(listed))


class Executor:
    """Runs jobs on local runner processes or on a Ray cluster (`ray_address`), as their slots allow.

    `new_session=False` keeps the runners in the caller's process group (the CLI: Ctrl+C reaches
    them as it reached `train` when it trained in-process); the dashboard's runners get a session
    of their own, so they outlive it and its terminal.
    """

    def __init__(
        self,
        store: RunStore,
        data_dir: str | os.PathLike | None = None,
        *,
        ray_address: str | None = None,
        runs_per_device: int = 1,
        python: str = sys.executable,
        warm: bool = True,
        new_session: bool = True,
    ) -> None:
        if not 1 <= runs_per_device <= MAX_RUNS_PER_DEVICE:
            raise ValueError(f"runs_per_device must be 1..{MAX_RUNS_PER_DEVICE}, not {runs_per_device}")
        self.store = store
        self.queue = RunQueue()
        self.ray_address = ray_address
        self.runs_per_device = runs_per_device
        extra = ["--ray", ray_address, "--runs-per-device", str(runs_per_device)] if ray_address else []
        self.launcher = Launcher(store.root, data_dir, python, warm, new_session=new_session, extra_args=extra)

    # ----- the queue ----------------------------------------------------------------------
    def submit(self, configs: list[RunConfig], devices: list[str] | None = None, runs_per_device: int | None = None) -> list[tuple[str, RunConfig]]:
        """Queue runs. Several devices, or several runs per device: that many train at once."""
        per_device = self.runs_per_device if runs_per_device is None else runs_per_device
        slots = (RAY_SLOT,) if self.ray_address else device_slots(devices, per_device)
        queued = []
        for config in configs:
            run_id = new_run_id(config)
            self.queue.add(Job(run_id, config, slots) if slots else Job(run_id, config))
            queued.append((run_id, config))
        return queued

    def start_ready(self) -> list[tuple[str, RunConfig]]:
        """Hand every job with a free slot to its runner; returns them with the device they got.

        A spare runner starts only once a run waits for a slot (or when a run ends): its torch
        import takes seconds of CPU, which a run training on the CPU should not lose.
        """
        started = []
        ready = [(job, RAY_SLOT) for job in self.queue.take_all(RAY_SLOT)] if self.ray_address else self.queue.next_jobs()
        for job, slot in ready:
            config = job.config if self.ray_address else job.config.with_values(device=slot_device(slot, job.config))
            self.launcher.launch(slot, [(job.run_id, config)])
            started.append((job.run_id, config))
        if self.queue.waiting:
            self.launcher.warm_up()
        return started

    def finish(self, run_id: str) -> bool:
        """A run ended; True if it held a slot here (something else may start now)."""
        slot = self.queue.running.get(run_id)
        self.queue.finish(run_id)
        if slot is not None and not self.ray_address:
            if not any(slot in job.slots for job in self.queue.waiting):
                self.launcher.release_slot(slot)  # its runner exits; a spare warms up instead
            self.launcher.warm_up()  # for the next run, queued or yet to be typed
        return slot is not None

    def runners(self) -> dict[str, Runner]:
        """The runner of every run training here now (exited runners are reaped first): its exit
        means its run's writer is gone. A run that ended is not listed: its runner may train the next."""
        self.launcher.reap()
        return {run_id: self.launcher.by_run[run_id] for run_id in self.queue.running if run_id in self.launcher.by_run}

    def devices(self) -> list[tuple[str, str]]:
        """(label, spec) of every device the runners see (blocks until the first is ready)."""
        return self.launcher.devices()

    # ----- stopping and leaving -----------------------------------------------------------
    def stop(self, run_id: str, reason: str, pruned_after: int | None = None) -> None:
        """Ask a live run (this process's or another's) to stop after its batch; ControlError says why not.
        `pruned_after`: a search prunes it after that epoch (core.search)."""
        runner = self.launcher.by_run.get(run_id) if run_id in self.queue.running else None
        if runner is not None:
            if runner.exit_code() is not None:
                raise ControlError(f"{run_id} is not training any more")
            request_stop(self.store.root / run_id, reason, pid=runner.pid, pruned_after=pruned_after)
        else:
            request_stop(self.store.root / run_id, reason, pruned_after=pruned_after)

    def stop_own(self, reason: str) -> None:
        """Stop every run training here (one that has just ended needs nothing)."""
        for run_id in list(self.queue.running):
            try:
                self.stop(run_id, reason)
            except ControlError:
                pass

    def hand_over(self) -> int:
        """On quit: each slot's waiting runs go to its runner, after the run it trains now (the runners outlive us)."""
        shares = self.queue.hand_over()
        for slot, jobs in shares:
            self.launcher.launch(slot, [(job.run_id, job.config if self.ray_address else job.config.with_values(device=slot_device(slot, job.config))) for job in jobs])
        return sum(len(jobs) for _, jobs in shares)

    def close(self, wait_s: float = 0.0) -> None:
        """No more jobs: the runners exit once their runs end (wait up to `wait_s` for that)."""
        self.launcher.close(wait_s)

    # ----- the CLI's loop -----------------------------------------------------------------
    def drive(self, on_event: Callable[[Event], None], cancel: threading.Event, poll_s: float = 0.2,
              more: Callable[[], bool] | None = None) -> None:
        """Train every queued job to its end, handing each run's events to `on_event` as the run
        store receives them. When `cancel` is set (its `reason`), the runs training stop after
        their batch and the waiting ones never start. `more` (a search) is called before each
        round to submit jobs as slots free up; it returns True while it will submit more later."""
        offsets: dict[str, int] = {}
        stopping = False
        pending = True
        while pending or self.queue.waiting or self.queue.running:
            if cancel.is_set() and not stopping:
                stopping = True
                self.queue.clear()
                self.stop_own(getattr(cancel, "reason", "") or "stopped")
            pending = bool(more and not stopping and more())
            if not stopping:
                self.start_ready()
            for run_id in list(self.queue.running):
                self._follow(run_id, offsets, on_event)
            time.sleep(poll_s)

    def _follow(self, run_id: str, offsets: dict[str, int], on_event: Callable[[Event], None]) -> None:
        runner = self.launcher.by_run.get(run_id)
        exit_code = runner.exit_code() if runner is not None else None  # before the read: its last lines are read
        events, offsets[run_id], _ = self.store.read_new_events(run_id, offsets.get(run_id, 0))
        ended = False
        for event in events:
            on_event(event)
            ended = ended or event.kind in END_KINDS
        if not ended and exit_code is not None:
            config = self.launcher.configs[run_id]
            on_event(RunFailed(run_id, "RunnerDied", record_runner_death(self.store, run_id, config, runner)))
            ended = True
        if ended:
            self.finish(run_id)
