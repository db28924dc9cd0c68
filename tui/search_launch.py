"""The form's search mode: the searches this dashboard started, each `mnist-tui search` in a
process of its own (core.search.processes starts, checks and stops it).

A driver runs in a new session from its first second, writing its lines to RUNS/.studies/NAME.log:
quitting the dashboard, or losing the SSH connection, leaves it searching (as the queue is handed
to the runners on quit), and a dashboard opened later shows its trials (they are runs in the store)
and its study (`o`). The quit dialog's "stop" ends the searches this dashboard started (SIGTERM:
the driver stops its trials after their batch, and `--study NAME` re-runs them).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from textual.dom import DOMNode

from core.search.processes import START_CHECK_S, driver_log, failed_start, running, search_argv, start_driver, stop_driver


class SearchLauncher:
    def __init__(self, runs_root: Path, data_dir=None, ray_address: str | None = None) -> None:
        self.runs_root = runs_root.resolve()
        self.data_dir, self.ray_address = data_dir, ray_address
        self.drivers: dict[str, subprocess.Popen] = {}  # study name -> its driver, started by this dashboard

    def start(self, node: DOMNode, message) -> bool:
        """Start the search the form asks for (a RunForm.SearchRequested); `node` says what happens
        and checks for START_CHECK_S seconds that the driver did not fail. False if it could not start."""
        log = driver_log(self.runs_root, message.study)
        argv = search_argv(self.runs_root, message.study, message.trials, message.pruner, message.parallel, message.values,
                           message.devices, self.data_dir, self.ray_address)
        try:
            driver = start_driver(argv, log)
        except OSError as problem:
            node.notify(f"search not started: cannot write {log.parent}: {problem.strerror or problem}", markup=False, severity="error", timeout=8)
            return False
        self.drivers[message.study] = driver
        node.notify(f"search {message.study} started: {message.trials} trials; it goes on after you quit; o shows the study",
                    markup=False, timeout=6)
        checks = {"left": START_CHECK_S}

        def check() -> None:
            checks["left"] -= 1
            why = failed_start(driver, log)
            if why is not None:
                timer.stop()
                node.notify(f"search {message.study} did not start: {why}", markup=False, severity="error", timeout=12)
            elif driver.poll() == 0 or checks["left"] <= 0:
                timer.stop()

        timer = node.set_interval(1.0, check)
        return True

    def live(self) -> list[str]:
        """The searches this dashboard started that still run."""
        return running(self.drivers)

    def stop_all(self) -> None:
        """SIGTERM to every live search this dashboard started (their trials stop after the batch)."""
        for name in self.live():
            stop_driver(self.drivers[name].pid)
