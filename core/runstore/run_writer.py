"""Writing one run's event log: appended, flushed, locked, named and kept alive (core.runstore.liveness).

The run store (core.runstore.store) makes the folder and its config; this writer then owns `events.jsonl`,
`runner.json` and the heartbeat until the run ends.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sys
import threading
import time
from pathlib import Path

from core.runstore.atomic import atomic_write
from core.events import Event
from core.runstore.liveness import EVENTS_FILE, HEARTBEAT_S, RUNNER_FILE, file_system_of, this_process

CHECKPOINT_FILE = "checkpoint.pt"


class StoreError(RuntimeError):
    """The runs folder cannot be used; the message says which folder and what to do."""


class FolderMoved(StoreError):
    """The run's folder was moved or deleted while its run trained."""


def _folder_identity(folder: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return info.st_dev, info.st_ino


class RunWriter:
    """Appends one run's events; each line is flushed (and the file fsynced at epoch and run ends).

    Liveness (core.runstore.liveness): the writer holds an exclusive flock on the log while the run lives
    (where the file system has locks: without, it says so once on stderr and carries on), names
    itself in runner.json, and touches the log every HEARTBEAT_S seconds. Before each append it
    checks that its folder is still where it was made: a folder moved or deleted from outside
    raises FolderMoved, and the reason is written into the log it still holds open.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._file = open(folder / EVENTS_FILE, "a", encoding="utf-8")
        self.lock_warning = _take_lock(self._file.fileno(), folder)
        self._identity = _folder_identity(folder)
        # Who writes it: lets `x` in a dashboard signal this process, and only this one.
        with atomic_write(folder / RUNNER_FILE, "w", encoding="utf-8") as handle:
            json.dump(this_process(), handle)
        self._closed = threading.Event()
        threading.Thread(target=self._heartbeat, name="mnist-tui-heartbeat", daemon=True).start()

    @property
    def checkpoint_path(self) -> Path:
        return self.folder / CHECKPOINT_FILE

    def check_folder(self) -> None:
        """Raise FolderMoved if the run folder is no longer the one this writer made."""
        if _folder_identity(self.folder) != self._identity:
            raise FolderMoved(f"the run folder {self.folder} was moved or deleted while the run trained")

    def append(self, event: Event) -> None:
        self.check_folder()
        self.record(event)

    def record(self, event: Event) -> None:
        """Append without the folder check: the last word of a run whose folder moved still reaches its log."""
        self._file.write(json.dumps(event.to_dict(), separators=(",", ":")) + "\n")
        self._file.flush()
        if event.kind in ("epoch_ended", "run_finished", "run_stopped", "run_failed"):
            os.fsync(self._file.fileno())

    def _heartbeat(self) -> None:
        while not self._closed.wait(HEARTBEAT_S):
            try:
                os.utime(self._file.fileno())
            except (OSError, ValueError):
                return

    def close(self) -> None:
        self._closed.set()
        try:  # the runner process may train another run next: this one is over
            info = {**this_process(), "ended_at": time.time()}
            with atomic_write(self.folder / RUNNER_FILE, "w", encoding="utf-8") as handle:
                json.dump(info, handle)
        except OSError:
            pass  # folder gone or full: the lock (dropped below) and the dead pid still tell
        try:
            self._file.close()  # closing releases the lock
        except OSError:
            pass  # its last flush refused (ulimit -f, a full disk): every line that mattered was flushed with its event


def _take_lock(fd: int, folder: Path) -> str:
    """The writer's exclusive lock; where the file system has none, a warning (returned and printed)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return ""
    except OSError as problem:
        if problem.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise StoreError(f"{folder / EVENTS_FILE} is locked by another process: two runs got one folder") from None
        kind = file_system_of(folder) or "unknown"
        warning = (
            f"mnist-tui: warning: cannot lock {folder / EVENTS_FILE} on this {kind} file system "
            f"({problem.strerror or problem}); training goes on, and dashboards tell it is live by its "
            f"runner.json and its log's heartbeat instead"
        )
        print(warning, file=sys.stderr, flush=True)
        return warning
