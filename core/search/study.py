"""Where a search lives: an Optuna study in the runs folder, and a small summary for the dashboard.

    runs/.studies/search-20261201-061502.journal   the Optuna study (JournalStorage, one JSON line per change)
    runs/.studies/search-20261201-061502.json      the summary the driver rewrites after every change
    runs/.studies/search-20261201-061502.log       the output of a driver the dashboard started

The journal is Optuna's file storage (`optuna.storages.journal.JournalFileBackend`): every change
is one line appended and fsynced under a lock, so a driver killed with SIGKILL leaves every change
it made (a single write(2) of a line is never half-applied by a kill), and two processes append in
turn. The lock is Optuna's `JournalFileOpenLock` (an O_EXCL lock file, which works on NFS where
flock may not; a lock left by a killed process is broken after 30 s). SQLite was not chosen: its
locking is unreliable on NFS, where our users' home folders are.

The summary (`StudySummary`) is what the dashboard reads: it never imports Optuna, and reads the
file as every run-store file is read (bounded, validated, never blocking). The folder's dot keeps
it out of the run listing.
"""

from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import ConfigError
from core.runstore.atomic import atomic_write
from core.runstore.liveness import is_zombie, process_alive, process_start_time
from core.runstore.safe_read import read_text
from core.search.space import SearchSpace

STUDIES_DIR = ".studies"
PRUNERS = ("median", "halving", "hyperband", "none")
SAMPLERS = ("tpe", "random")
MAX_SUMMARY_BYTES = 4 * 1024 * 1024  # 10,000 trials of a few hundred bytes
HEARTBEAT_S = 30.0  # a driver rewrites its summary at least this often (another host tells it lives by that)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


def studies_dir(runs_root: Path) -> Path:
    return Path(runs_root) / STUDIES_DIR


def check_study_name(name: str) -> str:
    """A study name is also every trial's sweep id: letters, digits, '-', '_', '.' (at most 80)."""
    if not _NAME.match(name or ""):
        raise ConfigError("study", f"a study name is 1-80 letters, digits, '-', '_' or '.', starting with a letter or digit; got {name!r}")
    return name


def new_study_name(now: float | None = None) -> str:
    from core.runstore.store import utc_stamp

    return utc_stamp(time.time() if now is None else now, "search-%Y%m%d-%H%M%S")


@dataclass(frozen=True)
class SearchPlan:
    """What a study searches, stored in it (so `--study NAME` continues it as it was started).

    `trials`: how many trials count (completed, pruned, or failed by themselves); `pruner_startup`:
    trials that must complete before the median pruner prunes (Optuna's n_startup_trials)."""

    space: SearchSpace
    trials: int
    pruner: str = "median"
    sampler: str = "tpe"
    pruner_startup: int = 5

    @property
    def seed(self) -> int:
        return self.space.base.seed

    def to_dict(self) -> dict[str, Any]:
        return {"space": self.space.to_dict(), "trials": self.trials, "pruner": self.pruner, "sampler": self.sampler,
                "pruner_startup": self.pruner_startup, "version": 1}

    @classmethod
    def from_dict(cls, data: Any) -> "SearchPlan":
        if not isinstance(data, dict):
            raise ConfigError("study", "it holds no search plan (was it made by mnist-tui?)")
        try:
            plan = cls(SearchSpace.from_dict(data["space"]), int(data["trials"]), str(data["pruner"]), str(data["sampler"]),
                       int(data.get("pruner_startup", 5)))
        except (KeyError, TypeError, ValueError) as bad:
            raise ConfigError("study", f"its stored plan is malformed ({bad})") from None
        if plan.pruner not in PRUNERS or plan.sampler not in SAMPLERS:
            raise ConfigError("study", "its stored plan names an unknown pruner or sampler")
        return plan


@dataclass
class TrialRow:
    """One trial as the summary keeps it (value: the final test accuracy, 0..1)."""

    number: int
    run_id: str
    state: str  # "running", "complete", "pruned", "failed", "interrupted" (re-run), "waiting"
    value: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    epochs: int = 0  # epochs it reported (a pruned trial's last one)
    last: float | None = None  # its last reported test accuracy (for a pruned trial, where it stopped)


@dataclass
class StudySummary:
    """The summary file: the plan, the trials, the best, the importances and who drives it."""

    name: str
    plan: dict[str, Any]
    state: str  # "running", "finished", "stopped", "failed"
    trials: list[TrialRow]
    importances: dict[str, float] = field(default_factory=dict)
    importance_note: str = ""
    driver: dict[str, Any] = field(default_factory=dict)  # pid, host, start_time of the process driving it
    message: str = ""
    updated_at: float = 0.0

    @property
    def wanted(self) -> int:
        return int(self.plan.get("trials", 0))

    @property
    def counted(self) -> list[TrialRow]:
        return [t for t in self.trials if t.state in ("complete", "pruned", "failed")]

    @property
    def best(self) -> TrialRow | None:
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        return max(done, key=lambda t: (t.value, -t.number)) if done else None

    def driver_alive(self) -> bool:
        """Whether the process that wrote this is still driving the study (on this host; elsewhere: it says so)."""
        info = self.driver
        if not info or self.state != "running":
            return False
        if info.get("host") != socket.gethostname():  # the driver rewrites the summary at least every HEARTBEAT_S
            return time.time() - self.updated_at < 4 * HEARTBEAT_S
        pid = info.get("pid")
        return (isinstance(pid, int) and process_alive(pid) and not is_zombie(pid)
                and process_start_time(pid) == info.get("start_time"))

    def write(self, folder: Path) -> None:
        data = {"name": self.name, "plan": self.plan, "state": self.state, "message": self.message,
                "trials": [t.__dict__ for t in self.trials], "importances": self.importances,
                "importance_note": self.importance_note, "driver": self.driver, "updated_at": time.time()}
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(folder / f"{self.name}.json", "w", encoding="utf-8") as handle:
            json.dump(data, handle)


def read_summary(path: Path) -> StudySummary:
    """A summary file, checked; raises ValueError (a person's words) on anything malformed, OSError if unreadable."""
    data = json.loads(read_text(path, MAX_SUMMARY_BYTES))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    try:
        trials = [TrialRow(int(t["number"]), str(t["run_id"]), str(t["state"]),
                           None if t.get("value") is None else float(t["value"]),
                           dict(t.get("params") or {}), str(t.get("reason") or "")[:500], int(t.get("epochs") or 0),
                           None if t.get("last") is None else float(t["last"])) for t in data["trials"]]
        summary = StudySummary(check_study_name(str(data["name"])), dict(data["plan"]), str(data["state"]), trials,
                               {str(k): float(v) for k, v in (data.get("importances") or {}).items()},
                               str(data.get("importance_note") or "")[:300], dict(data.get("driver") or {}),
                               str(data.get("message") or "")[:500], float(data.get("updated_at") or 0))
    except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as bad:
        raise ValueError(f"malformed study summary ({bad})") from None
    return summary


def list_summaries(runs_root: Path) -> tuple[list[StudySummary], list[str]]:
    """Every study's summary in the runs folder, newest first, and a warning per unreadable one."""
    folder = studies_dir(runs_root)
    summaries, warnings = [], []
    try:
        paths = sorted(folder.glob("*.json"))
    except OSError as problem:
        return [], [f"{folder}: {problem}"]
    for path in paths[:1000]:
        try:
            summaries.append(read_summary(path))
        except (OSError, ValueError) as problem:
            warnings.append(f"{path.name}: {problem}")
    summaries.sort(key=lambda s: s.updated_at, reverse=True)
    return summaries, warnings


def journal_path(runs_root: Path, name: str) -> Path:
    return studies_dir(runs_root) / f"{name}.journal"


def open_storage(runs_root: Path, name: str):
    """The study's Optuna JournalStorage (made, with its folder, when new)."""
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage

    path = journal_path(runs_root, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))

