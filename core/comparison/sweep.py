"""Sweeps: a grid of configurations from comma-separated values, run on one device or several.

`expand_grid` turns `{"lr": "0.01,0.001", "batch_size": "64"}` plus the single-run values into
configurations (learning rate outermost, as the seed's tables; a seed list repeats the whole grid
once per seed). core.execution.executor trains them, one run per device slot at a time.
"""

from __future__ import annotations

import itertools
import time
from typing import Iterable, Mapping

from core.config import ConfigError, RunConfig, parse_config, parse_field
from core.comparison.groups import group_runs
from core.runstore.results import RunRecord

# May hold comma lists; seed first, so `--seed 1,2` runs the whole grid once, then again.
SWEEP_FIELDS = ("seed", "lr", "batch_size", "optimizer", "model", "schedule")
MAX_RUNS = 200  # a typo like 0.1,0.01,... times 5 lists should not queue a week of work


def split_values(field: str, text: str) -> list[str]:
    """`"0.01, 0.001"` -> `["0.01", "0.001"]`; each value is checked as the field's own."""
    parts = [part.strip() for part in str(text).split(",")]
    if not any(parts):
        raise ConfigError(field, "is required")
    if any(not part for part in parts):
        raise ConfigError(field, f"has an empty value in {text!r}")
    seen: list[str] = []
    for part in parts:
        try:
            parse_field(field, part)
        except ConfigError as bad:  # in a list, say which value is wrong
            raise ConfigError(field, f"{part!r}: {bad.message}" if len(parts) > 1 else bad.message) from None
        if part not in seen:
            seen.append(part)
    return seen


def new_sweep_id(now: float | None = None) -> str:
    """`sweep-YYYYmmdd-HHMMSS`, in UTC (as run ids: core.runstore.store.utc_stamp)."""
    from core.runstore.store import utc_stamp

    return utc_stamp(time.time() if now is None else now, "sweep-%Y%m%d-%H%M%S")


def expand_grid(values: Mapping[str, str], sweep_id: str = "") -> list[RunConfig]:
    """Every combination of the listed values (seed, then lr outermost), each a full, checked RunConfig."""
    lists = {f: split_values(f, values[f]) for f in SWEEP_FIELDS if f in values}
    size = 1
    for options in lists.values():
        size *= len(options)
    if size > MAX_RUNS:
        raise ConfigError(next(iter(lists)), f"the grid has {size} runs; at most {MAX_RUNS} in one sweep")
    fixed = {k: v for k, v in values.items() if k not in lists}
    configs = []
    for combo in itertools.product(*lists.values()):
        chosen = dict(zip(lists, combo))
        configs.append(parse_config({**fixed, **chosen, "sweep": sweep_id}))
    return configs


def grid_size(values: Mapping[str, str]) -> int:
    """Runs the grid would hold; raises ConfigError like expand_grid."""
    size = 1
    for field in SWEEP_FIELDS:
        if field in values:
            size *= len(split_values(field, values[field]))
    return size


def parse_devices(text: str, available: Iterable[str]) -> list[str]:
    """`all` -> every GPU (else cpu); `cuda:0,cuda:1` -> those; a device may repeat (two runs on it)."""
    available = list(available)
    value = text.strip().lower()
    if value == "all":
        gpus = [d for d in available if d.startswith("cuda")]
        return gpus or ["cpu"]
    devices = [part.strip() for part in value.split(",") if part.strip()]
    if not devices:
        raise ConfigError("devices", "is required (all, or a list such as cuda:0,cuda:1)")
    for device in devices:
        parse_field("device", device)
        if device not in available and device != "auto":
            raise ConfigError("devices", f"{device} is not on this machine (it has {', '.join(available)})")
    return devices


def comparison_table(records: list[RunRecord]) -> tuple[list[str], list[list[str]]]:
    """The seed's table shape: one row per run, the test accuracy after each epoch, then best."""
    epochs = max((r.last_epoch for r in records), default=0)
    named = any(r.config.name for r in records)
    seeded = len({r.config.seed for r in records}) > 1
    header = ["#", "lr", "batch", "opt", "model"] + (["seed"] if seeded else []) + [f"ep {e}" for e in range(1, epochs + 1)] + ["best", "status"]
    rows = []
    for position, r in enumerate(records, start=1):
        c = r.config
        accuracies = [f"{r.accuracies[e] * 100:.2f}" if e in r.accuracies else "" for e in range(1, epochs + 1)]
        best = f"{r.best * 100:.2f}" if r.best is not None else ""
        seed = [str(c.seed)] if seeded else []
        rows.append([str(position), f"{c.lr:g}", str(c.batch_size), c.optimizer, c.model, *seed, *accuracies, best, r.status] + ([c.name] if named else []))
    return header + (["name"] if named else []), rows


def group_table(records: list[RunRecord]) -> tuple[list[str], list[list[str]]]:
    """The same table over configurations: each cell the mean ± std (in points) of its seeds; a
    cell that fewer runs reached than the group holds says its n."""
    groups = group_runs(records)
    epochs = max((g.last_epoch for g in groups), default=0)
    header = ["lr", "batch", "opt", "model", "n", "seeds"] + [f"ep {e}" for e in range(1, epochs + 1)] + ["best"]

    def cell(spread, n: int) -> str:
        return "" if spread is None else spread.cell(n)

    rows = []
    for g in groups:
        c, n = g.config, len(g.runs)
        cells = [cell(g.accuracy(e), n) for e in range(1, epochs + 1)]
        rows.append([f"{c.lr:g}", str(c.batch_size), c.optimizer, c.model, str(n), ",".join(map(str, g.seeds)), *cells, cell(g.best, n)])
    return header, rows


def best_run(records: list[RunRecord]) -> RunRecord | None:
    scored = [r for r in records if r.best is not None]
    return max(scored, key=lambda r: r.best) if scored else None
