"""The form's search mode: a search's driver is `mnist-tui search` in a process of its own.

The driver (core.search.driver, through tui.search_cli) runs in a new session from its first
second, writing its lines to RUNS/.studies/NAME.log: quitting the dashboard, or losing the SSH
connection, leaves it searching (as the queue is handed to the runners on quit), and a dashboard
opened later shows its trials (they are runs in the store) and its study (`o`). The quit dialog's
"stop" ends the searches this dashboard started (SIGTERM: the driver stops its trials after their
batch, and `--study NAME` re-runs them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from core.execution.launcher import spawn, tail
from core.search.study import studies_dir
from tui.widgets.run_form import RunForm

FLAG_SWITCHES = ("tensorboard", "compile")
START_CHECK_S = 30  # a driver that exits this soon failed to start: say why


def search_argv(message: RunForm.SearchRequested, runs_root, data_dir, ray_address: str | None) -> list[str]:
    """`python -m tui search ...` for what the form holds (empty fields keep the CLI's defaults)."""
    argv = [sys.executable, "-m", "tui", "search", "--runs-dir", str(runs_root), "--study", message.study,
            "--trials", str(message.trials), "--pruner", message.pruner, "--parallel", str(message.parallel)]
    for field, text in message.values.items():
        text = str(text).strip()
        if not text or (field == "device" and text == "auto"):
            continue
        flag = "--" + field.replace("_", "-")
        if field in FLAG_SWITCHES:
            argv += [flag] if text.lower() in ("on", "true", "yes", "1") else []
        else:
            argv += [flag, text]
    if message.devices:
        argv += ["--devices", ",".join(message.devices)]
    if data_dir:
        argv += ["--data-dir", str(data_dir)]
    if ray_address:
        argv += ["--ray", ray_address]
    return argv


class SearchActions:
    """Mixed into the App (tui.app), which provides store, data_dir, executor and notify."""

    def on_run_form_search_requested(self, message: RunForm.SearchRequested) -> None:
        folder = studies_dir(self.store.root.resolve())
        try:
            folder.mkdir(parents=True, exist_ok=True)
            log = open(folder / f"{message.study}.log", "ab")
        except OSError as problem:
            self.notify(f"search not started: cannot write {folder}: {problem.strerror or problem}", markup=False, severity="error", timeout=8)
            return
        with log:  # from the spawner thread: the search trains at the usual priority, not the UI thread's lowered one
            driver = spawn(search_argv(message, self.store.root.resolve(), self.data_dir, self.executor.ray_address),
                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.search_drivers[message.study] = driver
        self.view_sweep = message.study  # the table shows its trials (g: every run again)
        self._refresh_runs()
        self.close_narrow_form()
        self.notify(f"search {message.study} started: {message.trials} trials; it goes on after you quit; o shows the study",
                    markup=False, timeout=6)
        checks = {"left": START_CHECK_S}

        def check() -> None:
            code = driver.poll()
            checks["left"] -= 1
            if code not in (None, 0):
                timer.stop()
                why = tail(folder / f"{message.study}.log", lines=1) or f"it exited with code {code}"
                self.notify(f"search {message.study} did not start: {why}", markup=False, severity="error", timeout=12)
            elif code == 0 or checks["left"] <= 0:
                timer.stop()

        timer = self.set_interval(1.0, check)

    def live_searches(self) -> list[str]:
        """The searches this dashboard started that still run."""
        return [name for name, driver in self.search_drivers.items() if driver.poll() is None]

    def stop_searches(self) -> None:
        """SIGTERM to every live search this dashboard started (their trials stop after the batch)."""
        for name in self.live_searches():
            try:
                os.kill(self.search_drivers[name].pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
