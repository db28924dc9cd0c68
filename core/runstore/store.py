"""The run store: one folder per run with its config, an append-only event log and its weights.

    runs/20261127-181502-042-0423f1a2-cnn-lr0.01-bs64/
        config.json      the RunConfig, written atomically before training starts
        events.jsonl     one JSON event per line, flushed as it is written
        runner.json      who writes it: {"pid", "host", "start_time"[, "ended_at"]} (core.runstore.run_writer, core.runstore.liveness)
        runner.log       a runner process's stderr (a crash trace ends up here)
        stop-request.json  why a stop was asked for (core.execution.control), read by the runner
        checkpoint.pt    the weights after the last finished epoch (atomic, by core.training.checkpoint)
        best.pt          the weights of the best test accuracy so far
        predictions-epoch-N.pt  every test image's predicted class and confidence (core.training.inspect)

Ids start with the UTC start time (so they sort by it whatever the TZ of whoever started them)
and carry the run's name. Reading is forgiving and bounded: only regular files are opened (never
a FIFO, socket, device or link: core.runstore.safe_read), each to a size limit; a torn last line is
skipped with a warning; a run that cannot be read is listed as unreadable with the reason; and
nothing here raises on bad file contents or another user's folder.
"""

from __future__ import annotations

import calendar
import errno
import itertools
import json
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.runstore.atomic import atomic_write, write_failure
from core.config import ConfigError, RunConfig
from core.events import Event, event_from_dict
from core.runstore.liveness import EVENTS_FILE, is_live, process_alive
from core.runstore.run_writer import CHECKPOINT_FILE, RunWriter, StoreError
from core.runstore.safe_read import read_bytes, read_text

RUNS_ENV = "MNIST_TUI_RUNS"
CONFIG_FILE = "config.json"
MAX_LINE_BYTES = 64 * 1024  # an event is a few hundred bytes; a longer line is corrupt
MAX_CONFIG_BYTES = 64 * 1024  # a config is under 1 KB
MAX_LOG_BYTES = 256 * 1024 * 1024  # a 2,000-epoch run logs ~60 MB; past this a log is not ours
READ_CHUNK = 4 * 1024 * 1024  # bytes of a live log read at once
RUNNER_LOG = "runner.log"


def resolve_runs_dir(explicit: str | os.PathLike | None = None) -> Path:
    """--runs-dir, else $MNIST_TUI_RUNS, else ./runs (beside the user's work, as TensorBoard does)."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(RUNS_ENV)
    return Path(env).expanduser() if env else Path("runs")


_id_count = itertools.count()
_id_lock = threading.Lock()


def utc_stamp(now: float, pattern: str = "%Y%m%d-%H%M%S") -> str:
    """A timestamp for names that sort by time: UTC, so two users' TZ settings cannot reorder them."""
    return time.strftime(pattern, time.gmtime(now))


def id_time(run_id: str) -> float | None:
    """The UTC start time an id begins with (seconds since the epoch), or None for another name."""
    try:
        return calendar.timegm(time.strptime(run_id[:15], "%Y%m%d-%H%M%S"))
    except ValueError:
        return None


def new_run_id(config: RunConfig, now: float | None = None) -> str:
    """`YYYYmmdd-HHMMSS-mmm-xxxxxxxx-<label>` (UTC): sorts by start time to the millisecond, readable in `ls`.

    Unique: within a process a counter tells ids apart (65,536 a millisecond), across processes
    16 random bits do; a collision that still happens is refused by `create`, never merged.
    """
    now = time.time() if now is None else now
    millis = int(now * 1000) % 1000
    with _id_lock:
        count = next(_id_count)
    tag = f"{count % 65536:04x}{secrets.token_hex(2)}"
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", config.name or f"{config.model}-lr{config.lr:g}-bs{config.batch_size}")
    return f"{utc_stamp(now)}-{millis:03d}-{tag}-{slug.strip('-')[:40] or 'run'}"


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
    created: float = 0.0  # when its config was written (seconds since the epoch): the start order of a run that never started

    @property
    def checkpoint(self) -> Path | None:
        path = self.path / CHECKPOINT_FILE
        return path if path.is_file() else None


# The temporary files core.runstore.atomic makes for the files this program writes into a run folder:
# `.<name>.<pid>.<random>.tmp`. Nothing else is ever removed.
_OUR_TEMP = re.compile(r"\.(config\.json|checkpoint\.pt|best\.pt|runner\.json|stop-request\.json|predictions-epoch-\d+\.pt)\.(\d+)\.[A-Za-z0-9_]+\.tmp")


def remove_stale_temp_files(folder: Path, live: bool | None = None) -> list[Path]:
    """Delete the temporary files a writer left when it died mid-write: only while the run is not
    live (`live`: already known, else asked), only names this program makes, never through a link."""
    try:
        if folder.is_symlink() or not folder.is_dir() or (is_live(folder) if live is None else live):
            return []
        entries = list(folder.iterdir())
    except OSError:
        return []  # another user's folder, or gone: nothing of ours to clean
    removed = []
    for temp in entries:
        match = _OUR_TEMP.fullmatch(temp.name)
        try:
            if match is None or temp.is_symlink() or not temp.is_file() or process_alive(int(match.group(2))):
                continue
            temp.unlink()
            removed.append(temp)
        except OSError:
            pass
    return removed


def _unwritable(folder: Path, problem: OSError) -> StoreError:
    return StoreError(write_failure(folder, problem, f"choose a writable folder with --runs-dir or ${RUNS_ENV}"))


class RunStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def create(self, run_id: str, config: RunConfig) -> RunWriter:
        """Make the run's folder, its config and its writer; on failure nothing is left behind."""
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
        except (OSError, StoreError) as problem:
            shutil.rmtree(folder, ignore_errors=True)  # an empty run folder would list as a broken run
            if isinstance(problem, StoreError):
                raise
            raise _unwritable(folder, problem) from problem

    def run_ids(self) -> list[str]:
        """The run folders' names, sorted (ids start with their UTC start time). A runs folder that
        cannot be listed raises StoreError; a symbolic link is not followed out of it."""
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        except OSError as problem:
            raise StoreError(f"cannot list the runs folder {self.root} ({problem.strerror or problem})") from None
        ids = []
        for entry in entries:
            try:
                if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                    ids.append(entry.name)
            except OSError:
                continue
        return sorted(ids)

    def is_empty(self) -> bool:
        """No run recorded yet (a first start): cheap, no run is read."""
        try:
            return not self.run_ids()
        except StoreError:
            return False

    def load(self, run_id: str) -> StoredRun:
        return read_run(self.root / run_id)

    def load_all(self) -> list[StoredRun]:
        return [self.load(run_id) for run_id in self.run_ids()]

    def delete(self, run_id: str) -> None:
        """Remove a run's folder; refused while any sign says it trains (core.runstore.liveness). A folder
        already gone counts as deleted."""
        folder = self.root / run_id
        if is_live(folder):
            raise StoreError(f"{run_id} is still training; stop it before deleting it")
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass
        except OSError as problem:
            raise StoreError(f"could not delete {folder}: {problem.strerror or problem}") from None

    def read_new_events(self, run_id: str, offset: int) -> tuple[list[Event], int, list[str]]:
        """Events appended since `offset` (at most READ_CHUNK bytes a call), the new offset, warnings.

        A last line still being written is left for the next call; a line of over a chunk with
        no end is skipped whole, so a corrupt log cannot stall the reader.
        """
        try:
            data = read_bytes(self.root / run_id / EVENTS_FILE, READ_CHUNK, offset)
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
    """A run folder as it is now; any problem is a warning or the `unreadable` reason, never a raise."""
    run = StoredRun(run_id=folder.name, path=folder, created=_modified(folder / CONFIG_FILE) or _modified(folder))
    live = is_live(folder)  # once, before the read: a writer that ends meanwhile has all its lines read
    remove_stale_temp_files(folder, live)
    try:
        run.config = RunConfig.from_dict(json.loads(read_text(folder / CONFIG_FILE, MAX_CONFIG_BYTES)))
    except (OSError, ValueError, TypeError, AttributeError, RecursionError, ConfigError) as bad:
        run.unreadable = _config_problem(folder, bad)
        return run
    run.live = live
    try:
        data = read_bytes(folder / EVENTS_FILE, MAX_LOG_BYTES + 1)
    except OSError as bad:
        if bad.errno != errno.ENOENT:  # a FIFO, a link, another user's file: nothing of it can be trusted
            run.unreadable = bad.strerror or str(bad)
        else:
            run.warnings.append("no event log yet")
        return run
    if len(data) > MAX_LOG_BYTES:
        run.warnings.append(f"{EVENTS_FILE} is larger than {MAX_LOG_BYTES >> 20} MiB: read only its start")
        data = data[:MAX_LOG_BYTES]
    if run.live or len(data) >= MAX_LOG_BYTES:  # the writer may be mid-line: keep the partial line for the next read
        data = data[: data.rfind(b"\n") + 1]
    run.events, more = read_events(data)
    run.warnings += more
    run.log_offset = len(data)
    return run


def _modified(path: Path) -> float:
    try:
        return os.stat(path, follow_symlinks=False).st_mtime
    except OSError:
        return 0.0


def _config_problem(folder: Path, bad: Exception) -> str:
    number = getattr(bad, "errno", None)
    if number == errno.ENOENT:
        return "config.json is missing"
    if number in (errno.EACCES, errno.EPERM):
        return f"permission denied: the folder or its config.json is not readable by you{_owner(folder)}"
    if isinstance(bad, OSError):
        return bad.strerror or str(bad)  # UnsafeFile's words: "config.json is a FIFO, not a file"
    return f"config.json is not a valid configuration ({str(bad)[:160]})"


def _owner(folder: Path) -> str:
    try:
        import pwd

        return f" (it belongs to {pwd.getpwuid(folder.stat().st_uid).pw_name})"
    except (OSError, KeyError, ImportError):
        return ""

