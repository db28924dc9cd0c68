"""Following the runs folder: every live run's new events, by byte offset, and new runs.

The dashboard learns about every run the same way, its own or one a headless `mnist-tui train`
writes: by reading what was appended to `events.jsonl` since the offset it read up to. Each
read starts where the last complete line ended, so no event is folded in twice or skipped.
A run of the dashboard's own whose runner process died is told apart here too: with a log,
it is interrupted (with the runner's last lines); without one, its failure is recorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from core.config import RunConfig
from core.events import Event, RunFailed
from core.execution.launcher import Runner, describe_exit
from core.runstore.results import RunRecord, interrupted_reason
from core.runstore.store import EVENTS_FILE, RunStore, StoreError, is_live, read_run

NEW_RUN_GRACE_S = 10.0  # a run folder this young without a readable config is still being made


@dataclass
class RunUpdate:
    run_id: str
    record: RunRecord | None = None  # set for a run new to the follower's caller (read whole)
    events: list[Event] = field(default_factory=list)
    offset: int = 0  # bytes of its log read so far
    from_offset: int = 0  # where this read started: it applies only to a record that read up to there
    live: bool = True  # a process still trains it
    runner_ended: str = ""  # its runner died before ending it: how, and the runner's last lines
    warnings: list[str] = field(default_factory=list)  # lines skipped (torn, mistyped, out of range)
    vanished: bool = False  # its folder is gone from the runs folder (deleted, or moved: see the new id)


def _younger_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime < seconds
    except OSError:
        return True  # vanished meanwhile: look again next time


def record_runner_death(store: RunStore, run_id: str, config: RunConfig, runner: Runner) -> str:
    """A runner ended without ending its run: say how; write the run as failed if it has no log."""
    if unrecorded := runner.last_words():
        return unrecorded  # it could not write the run's folder (gone, moved, unwritable): none is made here
    why = f"its runner process {describe_exit(runner.exit_code() or 0)}"
    last = runner.log_tail()
    message = runner.start_error() or (f"{why}: {last}" if last else why)
    if not (store.root / run_id / EVENTS_FILE).exists():
        try:
            writer = store.create(run_id, config)
            writer.append(RunFailed(run_id, "RunnerDied", message))
            writer.close()
        except (StoreError, OSError):
            pass  # the watcher marks it failed all the same (below)
    return message


def poll_runs(
    store: RunStore,
    followed: Mapping[str, tuple[int, RunConfig]],
    known: set[str],
    runners: Mapping[str, Runner],
    listed: set[str] | None = None,
) -> list[RunUpdate]:
    """What changed since the last poll. `followed`: run id -> (offset read, config); `runners`: own
    runs' runners; `listed`: the ids the last listing found, updated here (a run that was listed
    and no longer is has vanished). A runs folder that cannot be listed changes nothing."""
    try:
        ids = store.run_ids()
    except StoreError:
        return []
    updates = []
    if listed is not None:
        updates += [RunUpdate(run_id, live=False, vanished=True) for run_id in sorted(listed - set(ids)) if run_id in known]
        listed.clear()
        listed.update(ids)
    gone = {u.run_id for u in updates}
    for run_id in ids:
        if run_id in known:
            continue
        stored = read_run(store.root / run_id)
        being_made = stored.unreadable or (not stored.live and not stored.events)
        if being_made and _younger_than(store.root / run_id, NEW_RUN_GRACE_S):
            continue  # a run being created right now: its config and log are on their way
        record = RunRecord.from_stored(stored)
        updates.append(RunUpdate(run_id, record, [], record.log_offset, record.log_offset, stored.live, warnings=[f"{run_id}: {w}" for w in stored.warnings]))
    for run_id, (offset, config) in followed.items():
        if run_id in gone:
            continue
        # Liveness first, then the read: a writer that ended meanwhile has all its lines read.
        runner = runners.get(run_id)
        exit_code = runner.exit_code() if runner is not None else None
        live = exit_code is None if runner is not None else is_live(store.root / run_id)
        ended = record_runner_death(store, run_id, config, runner) if exit_code is not None else ""
        events, new_offset, warnings = store.read_new_events(run_id, offset)
        if events or new_offset != offset or not live:
            updates.append(RunUpdate(run_id, None, events, new_offset, offset, live, ended, [f"{run_id}: {w}" for w in warnings]))
    return updates


def fold(record: RunRecord, update: RunUpdate) -> bool:
    """Fold an update into its record; True when the status changed (the table's shape may too)."""
    if update.from_offset != record.log_offset:
        return False  # read from another offset (a stale read): its events are not these
    before = record.status
    for event in update.events:
        record.apply(event)
    record.log_offset = update.offset
    if record.status in ("running", "interrupted") and not record.ended:
        record.status = "running" if update.live else "interrupted"
        if not update.live and not record.message:  # own runner: how it ended; another process's: only that it did
            record.message = update.runner_ended or interrupted_reason(record)
        elif update.live and before == "interrupted":
            record.message = ""  # writing again (a heartbeat that came late)
    if record.status == "interrupted" and not record.ended and update.runner_ended and record.batches_per_epoch is None and not update.events:
        record.status, record.message = "failed", update.runner_ended  # never started: nothing to resume
    return record.status != before
