"""Is a run still training? Three signs, because on a shared server no single one can be trusted.

1. **The lock**: the writer holds an exclusive `flock` on `events.jsonl` while the run lives, and
   the kernel drops it however the process ends. On NFS without a lock daemon `flock` fails with
   ENOLCK; with `local_lock` another host's lock is invisible here.
2. **The runner**: `runner.json` names the writing process (pid, host, start time). On this host a
   process that is gone (or whose pid now belongs to a later process) cannot be writing; the file
   says `ended_at` once the writer closed (a runner process trains several runs in turn).
3. **The heartbeat**: a live writer touches its log at least every HEARTBEAT_S seconds, so a log
   modified within STALE_AFTER_S says the run lives, wherever its runner is.

A run is live if any sign that can tell says so. On this host the lock, where it works, and the
runner's life are proof (a free lock or a dead process writes nothing), so a killed run shows as
interrupted at once instead of a minute later; the heartbeat speaks for runs whose writer is on
another host (or unknown), where this host cannot see its lock or its process.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
import time
from pathlib import Path

from core.runstore.safe_read import UnsafeFile, open_regular, read_text

EVENTS_FILE = "events.jsonl"  # the run's event log (core.runstore.store writes it)
RUNNER_FILE = "runner.json"  # who writes it: {"pid", "host", "start_time", ["ended_at"]}
HEARTBEAT_S = 15.0
STALE_AFTER_S = 60.0
_RUNNER_JSON_LIMIT = 4096


def process_start_time(pid: int) -> int | None:
    """When a process started (clock ticks since boot, Linux), to tell it from a later one with its id."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def is_zombie(pid: int) -> bool:
    """An exited process its parent has not reaped yet (Linux /proc): it has ended, though kill(pid, 0) says it lives."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def this_process() -> dict:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "start_time": process_start_time(pid)}


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def lock_held(folder: Path) -> bool | None:
    """True while some process holds the run's writer lock; None when locks cannot tell (ENOLCK, no log)."""
    try:
        fd = open_regular(folder / EVENTS_FILE)
    except UnsafeFile:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as busy:
        return True if busy.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES) else None
    finally:
        os.close(fd)  # closing drops our shared lock too
    return False


def read_runner(folder: Path) -> dict | None:
    """runner.json, checked (pid > 1, host text), or None when missing or malformed."""
    try:
        info = json.loads(read_text(folder / RUNNER_FILE, _RUNNER_JSON_LIMIT))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    pid, host = info.get("pid"), info.get("host")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 1 or not isinstance(host, str):
        return None
    return info


def runner_alive(folder: Path) -> bool | None:
    """On this host: is the run's writer alive and still writing it? None: it runs elsewhere or is unknown."""
    info = read_runner(folder)
    if info is None or info["host"] != socket.gethostname():
        return None
    if "ended_at" in info:
        return False
    started = info.get("start_time")
    if not process_alive(info["pid"]):
        return False
    return started is None or process_start_time(info["pid"]) == started


def log_age(folder: Path) -> float | None:
    """Seconds since the event log was last written or touched; None when there is none."""
    try:
        info = os.stat(folder / EVENTS_FILE, follow_symlinks=False)
    except OSError:
        return None
    return max(0.0, time.time() - info.st_mtime) if stat.S_ISREG(info.st_mode) else None


def is_live(folder: Path) -> bool:
    """Whether a process may still be writing the run in `folder` (see the module's three signs)."""
    lock = lock_held(folder)
    if lock:
        return True
    runner = runner_alive(folder)
    if runner is not None:  # its writer ran on this host, where a lock that works is seen by all
        return runner and lock is None
    age = log_age(folder)  # written from another host (or by an unknown process): the heartbeat tells
    return age is not None and age < STALE_AFTER_S


def file_system_of(path: Path) -> str:
    """The file system type `path` lives on, from /proc/self/mounts (e.g. 'nfs4'); '' if unknown."""
    try:
        target = os.path.realpath(path)
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as mounts:
            entries = [line.split() for line in mounts]
    except OSError:
        return ""
    best, kind = "", ""
    for fields in entries:
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind
