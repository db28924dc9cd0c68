"""The dashboard's results table as text cells: which columns, in which order, and each cell.

At 80 columns the table shows the name, the status, the hyperparameters that differ between the
runs in view, then final and best; the rest (the hyperparameters all runs share, time, sweep,
accuracy per epoch) is one sideways scroll away. Grouped (runs of one configuration that differ
only in seed), a row is a configuration and its cells are mean ± std.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable

from core.comparison.groups import RunGroup, differing_fields
from core.runstore.results import RunRecord


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


def _fitted(width: int) -> Callable[[object], str]:
    """A number in at most `width` cells, rounded rather than cut (a search's lr 1.45667e-05 is
    `1.46e-5` in 7 cells; cut by the table it read `1.45667`, five orders of magnitude off)."""

    def text(value) -> str:
        for digits in (6, 5, 4, 3, 2, 1):
            short = f"{value:.{digits}g}".replace("e-0", "e-").replace("e+0", "e+")
            if len(short) <= width:
                break
        return short

    return text


# Rich styles of the statuses, shared by the dashboard's table and `mnist-tui runs`.
STATUS_STYLE = {
    "queued": "dim",
    "running": "bold",
    "done": "green",
    "stopped": "yellow",
    "pruned": "magenta",
    "failed": "bold red",
    "interrupted": "yellow",
    "unreadable": "red",
}
# Without colour (NO_COLOR) a terminal, or Textual's monochrome filter, draws each colour as a grey of
# its brightness: red is a dark grey next to the dark background (failed was all but invisible).
# There the statuses differ by attributes, drawn in the foreground colour.
STATUS_STYLE_NO_COLOR = {
    "queued": "dim",
    "running": "bold",
    "done": "",
    "stopped": "underline",
    "pruned": "italic",
    "failed": "bold reverse",
    "interrupted": "underline",
    "unreadable": "reverse",
}


def status_style(status: str, no_color: bool = False) -> str:
    """A status word's Rich style, with colour or (NO_COLOR) without."""
    return (STATUS_STYLE_NO_COLOR if no_color else STATUS_STYLE).get(status, "")


def _spread(value) -> str:
    return "" if value is None else value.percent()


# Hyperparameter columns: those that differ between the runs in view come right after the status.
HYPERPARAMETERS = [
    Column("lr", "lr", lambda r: r.config.lr, _fitted(7), 7),
    Column("batch_size", "bs", lambda r: r.config.batch_size, _plain, 4),
    Column("model", "model", lambda r: r.config.model, _plain, 5),
    Column("optimizer", "opt", lambda r: r.config.optimizer, _plain, 4),
    Column("schedule", "sched", lambda r: r.config.schedule, _plain, 8),
    Column("epochs", "epochs", lambda r: r.config.epochs, _plain, 6),
    Column("seed", "seed", lambda r: r.config.seed, _plain, 4),
    Column("momentum", "mom", lambda r: r.config.momentum, _fitted(5), 5),
    Column("weight_decay", "wd", lambda r: r.config.weight_decay, _fitted(6), 6),
    Column("dataset", "data", lambda r: r.config.dataset, _plain, 7),
    Column("train_size", "train_n", lambda r: r.config.train_size, _plain, 7),
    Column("test_size", "test_n", lambda r: r.config.test_size, _plain, 6),
    Column("compile", "compile", lambda r: "on" if r.config.compile else "off", _plain, 7),
]
DEFAULT_SHOWN = ("lr", "batch_size")  # when nothing differs (one run), the seed's two knobs lead
NAME = Column("name", "name", lambda r: r.label, _plain, 20)
STATUS = Column("status", "status", lambda r: r.status, _plain, 11)
FINAL = Column("final", "final%", lambda r: r.final, _percent, 6)
BEST = Column("best", "best%", lambda r: r.best, _percent, 6)
# Why a failed, stopped or interrupted run ended: right after the accuracies (cut to fit; the status
# line shows it whole). Only while a run in view has one.
REASON = Column("reason", "reason", lambda r: r.reason or None, _plain, 40)


def _local_time(value) -> str:
    """A start time in the viewer's time zone (ids and the CSV keep UTC)."""
    return "" if value is None else time.strftime("%m-%d %H:%M", time.localtime(value))


AFTER = [
    Column("started", "started", lambda r: r.started_at, _local_time, 11),
    Column("seconds", "time_s", lambda r: r.seconds, _seconds, 7),
    Column("sweep", "sweep", lambda r: r.config.sweep or None, _plain, 21),
]


def epoch_column(epoch: int) -> Column:
    return Column(f"epoch_{epoch}", f"ep{epoch}%", lambda r, e=epoch: r.accuracies.get(e), _percent, 6)


def _split_hyperparameters(records: list) -> tuple[list[Column], list[Column]]:
    """(the hyperparameter columns that differ between the runs, the rest), each in display order."""
    differ = set(differing_fields(records, [c.key for c in HYPERPARAMETERS])) or set(DEFAULT_SHOWN)
    return [c for c in HYPERPARAMETERS if c.key in differ], [c for c in HYPERPARAMETERS if c.key not in differ]


def _last_epoch(records: list[RunRecord]) -> int:
    return max((max(r.start_epoch + r.config.epochs, r.last_epoch) for r in records), default=0)


def columns_for(records: Iterable[RunRecord]) -> list[Column]:
    """Name, status, the differing hyperparameters, final, best, why a run ended (when one says);
    then the others, start, time, sweep and one accuracy column per epoch any run has (or will have)."""
    records = list(records)
    differ, same = _split_hyperparameters(records)
    reason = [REASON] if any(r.reason for r in records) else []
    return [NAME, STATUS, *differ, FINAL, BEST, *reason, *same, *AFTER] + [epoch_column(e) for e in range(1, _last_epoch(records) + 1)]


def group_columns_for(groups: list[RunGroup]) -> list[Column]:
    """The grouped view: a row per configuration, numbers as mean ± std over its seeds."""
    runs = [r for g in groups for r in g.runs]
    differ, _ = _split_hyperparameters(runs)
    differ = [Column(c.key, c.title, lambda g, c=c: c.value(g.runs[0]), c.text, c.width) for c in differ if c.key != "seed"]
    last = _last_epoch(runs)
    return [
        Column("name", "configuration", lambda g: g.label, _plain, 20),
        Column("n", "n", lambda g: len(g.runs), _plain, 2),
        *differ,
        Column("final", "final%", lambda g: g.final, _spread, 13),
        Column("best", "best%", lambda g: g.best, _spread, 13),
        Column("status", "runs", lambda g: g.status, _plain, 14),
        Column("seeds", "seeds", lambda g: ",".join(map(str, g.seeds)), _plain, 10),
    ] + [Column(f"epoch_{e}", f"ep{e}%", lambda g, e=e: g.accuracy(e), _spread, 13) for e in range(1, last + 1)]


def sort_value(column: Column, row):
    """What sorting by a column compares: a spread by its mean."""
    value = column.value(row)
    return getattr(value, "mean", value)


def cell_text(column: Column, record: RunRecord) -> str:
    """A cell as the table shows it; an unreadable run has only its name and status (its
    configuration is unknown: no made-up defaults)."""
    if getattr(record, "status", "") == "unreadable" and column.key not in ("name", "status", "reason"):
        return ""
    return column.text(column.value(record))
