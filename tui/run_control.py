"""What the dashboard's run keys do to the runs, without drawing: queue runs on the executor,
start the next when a slot frees, stop, drop the queue, delete, plan the report's two sweeps,
and leave (runs train on, or stop). No Textual here: the screen (tui.widgets.dashboard_screen)
asks, then draws and says what comes back (notices as (text, severity, timeout) tuples).
"""

from __future__ import annotations

from core.config import RunConfig
from core.execution.control import ControlError
from core.execution.executor import Executor
from core.runstore.results import RunRecord
from core.runstore.store import RunStore, StoreError
from tui.dashboard_state import DashboardState

Notice = tuple[str, str, float]  # (text, severity, seconds shown)


class RunControl:
    def __init__(self, state: DashboardState, executor: Executor, store: RunStore) -> None:
        self.state, self.executor, self.store = state, executor, store
        self.queue = executor.queue  # the same object: the queue lives in core
        self.quitting = False

    def start(self, configs: list[RunConfig], devices: list[str] | None = None, runs_per_device: int = 1) -> tuple[list[str], str]:
        """Queue runs (several devices, or runs per device: that many train at once) and start
        what a free slot can take. Returns the queued run ids and what to say ("" for nothing)."""
        busy = bool(self.queue.running)
        queued = self.executor.submit(configs, devices, runs_per_device)
        for run_id, config in queued:
            self.state.add(RunRecord(run_id, config))
        notice = ""
        if len(configs) > 1:
            where = f" on {', '.join(devices)}" if devices and len(devices) > 1 else ""
            where += f", {runs_per_device} per device" if runs_per_device > 1 else ""
            notice = f"queued a sweep of {len(configs)} runs{where}"
        elif busy:
            notice = f"queued {configs[0].label} ({len(self.queue.waiting)} waiting)"
        self.start_ready()
        return [run_id for run_id, _ in queued], notice

    def start_ready(self) -> None:
        """The queue's runs that a free slot can take now are started (none once leaving)."""
        if not self.quitting:
            for run_id, config in self.executor.start_ready():
                record = self.state.records[run_id]
                record.config, record.status = config, "running"

    def stop(self, cursor_run_id: str | None) -> list[Notice]:
        """`x`: the run under the table's cursor if it trains (any process's); else this dashboard's."""
        record = self.state.records.get(cursor_run_id) if cursor_run_id else None
        targets = [cursor_run_id] if record is not None and record.status == "running" else list(self.queue.running)
        if not targets:
            return [("nothing is training", "information", 2)]
        said: list[Notice] = []
        for run_id in targets:
            try:
                self.executor.stop(run_id, "stopped by the user (x in the dashboard)")
                said.append((f"stopping {self.state.records[run_id].label} after its current batch…", "information", 3))
            except ControlError as refused:
                said.append((str(refused), "error", 6))
        return said

    def clear_queue(self) -> str:
        """`c`: the queued runs are dropped (no folder was made for them)."""
        dropped = self.queue.clear()
        for run_id in dropped:
            self.state.forget(run_id)
        return f"cleared {len(dropped)} queued run(s)" if dropped else "the queue is empty"

    def can_delete(self, record: RunRecord) -> bool:
        return record.run_id not in self.queue.running and record.status != "running"

    def delete(self, record: RunRecord) -> str | None:
        """`d`, answered yes: the run's folder (none for a queued run) and the run go. Returns why not, or None."""
        if record.status != "queued":
            try:
                self.store.delete(record.run_id)
            except StoreError as problem:
                return str(problem)
        self.queue.remove(record.run_id)
        self.state.forget(record.run_id)
        return None

    def reproduce_plan(self, values: dict[str, str]) -> tuple[list[RunConfig], list[str] | None]:
        """The report's two sweeps from the form's values: its seeds when it lists several (else
        1,2,3), epochs, subsets, device and model. Raises ValueError (ConfigError is one) for a bad field."""
        from core.comparison.report import new_reproduce_id, reproduce_configs
        from core.comparison.sweep import split_values

        devices = values["device"].split(",")  # several: the form's "all GPUs, in parallel"
        values = {**values, "device": devices[0]}
        seeds = [int(s) for s in split_values("seed", values["seed"])]
        keep = {field: values[field] for field in ("train_size", "test_size", "device", "model") if values[field]}
        configs = reproduce_configs(seeds if len(seeds) > 1 else [1, 2, 3], int(values["epochs"] or 5), keep, sweep=new_reproduce_id())
        return configs, devices if len(devices) > 1 else None

    def ray_notices(self) -> list[Notice]:
        """Where runs go, and a warning when the cluster takes anyone's code (no token authentication)."""
        from core.execution.ray_connect import cluster_summary, token_warning

        cluster = self.executor.launcher.ready_message.get("ray", {})
        said: list[Notice] = [(f"runs go to {cluster_summary(cluster)}", "information", 6)]
        if warning := token_warning(cluster):
            said.append((warning, "warning", 15))
        return said

    def leave(self, reason: str, keep: bool) -> None:
        """Before the dashboard exits: the runs train on and the queue goes to a detached runner
        (keep), or both stop."""
        self.quitting = True
        if keep:
            self.executor.hand_over()
        else:
            self.queue.clear()
            self.executor.stop_own(reason)
