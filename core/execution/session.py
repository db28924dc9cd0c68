"""A run as a runner trains it: its events, each recorded in the run store before anyone sees it.

`record_events` is the write loop alone (no torch): the Ray driver records a remote run's
events with it too (core.execution.ray_driver).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Iterator

from core.config import RunConfig
from core.events import Event, RunFailed
from core.runstore.atomic import write_failure
from core.runstore.liveness import EVENTS_FILE
from core.runstore.run_writer import FolderMoved
from core.runstore.store import RunStore, StoreError


def recorded_run(
    config: RunConfig,
    run_id: str,
    *,
    store: RunStore | None,
    cancel: threading.Event | None = None,
    data_dir: str | Path | None = None,
    on_folder: Callable[[Path], None] | None = None,
) -> Iterator[Event]:
    """Yield the run's events, each written to its event log first (so a kill loses nothing shown).

    `on_folder(folder)` is called once the run's folder exists, before training starts.
    """
    from core.training.trainer import run_events  # torch: only where a run trains

    if store is None:
        yield from run_events(config, run_id, cancel=cancel, data_dir=data_dir)
        return
    try:
        writer = store.create(run_id, config)
    except StoreError as problem:
        yield RunFailed(run_id, "StoreError", str(problem))
        return
    try:
        if on_folder is not None:
            on_folder(writer.folder)
        events = run_events(config, run_id, cancel=cancel, data_dir=data_dir, checkpoint_path=writer.checkpoint_path, run_dir=writer.folder)
        yield from record_events(writer, run_id, events)
    finally:
        writer.close()


def record_events(writer, run_id: str, events: Iterator[Event]) -> Iterator[Event]:
    """Append each event to the run's log, then yield it. A write the disk refuses (or a run
    folder moved away) closes `events` (training stops) and yields the event and a RunFailed
    saying why; the writer stays open (the caller closes it)."""
    for event in events:
        try:
            writer.append(event)
        except (OSError, FolderMoved) as problem:  # stop training (closing `events`), say why
            failed = RunFailed(run_id, "StoreError", _why_the_log_stopped(writer, event, problem), getattr(event, "elapsed", 0.0))
            try:  # the log is still open even when its folder moved: its last lines land there
                writer.record(event)
                writer.record(failed)
            except OSError:
                pass
            close = getattr(events, "close", None)
            if close is not None:
                close()
            yield event
            yield failed
            return
        yield event


def wait_politely(thread: threading.Thread, poll_s: float = 0.2) -> None:
    """Join a thread in short steps so the main thread still receives signals (Ctrl+C, SIGHUP)."""
    while thread.is_alive():
        thread.join(poll_s)


def _why_the_log_stopped(writer, event: Event, problem: Exception) -> str:
    """One line: what happened to the run folder, where training stopped, what to do."""
    where = f" at epoch {event.epoch}, batch {event.batch}" if hasattr(event, "batch") else f" at epoch {getattr(event, 'epoch', '?')}"
    if isinstance(problem, FolderMoved):
        return f"{problem}; training stopped{where} (moved, the folder keeps its log up to here)"
    return f"{write_failure(writer.folder / EVENTS_FILE, problem, 'choose another runs folder (--runs-dir)')}; training stopped{where}"
