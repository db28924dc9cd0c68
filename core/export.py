"""The results table as text cells, shared by the dashboard's table and the CSV export.

One function formats every cell, so the CSV holds exactly what the table shows: numbers as
plain numbers (accuracies in percent, time in seconds), no units inside cells.
"""

from __future__ import annotations

import csv
import io
import os
import re
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


def csv_text(records: list[RunRecord]) -> str:
    columns = columns_for(records)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.title for c in columns] + ["run_id"])
    for record in records:
        writer.writerow([neutralise(c.text(c.value(record))) for c in columns] + [neutralise(record.run_id)])
    return out.getvalue()


def write_csv(path: str | os.PathLike, records: list[RunRecord], *, overwrite: bool = False) -> Path:
    """Write atomically; refuses an existing file unless `overwrite` (FileExistsError)."""
    path = Path(path).expanduser()
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder")
    with atomic_write(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(csv_text(records))
    return path
