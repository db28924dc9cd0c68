"""Asking a live run to stop, from another process (the dashboard's `x`).

The request is a file, `stop-request.json` in the run folder, saying who asks and why, and
then SIGUSR1 to the process named in `runner.json`. The signal goes only to a process that
still holds the run's lock and started when the run's writer started, never to a process that
reused the id; the runner reads the reason, stops after its current batch and records it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

from core.runstore.atomic import atomic_write
from core.runstore.liveness import RUNNER_FILE, is_live, process_start_time, read_runner
from core.runstore.safe_read import read_text

STOP_REQUEST_FILE = "stop-request.json"
STOP_SIGNAL = signal.SIGUSR1


class ControlError(RuntimeError):
    """The run cannot be signalled from here; the message says why."""


def runner_of(folder: Path) -> dict:
    """The run's writer as recorded in runner.json: pid, host, start time; checked (core.runstore.liveness)."""
    info = read_runner(folder)
    if info is None:
        raise ControlError(f"{folder.name} does not say which process trains it (no readable, well-formed {RUNNER_FILE})")
    return info


def request_stop(folder: Path, reason: str, *, pid: int | None = None, pruned_after: int | None = None) -> int:
    """Ask the process training the run in `folder` to stop after its batch; returns its pid.

    `pid` is for a runner this process started itself and has not reaped (so its id cannot
    have been reused), which may not have written its folder yet. `pruned_after`: a search
    prunes the run after that epoch (the run keeps that epoch's checkpoint, not a later batch's).
    """
    if pid is None:
        info = runner_of(folder)
        if info["host"] != socket.gethostname():
            raise ControlError(f"{folder.name} trains on {info['host']}; stop it there")
        if not is_live(folder):
            raise ControlError(f"{folder.name} is not training any more")
        if info.get("start_time") is not None and process_start_time(info["pid"]) != info["start_time"]:
            raise ControlError(f"{folder.name}: its process {info['pid']} is gone")
        pid = info["pid"]
    if pid == os.getpid():
        raise ControlError(f"{folder.name} is written by this very process; it cannot stop itself this way")
    if folder.is_dir():
        with atomic_write(folder / STOP_REQUEST_FILE, "w", encoding="utf-8") as handle:
            json.dump({"reason": reason, "pruned_after": pruned_after, "by_pid": os.getpid(), "by_host": socket.gethostname()}, handle)
    try:
        os.kill(pid, STOP_SIGNAL)
    except ProcessLookupError:
        raise ControlError(f"{folder.name}: its process {pid} is gone") from None
    except PermissionError:
        raise ControlError(f"{folder.name} is trained by another user's process ({pid})") from None
    return pid


def read_stop_request(folder: Path | None, default: str = "stopped by the user") -> tuple[str, int | None]:
    """(reason, pruned_after) of a stop request (the runner reads it when SIGUSR1 arrives);
    pruned_after is the epoch a search pruned the run after, or None for a plain stop."""
    if folder is None:
        return default, None
    try:
        request = json.loads(read_text(folder / STOP_REQUEST_FILE, 4096))
        reason = request["reason"]
    except (OSError, ValueError, KeyError, TypeError):
        return default, None
    pruned = request.get("pruned_after")
    pruned = pruned if isinstance(pruned, int) and not isinstance(pruned, bool) and 0 < pruned <= 100_000 else None
    return (reason[:300] if isinstance(reason, str) and reason else default), pruned

