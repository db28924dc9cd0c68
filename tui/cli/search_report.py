"""The end of `mnist-tui search`, printed: every trial in a table, the charts (the objective per trial
with the best so far; each numeric parameter against accuracy), then what the user acts on where
the terminal ends: the best trial, the `train` command that trains it again, the parameters'
importances, and for a stopped search the command that continues it."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from tui.cli.common import FLAG_FOR_FIELD


def report(search, emit) -> None:
    """The end of a search: every trial, the best and its command, importances, and two charts."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from core.search.space import log_scaled
    from tui.renderables import print_table
    from tui.search_charts import chart_text, draw_objective, draw_param

    rows = search.rows()
    fields = [p.field for p in search.plan.space.params]
    table = Table(title=Text(f"study {search.name}: {search.state}" + (f" ({search.message})" if search.message else "")), title_justify="left")
    for column in ("trial", "state", *fields, "epochs", "accuracy %", "why"):
        table.add_column(column, justify="left" if column in ("state", "why", "optimizer", "model", "schedule", "dataset") else "right",
                         overflow="fold")
    for row in rows:
        accuracy = row.value if row.value is not None else row.last
        cells = [str(row.number), row.state, *(_cell(row.params.get(f)) for f in fields), str(row.epochs or ""),
                 "" if accuracy is None else f"{accuracy * 100:.2f}", row.reason]
        table.add_row(*(Text(c) for c in cells))
    console = Console()
    print_table(console, table)
    color = console.is_terminal and not os.environ.get("NO_COLOR")
    width = min(100, shutil.get_terminal_size((100, 24)).columns)
    for draw in (lambda plt: draw_objective(plt, rows, color=color),
                 *(lambda plt, p=p: draw_param(plt, rows, p.field, log_scaled(p), color=color)
                   for p in search.plan.space.params if not p.choices or _numeric(p.choices))):
        if any(r.state in ("complete", "pruned") for r in rows):
            text = chart_text(draw, width, 16, color=color)
            emit(text if color else _plain(text))
    # What the user acts on comes last, where the terminal ends: the best trial, its command, how to go on.
    best = max((r for r in rows if r.state == "complete" and r.value is not None), key=lambda r: (r.value, -r.number), default=None)
    if best is None:
        emit("no trial completed: nothing to recommend")
    else:
        flags = " ".join(f"--{f.replace('_', '-')} {_cell(best.params[f])}" for f in fields)
        emit(f"best: trial {best.number} at {best.value * 100:.2f}% (run {best.run_id}): {flags}")
        emit(f"train it again: mnist-tui train {_train_flags(search.plan.space.config(best.params))}")
        importances, note = search.importances()
        if importances:
            emit("parameter importances (Optuna's default evaluator, PED-ANOVA): " +
                 ", ".join(f"{field} {value:.2f}" for field, value in importances.items()))
        elif note:
            emit(note)
    if search.state == "stopped":
        emit(f"continue it: mnist-tui search --study {search.name}" + ("" if search.executor.store.root == Path("runs") else
                                                                        f" --runs-dir {search.executor.store.root}"))


def _cell(value) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _numeric(choices) -> bool:
    try:
        [float(c) for c in choices]
        return True
    except ValueError:
        return False


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _train_flags(config) -> str:
    """The flags that give `train` this configuration (only those unlike the defaults)."""
    from core.config import RunConfig

    default = RunConfig()
    out = []
    for field, flag in FLAG_FOR_FIELD.items():
        value = getattr(config, field)
        if field in ("name", "sweep") or value == getattr(default, field) or value is None:
            continue
        if isinstance(value, bool):
            out.append(flag)
        else:
            short = f"{value:g}" if isinstance(value, float) else str(value)
            out.append(f"{flag} {short if not isinstance(value, float) or float(short) == value else repr(value)}")
    return " ".join(out)
