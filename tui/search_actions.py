"""The form's search mode: a search's driver is `mnist-tui search` in a process of its own.

The driver (core.search.driver, through tui.cli.search) runs in a new session from its first
second, writing its lines to RUNS/.studies/NAME.log: quitting the dashboard, or losing the SSH
connection, leaves it searching (as the queue is handed to the runners on quit), and a dashboard
opened later shows its trials (they are runs in the store) and its study (`o`). The quit dialog's
"stop" ends the searches this dashboard started (SIGTERM: the driver stops its trials after their
batch, and `--study NAME` re-runs them).
"""

from __future__ import annotations

from core.search.processes import START_CHECK_S, driver_log, failed_start, running, search_argv, start_driver, stop_driver
from tui.widgets.run_form import RunForm


class SearchActions:
    """Mixed into the App (tui.app), which provides store, data_dir, executor and notify."""

    def on_run_form_search_requested(self, message: RunForm.SearchRequested) -> None:
        root = self.store.root.resolve()
        log = driver_log(root, message.study)
        argv = search_argv(root, message.study, message.trials, message.pruner, message.parallel, message.values,
                           message.devices, self.data_dir, self.executor.ray_address)
        try:
            driver = start_driver(argv, log)
        except OSError as problem:
            self.notify(f"search not started: cannot write {log.parent}: {problem.strerror or problem}", markup=False, severity="error", timeout=8)
            return
        self.search_drivers[message.study] = driver
        self.view_sweep = message.study  # the table shows its trials (g: every run again)
        self._refresh_runs()
        self.close_narrow_form()
        self.notify(f"search {message.study} started: {message.trials} trials; it goes on after you quit; o shows the study",
                    markup=False, timeout=6)
        checks = {"left": START_CHECK_S}

        def check() -> None:
            checks["left"] -= 1
            why = failed_start(driver, log)
            if why is not None:
                timer.stop()
                self.notify(f"search {message.study} did not start: {why}", markup=False, severity="error", timeout=12)
            elif driver.poll() == 0 or checks["left"] <= 0:
                timer.stop()

        timer = self.set_interval(1.0, check)

    def live_searches(self) -> list[str]:
        """The searches this dashboard started that still run."""
        return running(self.search_drivers)

    def stop_searches(self) -> None:
        """SIGTERM to every live search this dashboard started (their trials stop after the batch)."""
        for name in self.live_searches():
            stop_driver(self.search_drivers[name].pid)
