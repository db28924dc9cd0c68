"""The report mnist-tui grows from (../shared/SEED.md), as data: its two sweeps and its numbers.

`reproduce_configs` is the five distinct configurations of its two tables (learning rates at
batch 64; batch sizes at lr 0.001; lr 0.001 at batch 64 is in both) times the seeds asked for.
`report_tables` sets our mean ± std beside each of the report's cells. The report printed
whole percents, truncated (`%d`): its 98 means 98.00-98.99, so a cell is marked when that
interval and our range over the seeds (min to max) do not meet.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import ConfigError, RunConfig, parse_config
from core.comparison.groups import RunGroup, group_runs
from core.runstore.results import RunRecord

# (title, the field the table varies, {value: accuracy % after epochs 1-5}); the other field fixed.
REPORT = (
    ("learning rate, batch size 64", "lr", 64, {0.01: (98, 99, 99, 99, 99), 0.001: (97, 98, 98, 99, 99), 0.0001: (88, 94, 95, 96, 96)}),
    ("batch size, learning rate 0.001", "batch_size", 0.001, {32: (98, 99, 99, 99, 99), 64: (97, 98, 98, 99, 99), 128: (96, 97, 98, 99, 98)}),
)
REPORT_EPOCHS = 5
REPRODUCE_PREFIX = "reproduce-"  # sweep ids of `mnist-tui reproduce` (and the palette's command)
MARK = "*"
MARK_NOTE = (f"{MARK}: the report's value lies outside our range (min to max over the seeds); the report "
             "printed truncated whole percents, so its 98 stands for 98.00-98.99")


def new_reproduce_id() -> str:
    from core.comparison.sweep import new_sweep_id

    return new_sweep_id().replace("sweep-", REPRODUCE_PREFIX)


def reproduce_configs(seeds: list[int], epochs: int = REPORT_EPOCHS, values: dict[str, str] | None = None, sweep: str = "") -> list[RunConfig]:
    """The five configurations once per seed (seed outermost), with the other fields from `values`;
    more runs than a sweep may hold is refused (ConfigError on `seed`)."""
    from core.comparison.sweep import MAX_RUNS

    if 5 * len(seeds) > MAX_RUNS:
        raise ConfigError("seed", f"{len(seeds)} seeds make {5 * len(seeds)} runs; at most {MAX_RUNS}")
    distinct = []
    for _, field, fixed, cells in REPORT:
        for value in cells:
            lr, batch = (value, fixed) if field == "lr" else (fixed, value)
            if (lr, batch) not in distinct:
                distinct.append((lr, batch))
    base = dict(values or {})
    return [
        parse_config({**base, "lr": repr(lr), "batch_size": str(batch), "seed": str(seed), "epochs": str(epochs), "sweep": sweep})
        for seed in seeds
        for lr, batch in distinct
    ]


def outside(report_percent: int, low: float, high: float) -> bool:
    """Does the report's truncated value (r means r.00-r.99 %) miss our range [low, high] (fractions)?"""
    return high * 100 < report_percent or low * 100 >= report_percent + 1


@dataclass(frozen=True)
class ReportTable:
    title: str
    header: list[str]
    rows: list[list[str]]
    marked: int  # cells where the report lies outside our range


def _find(groups: list[RunGroup], lr: float, batch: int) -> RunGroup | None:
    for group in groups:
        c = group.config
        if abs(c.lr - lr) <= 1e-12 * max(1.0, lr) and c.batch_size == batch:
            return group
    return None


def report_tables(records: list[RunRecord]) -> list[ReportTable]:
    """Each of the report's tables with ours beside it: per epoch, `report` then `ours` (mean ±
    std, n when it is short of the group); epochs beyond what we trained stay empty."""
    groups = group_runs(records)
    epochs = min(REPORT_EPOCHS, max((g.last_epoch for g in groups), default=0)) or 1
    tables = []
    for title, field, fixed, cells in REPORT:
        header = ["lr" if field == "lr" else "batch", "n"]
        for e in range(1, epochs + 1):
            header += [f"ep{e} report", f"ep{e} ours"]
        rows, marked = [], 0
        for value, reported in cells.items():
            lr, batch = (value, fixed) if field == "lr" else (fixed, value)
            group = _find(groups, lr, batch)
            row = [f"{value:g}", str(len(group.runs)) if group else "0"]
            for e in range(1, epochs + 1):
                spread = group.accuracy(e) if group else None
                ours = ""
                if spread is not None:
                    ours = spread.cell(len(group.runs))
                    if outside(reported[e - 1], spread.low, spread.high):
                        ours += f" {MARK}"
                        marked += 1
                row += [str(reported[e - 1]), ours]
            rows.append(row)
        tables.append(ReportTable(f"test accuracy (%) by {title}: the report's against ours", header, rows, marked))
    return tables


def ended_early(records: list[RunRecord]) -> list[str]:
    """Why each run that did not finish ended (failed, stopped, interrupted, unreadable), as the
    pivot lists it under its tables: `#7 too hot: failed: loss became NaN …` (# as in the per-run
    table; per configuration, the seed instead)."""
    from core.comparison.groups import has_repeats

    per_run = not has_repeats(records)
    return [f"{f'#{i} ' if per_run else ''}{r.label}{'' if per_run else f' (seed {r.config.seed})'}: {r.status}: {r.reason}"
            for i, r in enumerate(records, start=1) if r.reason]


def comparison_sections(records: list[RunRecord]) -> list[tuple[str, list[str], list[list[str]]]]:
    """What the pivot shows for these runs: per configuration with mean ± std when seeds repeat,
    else per run; and for a reproduce sweep, the report's tables beside ours."""
    from core.comparison.groups import has_repeats
    from core.comparison.sweep import comparison_table, group_table

    if has_repeats(records):
        sections = [("per configuration, mean ± std over seeds: test accuracy (%) after each epoch", *group_table(records))]
    else:
        sections = [("test accuracy (%) after each epoch", *comparison_table(records))]
    if any(r.config.sweep.startswith(REPRODUCE_PREFIX) for r in records):
        sections += [(t.title + (f"  ({MARK_NOTE})" if t.marked else ""), t.header, t.rows) for t in report_tables(records)]
    return sections
