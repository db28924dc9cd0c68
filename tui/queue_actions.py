"""Handing runs to the executor: the form's start and sweep, what starts next, where runs go."""

from __future__ import annotations

from core.config import RunConfig
from core.runstore.results import RunRecord


class QueueActions:
    """Mixed into the App (tui.app), which provides records, executor, queue and the refreshes."""

    def start_sweep(self, configs: list[RunConfig], devices: list[str] | None = None, runs_per_device: int = 1) -> list[str]:
        """Queue runs (several devices, or runs per device: that many train at once); they start as slots free up."""
        busy = bool(self.queue.running)
        queued = self.executor.submit(configs, devices, runs_per_device)
        for run_id, config in queued:
            self.records[run_id] = RunRecord(run_id, config)
            self._color(run_id)
        if len(configs) > 1:
            where = f" on {', '.join(devices)}" if devices and len(devices) > 1 else ""
            where += f", {runs_per_device} per device" if runs_per_device > 1 else ""
            self.notify(f"queued a sweep of {len(configs)} runs{where}", markup=False, timeout=3)
        elif busy:
            self.notify(f"queued {configs[0].label} ({len(self.queue.waiting)} waiting)", markup=False, timeout=3)
        self._start_next()
        self.close_narrow_form()
        return [run_id for run_id, _ in queued]

    def _start_next(self) -> None:
        if not self._quitting:
            for run_id, config in self.executor.start_ready():
                record = self.records[run_id]
                record.config, record.status = config, "running"
        self._refresh_runs()

    def notify_ray(self, cluster: dict) -> None:
        """Where runs go, and a warning when the cluster takes anyone's code (no token authentication)."""
        from core.execution.ray_connect import cluster_summary, token_warning

        self.notify(f"runs go to {cluster_summary(cluster)}", markup=False, timeout=6)
        if warning := token_warning(cluster):
            self.notify(warning, markup=False, severity="warning", timeout=15)
