"""The run store: one folder per run with its config, an append-only event log and its weights.

    runs/20261127-181502-0423f-cnn-lr0.01-bs64/
        config.json      the RunConfig, written atomically before training starts
        events.jsonl     one JSON event per line, flushed as it is written
        runner.json      who writes it: {"pid", "host", "start_time"} (see core.control)
        runner.log       a runner process's stderr (a crash trace ends up here)
        stop-request.json  why a stop was asked for (core.control), read by the runner
        checkpoint.pt    the weights after the last finished epoch (atomic, by core.checkpoint)
        best.pt          the weights of the best test accuracy so far
        predictions-epoch-N.pt  every test image's predicted class and confidence (core.inspect)

Ids sort by start time and carry the run's name. Reading is forgiving: a torn last line
(the process was killed mid-write) is skipped with a warning, an unreadable run is listed as
unreadable, and nothing here ever raises on bad file contents.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import json
import os
import re
import secrets
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.atomic import atomic_write
from core.config import ConfigError, RunConfig
from core.events import Event, event_from_dict

RUNS_ENV = "MNIST_TUI_RUNS"
CONFIG_FILE = "config.json"
EVENTS_FILE = "events.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"
MAX_LINE_BYTES = 64 * 1024  # an event is a few hundred bytes; a longer line is corrupt
READ_CHUNK = 4 * 1024 * 1024  # bytes of a live log read at once
RUNNER_FILE = "runner.json"
RUNNER_LOG = "runner.log"


class StoreError(RuntimeError):
    """The runs folder cannot be used; the message says which folder and what to do."""


def resolve_runs_dir(explicit: str | os.PathLike | None = None) -> Path:
    """--runs-dir, else $MNIST_TUI_RUNS, else ./runs (beside the user's work, as TensorBoard does)."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(RUNS_ENV)
    return Path(env).expanduser() if env else Path("runs")


_id_count = itertools.count()
_id_lock = threading.Lock()


def new_run_id(config: RunConfig, now: float | None = None) -> str:
    """`YYYYmmdd-HHMMSS-mmm-xxxxxxxx-<label>`: sorts by start time (to the millisecond), readable in `ls`.

    Unique: within a process a counter tells ids apart (65,536 a millisecond), across processes
    16 random bits do; a collision that still happens is refused by `create`, never merged.
    """
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    millis = int(now * 1000) % 1000
    with _id_lock:
        count = next(_id_count)
    tag = f"{count % 65536:04x}{secrets.token_hex(2)}"
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", config.name or f"{config.model}-lr{config.lr:g}-bs{config.batch_size}")
    return f"{stamp}-{millis:03d}-{tag}-{slug.strip('-')[:40] or 'run'}"


@dataclass
class StoredRun:
    run_id: str
    path: Path
    config: RunConfig | None = None
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # torn lines, bad config: shown to the user
    unreadable: str | None = None  # why nothing of this run could be read
    live: bool = False  # a process (this one or another) is writing it now
    log_offset: int = 0  # bytes of events.jsonl consumed, to read only what is new later

    @property
    def checkpoint(self) -> Path | None:
        path = self.path / CHECKPOINT_FILE
        return path if path.is_file() else None


class RunWriter:
    """Appends one run's events; each line is flushed (and the file fsynced at epoch and run ends).

    The writer holds an exclusive flock on the log while the run lives. The kernel drops it when
    the process ends, however it ends, so readers tell a live run from a killed one by trying it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._file = open(folder / EVENTS_FILE, "a", encoding="utf-8")
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Who holds the lock: lets `x` in a dashboard signal this process, and only this one.
        with atomic_write(folder / RUNNER_FILE, "w", encoding="utf-8") as handle:
            json.dump(this_process(), handle)

    @property
    def checkpoint_path(self) -> Path:
        return self.folder / CHECKPOINT_FILE

    def append(self, event: Event) -> None:
        self._file.write(json.dumps(event.to_dict(), separators=(",", ":")) + "\n")
        self._file.flush()
        if event.kind in ("epoch_ended", "run_finished", "run_stopped", "run_failed"):
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()  # closing releases the lock


def process_start_time(pid: int) -> int | None:
    """When a process started (clock ticks since boot, Linux), to tell it from a later one with its id."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def this_process() -> dict:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "start_time": process_start_time(pid)}


def is_live(folder: Path) -> bool:
    """True while some process holds the run's writer lock."""
    try:
        with open(folder / EVENTS_FILE, "rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError as busy:
                return busy.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
            return False
    except OSError:
        return False


# The temporary files core.atomic makes for the files this program writes into a run folder:
# `.<name>.<pid>.<random>.tmp`. Nothing else is ever removed.
_OUR_TEMP = re.compile(r"\.(config\.json|checkpoint\.pt|best\.pt|runner\.json|stop-request\.json|predictions-epoch-\d+\.pt)\.(\d+)\.[A-Za-z0-9_]+\.tmp")


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete the temporary files a writer left when it died mid-write: only while the run is not
    live (its lock is free), only names this program makes, never through a symbolic link."""
    if folder.is_symlink() or not folder.is_dir() or is_live(folder):
        return []
    removed = []
    for temp in folder.iterdir():
        match = _OUR_TEMP.fullmatch(temp.name)
        if match is None or temp.is_symlink() or not temp.is_file() or _process_alive(int(match.group(2))):
            continue
        try:
            temp.unlink()
            removed.append(temp)
        except OSError:
            pass
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unwritable(folder: Path, problem: OSError) -> StoreError:
    return StoreError(
        f"cannot write the run folder {folder} ({problem.strerror or problem}); "
        "choose a writable folder with --runs-dir or $MNIST_TUI_RUNS, or free some disk space"
    )


class RunStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def create(self, run_id: str, config: RunConfig) -> RunWriter:
        folder = self.root / run_id
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as problem:
            raise _unwritable(folder, problem) from problem
        try:
            folder.mkdir()
        except FileExistsError:
            raise StoreError(f"a run folder {folder} exists already (two runs got one id); start the run again") from None
        except OSError as problem:
            raise _unwritable(folder, problem) from problem
        try:
            with atomic_write(folder / CONFIG_FILE, "w", encoding="utf-8") as handle:
                json.dump(config.to_dict(), handle, indent=2)
            return RunWriter(folder)
        except OSError as problem:
            raise _unwritable(folder, problem) from problem

    def run_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        # A symbolic link is not followed out of the runs folder: runs are real folders in it.
        return sorted(p.name for p in self.root.iterdir() if not p.name.startswith(".") and not p.is_symlink() and p.is_dir())

    def is_empty(self) -> bool:
        """No run recorded yet (a first start): cheap, no run is read."""
        return not self.run_ids()

    def load(self, run_id: str) -> StoredRun:
        return read_run(self.root / run_id)

    def load_all(self) -> list[StoredRun]:
        return [self.load(run_id) for run_id in self.run_ids()]

    def delete(self, run_id: str) -> None:
        folder = self.root / run_id
        if is_live(folder):
            raise StoreError(f"{run_id} is still training; stop it before deleting it")
        shutil.rmtree(folder)

    def read_new_events(self, run_id: str, offset: int) -> tuple[list[Event], int, list[str]]:
        """Events appended since `offset` (at most READ_CHUNK bytes a call), the new offset, warnings.

        A last line still being written is left for the next call; a line of over a chunk with
        no end is skipped whole, so a corrupt log cannot stall the reader.
        """
        try:
            with open(self.root / run_id / EVENTS_FILE, "rb") as handle:
                handle.seek(offset)
                data = handle.read(READ_CHUNK)
        except OSError:
            return [], offset, []
        end = data.rfind(b"\n") + 1
        if end == 0 and len(data) == READ_CHUNK:
            return [], offset + len(data), [f"skipped {READ_CHUNK} bytes of {EVENTS_FILE} from byte {offset}: no line ends there"]
        events, warnings = read_events(data[:end], where=f"{EVENTS_FILE} (from byte {offset})")
        return events, offset + end, warnings


def read_events(data: bytes, where: str = EVENTS_FILE) -> tuple[list[Event], list[str]]:
    """Parse an event log's bytes; each bad line is skipped with a warning naming it (a torn last
    line is normal after a kill; a mistyped field, a number out of range or an overlong line is not)."""
    events: list[Event] = []
    warnings: list[str] = []
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        line = "the last line (cut off mid-write)" if number >= len(lines) - 1 and data[-1:] != b"\n" else f"line {number}"
        if len(raw) > MAX_LINE_BYTES:
            warnings.append(f"skipped {line} of {where}: longer than {MAX_LINE_BYTES // 1024} KiB")
            continue
        try:
            events.append(event_from_dict(json.loads(raw.decode("utf-8"))))
        except (ValueError, UnicodeDecodeError, RecursionError) as bad:
            warnings.append(f"skipped {line} of {where}: {str(bad)[:160]}")
    return events, warnings


def read_run(folder: Path) -> StoredRun:
    run = StoredRun(run_id=folder.name, path=folder)
    remove_stale_temp_files(folder)
    try:
        config_data = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        run.config = RunConfig.from_dict(config_data)
    except (OSError, ValueError, TypeError, AttributeError, ConfigError) as bad:
        run.unreadable = f"config.json is missing or unreadable ({str(bad)[:120]})"
        return run
    run.live = is_live(folder)
    try:
        data = (folder / EVENTS_FILE).read_bytes()
    except OSError as bad:
        run.warnings.append(f"no event log ({bad.strerror or bad})")
        return run
    if run.live:  # the writer may be mid-line: keep the partial line for the next read
        data = data[: data.rfind(b"\n") + 1]
    run.events, run.warnings = read_events(data)
    run.log_offset = len(data)
    return run
