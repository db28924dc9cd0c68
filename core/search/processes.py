"""A search's driver as a process: `mnist-tui search` started in a session of its own, checked that
it started, told to stop; and the rule for how many trials a search may have.

The dashboard starts drivers (tui.search_launch) and stops them (its quit dialog, the study
screen's `x`); the CLI checks `--trials` by the same rule as the form's trials field. A driver
started here writes its lines to RUNS/.studies/NAME.log and runs in a new session from its first
second, so quitting the dashboard or losing the SSH connection leaves it searching. SIGTERM stops
it: it stops its trials after their batch, says the study stopped, and `--study NAME` re-runs them.
Nothing here imports Textual or torch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from core.config import ConfigError
from core.execution.launcher import spawn, tail
from core.runstore.liveness import process_start_time
from core.search.study import studies_dir

MAX_TRIALS = 10_000
FLAG_SWITCHES = ("tensorboard", "compile")  # fields the CLI takes as a bare flag (--compile), not --compile on
START_CHECK_S = 30  # a driver that exits this soon failed to start: say why


def parse_trials(text: str) -> int:
    """How many trials count: a whole number from 1 to MAX_TRIALS (`1_000` as every number field takes
    it). Raises ConfigError("trials", ...); the CLI names its flag, --trials, in front of the message."""
    text = str(text).strip().replace("_", "")
    if not text.isdigit() or not 1 <= int(text) <= MAX_TRIALS:
        raise ConfigError("trials", f"must be a whole number from 1 to {MAX_TRIALS}, got {text!r}")
    return int(text)


def search_argv(runs_root: Path, study: str, trials: int, pruner: str, parallel: int, values: dict[str, str],
                devices: list[str] | None = None, data_dir: Path | str | None = None, ray_address: str | None = None) -> list[str]:
    """`python -m tui search ...` for a search of `values` (the run form's fields as text: ranges, lists
    or one value; empty ones keep the CLI's defaults) with `parallel` trials at once over `devices`."""
    argv = [sys.executable, "-m", "tui", "search", "--runs-dir", str(runs_root), "--study", study,
            "--trials", str(trials), "--pruner", pruner, "--parallel", str(parallel)]
    for field, text in values.items():
        text = str(text).strip()
        if not text or (field == "device" and text == "auto"):
            continue
        flag = "--" + field.replace("_", "-")
        if field in FLAG_SWITCHES:
            argv += [flag] if text.lower() in ("on", "true", "yes", "1") else []
        else:
            argv += [flag, text]
    if devices:
        argv += ["--devices", ",".join(devices)]
    if data_dir:
        argv += ["--data-dir", str(data_dir)]
    if ray_address:
        argv += ["--ray", ray_address]
    return argv


def driver_log(runs_root: Path, study: str) -> Path:
    """Where a driver started by start_driver writes its lines: RUNS/.studies/NAME.log."""
    return studies_dir(runs_root) / f"{study}.log"


def start_driver(argv: list[str], log: Path) -> subprocess.Popen:
    """Start a driver in a session of its own, its output appended to `log` (its folder made).
    Raises OSError when the log cannot be written. From the spawner thread: the search trains at the
    usual priority, not the dashboard UI thread's lowered one (core.execution.launcher)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        return spawn(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def failed_start(driver: subprocess.Popen, log: Path) -> str | None:
    """Why a driver failed (the last line of its log, or its exit code) once it has exited with an
    error; None while it runs or when it ended well. Asked for START_CHECK_S seconds after a start."""
    code = driver.poll()
    if code in (None, 0):
        return None
    return tail(log, lines=1) or f"it exited with code {code}"


def running(drivers: dict[str, subprocess.Popen]) -> list[str]:
    """The names of the drivers (started by this process) that still run."""
    return [name for name, driver in drivers.items() if driver.poll() is None]


def stop_driver(pid: int, start_time: int | None = None) -> bool:
    """SIGTERM to a driver: its trials stop after their batch. With `start_time` (process_start_time,
    as a study's summary records it) only if process `pid` is still that driver, not a later process
    given its id. False when it has already ended; raises OSError when it cannot be signalled."""
    if start_time is not None and process_start_time(pid) != start_time:
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True
