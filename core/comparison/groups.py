"""Runs of one configuration that differ only in their seed, summarised as mean ± std with n.

Two seeds of the same configuration differ by about as much as two neighbouring cells of the
seed's tables, so one run per cell cannot say which setting is better. A `RunGroup` holds the
runs that share every hyperparameter (`GROUP_FIELDS`); the sweep's closing table, the pivot,
the dashboard's grouped view, the accuracy chart's band and the grouped CSV all read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from core.runstore.results import RunRecord

# What makes two runs "the same configuration": every field that changes what is trained.
# Left out on purpose: seed (what repeats vary), name and sweep (labels), device, log_every,
# tensorboard (where and how it is reported, not what is learned).
GROUP_FIELDS = ("dataset", "model", "optimizer", "lr", "batch_size", "epochs", "momentum", "weight_decay",
                "schedule", "train_size", "test_size", "resume", "compile")


@dataclass(frozen=True)
class Spread:
    """Summary of one number over a group's runs (accuracies as fractions 0..1)."""

    mean: float
    std: float | None  # sample standard deviation (n - 1); None for a single run
    n: int
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> "Spread | None":
        values = [v for v in values if v is not None]
        if not values:
            return None
        n = len(values)
        mean = math.fsum(values) / n
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
        return cls(mean, std, n, min(values), max(values))

    def percent(self, digits: int = 2) -> str:
        """`98.12 ± 0.15`; a single run shows just its value."""
        text = f"{self.mean * 100:.{digits}f}"
        return text if self.std is None else f"{text} ± {self.std * 100:.{digits}f}"

    def cell(self, group_size: int) -> str:
        """`percent()`, with `(n=1)` when fewer runs than the group holds reached this number."""
        return self.percent() + ("" if self.n == group_size else f" (n={self.n})")


def group_key(record: RunRecord) -> tuple:
    return tuple(getattr(record.config, field) for field in GROUP_FIELDS)


@dataclass
class RunGroup:
    key: tuple
    runs: list[RunRecord]  # in the order they were given (oldest first)

    @property
    def config(self):
        return self.runs[0].config

    @property
    def seeds(self) -> list[int]:
        return [r.config.seed for r in self.runs]

    @property
    def label(self) -> str:
        c = self.config
        return f"{c.model} lr={c.lr:g} bs={c.batch_size}"

    @property
    def last_epoch(self) -> int:
        return max((r.last_epoch for r in self.runs), default=0)

    @property
    def status(self) -> str:
        """`3 done`, `2 done, 1 running`: how many runs are in each state."""
        counts: dict[str, int] = {}
        for r in self.runs:
            counts[r.status] = counts.get(r.status, 0) + 1
        return ", ".join(f"{n} {status}" for status, n in counts.items())

    def accuracy(self, epoch: int) -> Spread | None:
        """Over the runs that reached this epoch (n says how many)."""
        return Spread.of(r.accuracies.get(epoch) for r in self.runs)

    def test_loss(self, epoch: int) -> Spread | None:
        return Spread.of(r.test_losses.get(epoch) for r in self.runs)

    @property
    def best(self) -> Spread | None:
        return Spread.of(r.best for r in self.runs)

    @property
    def final(self) -> Spread | None:
        return Spread.of(r.final for r in self.runs)


def group_runs(records: Iterable[RunRecord]) -> list[RunGroup]:
    """Runs grouped by configuration, groups in the order of their first run; unreadable runs are
    left out (their configuration is unknown: they belong to no group)."""
    groups: dict[tuple, RunGroup] = {}
    for record in records:
        if record.status != "unreadable":
            groups.setdefault(group_key(record), RunGroup(group_key(record), [])).runs.append(record)
    return list(groups.values())


def has_repeats(records: Iterable[RunRecord]) -> bool:
    return any(len(g.runs) > 1 for g in group_runs(records))


def differing_fields(records: Iterable[RunRecord], candidates: Iterable[str]) -> list[str]:
    """The fields among `candidates` whose value is not the same in every (readable) run."""
    configs = [r.config for r in records if r.status != "unreadable"]
    return [f for f in candidates if len({getattr(c, f) for c in configs}) > 1]
