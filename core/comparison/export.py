"""CSV export: every run as a full record, or one row per configuration (mean, std, n).

A run's row holds every configuration field, its status and reason, when it started, how long
it took, the accuracy and test loss after each epoch, best and final, and the torch version that
trained it. Column names are stable (listed in docs/run-store.md); numbers are written exactly (`repr`,
accuracies as fractions 0..1, seconds as seconds), so a row read back equals the run's record.
A cell for something that did not happen (an epoch not reached, an unreadable run's config) is
empty, never a default.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.runstore.atomic import atomic_write
from core.comparison.groups import GROUP_FIELDS, group_runs
from core.runstore.results import RunRecord


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def neutralise(cell: str) -> str:
    """OWASP CSV injection: a text cell that a spreadsheet would run as a formula gets a leading '."""
    if cell.startswith(_FORMULA_START) and not _NUMBER.match(cell):
        return "'" + cell
    return cell


# Every RunConfig field, in the order a reader compares runs by.
CONFIG_COLUMNS = ("dataset", "model", "optimizer", "lr", "batch_size", "epochs", "momentum", "weight_decay", "schedule",
                  "seed", "train_size", "test_size", "log_every", "resume", "compile", "tensorboard", "sweep", "device_requested")
RUN_COLUMNS = ("run_id", "name", "status", "reason", "started_at", "seconds", *CONFIG_COLUMNS,
               "device", "device_name", "node", "train_images", "test_images", "torch_version",
               "best_accuracy", "best_epoch", "final_accuracy", "final_epoch")
EPOCH_COLUMNS = ("accuracy_ep{}", "test_loss_ep{}")  # per epoch, after the columns above
GROUP_COLUMNS = (*GROUP_FIELDS, "n", "seeds", "run_ids", "statuses", "best_mean", "best_std", "final_mean", "final_std")
GROUP_EPOCH_COLUMNS = ("accuracy_ep{}_mean", "accuracy_ep{}_std", "accuracy_ep{}_n", "accuracy_ep{}_min", "accuracy_ep{}_max")


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="milliseconds")


def _last_epoch(records) -> int:
    return max((r.last_epoch for r in records), default=0)


def run_values(record: RunRecord) -> dict[str, Any]:
    """A run's record as the CSV row holds it (before formatting): None where nothing happened."""
    unreadable = record.status == "unreadable"
    config = {} if unreadable else record.config.to_dict()
    best_epoch = max(record.accuracies, key=lambda e: (record.accuracies[e], -e)) if record.accuracies else None
    values = {
        "run_id": record.run_id, "name": None if unreadable else record.config.name, "status": record.status,
        "reason": record.message or None, "started_at": _iso(record.started_at), "seconds": record.seconds,
        **{field: config.get(field) for field in CONFIG_COLUMNS}, "device_requested": config.get("device"),
        "device": record.device or None, "device_name": record.device_name or None, "node": record.node or None,
        "train_images": record.images[0] if record.images else None, "test_images": record.images[1] if record.images else None,
        "torch_version": record.torch_version or None,
        "best_accuracy": record.best, "best_epoch": best_epoch,
        "final_accuracy": record.final, "final_epoch": max(record.accuracies) if record.accuracies else None,
    }
    for epoch in range(1, _last_epoch([record]) + 1):
        values[f"accuracy_ep{epoch}"] = record.accuracies.get(epoch)
        values[f"test_loss_ep{epoch}"] = record.test_losses.get(epoch)
    return {key: None if value == "" else value for key, value in values.items()}  # an empty text is an empty cell


def group_values(group) -> dict[str, Any]:
    """One configuration's row: its hyperparameters, n, seeds, and mean/std/n/min/max per epoch."""
    best, final = group.best, group.final
    values = {field: getattr(group.config, field) for field in GROUP_FIELDS}
    values.update({
        "n": len(group.runs), "seeds": " ".join(str(s) for s in group.seeds), "run_ids": " ".join(r.run_id for r in group.runs),
        "statuses": " ".join(r.status for r in group.runs),
        "best_mean": best and best.mean, "best_std": best and best.std, "final_mean": final and final.mean, "final_std": final and final.std,
    })
    for epoch in range(1, group.last_epoch + 1):
        spread = group.accuracy(epoch)
        for name, part in zip(GROUP_EPOCH_COLUMNS, ("mean", "std", "n", "low", "high")):
            values[name.format(epoch)] = getattr(spread, part) if spread else None
    return values


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _write_rows(header: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(_cell(row.get(column))) for column in header])
    return out.getvalue()


def csv_text(records: list[RunRecord], *, groups: bool = False) -> str:
    """Every run as a full record (a row each), or with `groups` one row per configuration."""
    records = list(records)
    if groups:
        grouped = group_runs(records)
        per_epoch = [c.format(e) for e in range(1, max((g.last_epoch for g in grouped), default=0) + 1) for c in GROUP_EPOCH_COLUMNS]
        return _write_rows([*GROUP_COLUMNS, *per_epoch], [group_values(g) for g in grouped])
    per_epoch = [c.format(e) for e in range(1, _last_epoch(records) + 1) for c in EPOCH_COLUMNS]
    return _write_rows([*RUN_COLUMNS, *per_epoch], [run_values(r) for r in records])


_INTS = {"batch_size", "epochs", "seed", "train_size", "test_size", "log_every", "train_images", "test_images", "best_epoch", "final_epoch"}
_FLOATS = {"seconds", "lr", "momentum", "weight_decay", "best_accuracy", "final_accuracy"}


def parse_run_row(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row of `csv_text` read back into `run_values`' types (what a re-import sees)."""
    values: dict[str, Any] = {}
    for column, text in row.items():
        if text == "":
            values[column] = None
        elif column in _INTS:
            values[column] = int(text)
        elif column in _FLOATS or column.startswith(("accuracy_ep", "test_loss_ep")):
            values[column] = float(text)
        elif column in ("compile", "tensorboard"):
            values[column] = text == "true"
        else:
            values[column] = text[1:] if text.startswith("'") and neutralise(text[1:]) == text else text
    return values

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


def write_csv(path: str | os.PathLike, records: list[RunRecord], *, overwrite: bool = False, groups: bool = False) -> Path:
    """Write atomically to a regular file or a new path; refuses an existing file unless `overwrite`
    (FileExistsError) and anything not a regular file always (ExportRefused)."""
    target = export_target(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists")
    with atomic_write(target, "w", encoding="utf-8", newline="") as handle:
        handle.write(csv_text(records, groups=groups))
    return target
