"""The results table as text cells, shared by the dashboard's table and the CSV export.

One function formats every cell, so the CSV holds exactly what the table shows: numbers as
plain numbers (accuracies in percent, time in seconds), no units inside cells.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from core.atomic import atomic_write
from core.results import RunRecord


@dataclass(frozen=True)
class Column:
    key: str  # stable id (the DataTable column key)
    title: str  # header in the table and the CSV
    value: Callable[[RunRecord], object]  # raw value, for sorting
    text: Callable[[object], str]  # how the value is written
    width: int  # display width in the dashboard's table (fixed: live updates never relayout)


def _percent(value) -> str:
    return "" if value is None else f"{value * 100:.2f}"


def _plain(value) -> str:
    return "" if value is None else str(value)


def _seconds(value) -> str:
    return "" if value is None else f"{value:.1f}"


def _lr(value) -> str:
    return f"{value:g}"


# Rich styles of the statuses, shared by the dashboard's table and `mnist-tui runs`.
STATUS_STYLE = {
    "queued": "dim",
    "running": "bold",
    "done": "green",
    "stopped": "yellow",
    "failed": "bold red",
    "interrupted": "yellow",
    "unreadable": "red",
}


# In display order: what matters at 80 columns comes first.
BASE_COLUMNS = [
    Column("name", "name", lambda r: r.label, _plain, 20),
    Column("status", "status", lambda r: r.status, _plain, 11),
    Column("lr", "lr", lambda r: r.config.lr, _lr, 7),
    Column("batch_size", "bs", lambda r: r.config.batch_size, _plain, 4),
    Column("final", "final%", lambda r: r.final, _percent, 6),
    Column("best", "best%", lambda r: r.best, _percent, 6),
    Column("model", "model", lambda r: r.config.model, _plain, 5),
    Column("optimizer", "opt", lambda r: r.config.optimizer, _plain, 4),
    Column("epochs", "epochs", lambda r: r.config.epochs, _plain, 6),
    Column("seconds", "time_s", lambda r: r.seconds, _seconds, 7),
    Column("schedule", "sched", lambda r: r.config.schedule, _plain, 8),
    Column("sweep", "sweep", lambda r: r.config.sweep or None, _plain, 21),
]


def epoch_column(epoch: int) -> Column:
    return Column(f"epoch_{epoch}", f"ep{epoch}%", lambda r, e=epoch: r.accuracies.get(e), _percent, 6)


def columns_for(records: Iterable[RunRecord]) -> list[Column]:
    """The base columns plus one accuracy column per epoch any run has (or will have)."""
    last = max((max(r.start_epoch + r.config.epochs, r.last_epoch) for r in records), default=0)
    return BASE_COLUMNS + [epoch_column(e) for e in range(1, last + 1)]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def neutralise(cell: str) -> str:
    """OWASP CSV injection: a text cell that a spreadsheet would run as a formula gets a leading '."""
    if cell.startswith(_FORMULA_START) and not _NUMBER.match(cell):
        return "'" + cell
    return cell


def cell_text(column: Column, record: RunRecord) -> str:
    """A cell as the table and the CSV show it; an unreadable run has only its name and status
    (its configuration is unknown: no made-up defaults)."""
    if record.status == "unreadable" and column.key not in ("name", "status"):
        return ""
    return column.text(column.value(record))


def csv_text(records: list[RunRecord]) -> str:
    columns = columns_for(records)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.title for c in columns] + ["run_id"])
    for record in records:
        writer.writerow([neutralise(cell_text(c, record)) for c in columns] + [neutralise(record.run_id)])
    return out.getvalue()


class ExportRefused(OSError):
    """The path is not something export writes to (a device, a FIFO, a socket, a folder)."""


_KINDS = ((stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"))


def export_target(path: str | os.PathLike) -> Path:
    """Where a CSV may go: a regular file (a link's target) or a new path; anything else is refused."""
    if not str(path).strip():
        raise ExportRefused("give a file name")
    target = Path(path).expanduser()
    if target.is_symlink():
        target = Path(os.path.realpath(target))  # replace the file it points to, never the link
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    if stat.S_ISDIR(mode):
        raise ExportRefused(f"{target} is a folder; give a file name")
    for test, kind in _KINDS:
        if test(mode):
            raise ExportRefused(f"{target} is a {kind}, not a file: export writes only to a regular file or a new path")
    return target


def write_csv(path: str | os.PathLike, records: list[RunRecord], *, overwrite: bool = False) -> Path:
    """Write atomically to a regular file or a new path; refuses an existing file unless `overwrite`
    (FileExistsError) and anything not a regular file always (ExportRefused)."""
    target = export_target(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists")
    with atomic_write(target, "w", encoding="utf-8", newline="") as handle:
        handle.write(csv_text(records))
    return target
