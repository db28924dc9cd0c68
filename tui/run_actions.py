"""What the user does to runs: hide, run again, inspect, delete, stop, clear the queue, quit.

Screens and dialogs are imported when first opened: the first frame does not wait for them."""

from __future__ import annotations

from rich.text import Text

from core.config import ConfigError
from core.execution.control import ControlError
from core.runstore.store import StoreError
from tui.widgets.results_table import ResultsTable
from tui.widgets.run_form import RunForm


class RunActions:
    """Mixed into the App (tui.app), which provides records, executor, store and the refreshes."""

    def on_results_table_visibility_toggled(self, message: ResultsTable.VisibilityToggled) -> None:
        ids = set(message.run_ids)
        self.hidden = self.hidden - ids if message.run_ids[0] in self.hidden else self.hidden | ids
        self._refresh_runs()

    def on_results_table_rerun_requested(self, message: ResultsTable.RerunRequested) -> None:
        record = self.records[message.run_id]
        if record.status == "unreadable":
            self.notify("this run's configuration could not be read", severity="error")
            return
        self.load_into_form(record.config, record.label)

    def load_into_form(self, config, label: str) -> None:
        """Fill the form from a configuration and open it (the table's `r`, the study screen's `r`)."""
        form = self.query_one("#form", RunForm)
        missing = form.load_config(config)  # before opening: a first open builds the fields with its values
        self._set_form_open(True)
        elsewhere = f" (it ran on {missing}, which this machine does not list: device auto)" if missing else ""
        self.notify(f"loaded {label} into the form{elsewhere}: change what you like, enter starts it", markup=False, timeout=4)

    def on_results_table_inspect_requested(self, message: ResultsTable.InspectRequested) -> None:
        record = self.records[message.run_id]
        from tui.widgets.inspect_screen import InspectScreen

        self.push_screen(InspectScreen(record, self.store.root / record.run_id, self.data_dir))

    def on_results_table_delete_requested(self, message: ResultsTable.DeleteRequested) -> None:
        run_id = message.run_id
        record = self.records[run_id]
        if run_id in self.queue.running or record.status == "running":
            self.notify("that run is training: stop it first (x)", severity="warning")
            return

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            if record.status != "queued":
                try:
                    self.store.delete(run_id)
                except StoreError as problem:
                    self.notify(str(problem), markup=False, severity="error")
                    return
            self.queue.remove(run_id)
            self.forget_run(run_id, "deleted")

        where = "?" if record.status == "queued" else f"\nand its folder {self.store.root / run_id}?"  # a long path: a line of its own
        from tui.widgets.confirm_dialog import ConfirmDialog

        self.push_screen(ConfirmDialog(Text.assemble("Delete the run ", (record.label, "bold"), where), yes="Delete"), answer)

    def forget_run(self, run_id: str, why: str) -> bool:
        """Take a run off the table and charts (deleted, or its folder vanished); True if it was there."""
        record = self.records.pop(run_id, None)
        if record is None:
            return False
        self.hidden.discard(run_id)
        if self.executor.finish(run_id):  # its slot is free: its runner stops at its next write
            self._start_next()
        self._refresh_runs()
        self.notify(f"{record.label}: {why}", markup=False, timeout=4)
        return True

    def action_stop(self) -> None:
        """The run under the table's cursor if it trains (any process's); else this dashboard's."""
        cursor = self.query_one("#table", ResultsTable).cursor_run_id()
        record = self.records.get(cursor) if cursor else None
        targets = [cursor] if record is not None and record.status == "running" else list(self.queue.running)
        if not targets:
            self.notify("nothing is training", timeout=2)
            return
        for run_id in targets:
            try:
                self.executor.stop(run_id, "stopped by the user (x in the dashboard)")
                self.notify(f"stopping {self.records[run_id].label} after its current batch…", markup=False, timeout=3)
            except ControlError as refused:
                self.notify(str(refused), markup=False, severity="error", timeout=6)

    def action_reproduce(self) -> None:
        """Queue the report's two sweeps: the seeds (when the form lists several; else 1,2,3), epochs,
        subsets and device come from the form; `p` then shows its tables beside ours."""
        from core.comparison.report import new_reproduce_id, reproduce_configs
        from core.comparison.sweep import split_values

        values = self.query_one("#form", RunForm).values()
        devices = values["device"].split(",")  # several: the form's "all GPUs, in parallel"
        values["device"] = devices[0]
        try:
            seeds = [int(s) for s in split_values("seed", values["seed"])]
            keep = {field: values[field] for field in ("train_size", "test_size", "device", "model") if values[field]}
            configs = reproduce_configs(seeds if len(seeds) > 1 else [1, 2, 3], int(values["epochs"] or 5), keep,
                                        sweep=new_reproduce_id())
        except (ConfigError, ValueError) as bad:
            self.notify(f"not started: fix the form first ({bad})", markup=False, severity="error", timeout=5)
            return
        self.start_sweep(configs, devices if len(devices) > 1 else None)
        self.view_sweep = configs[0].sweep
        self._refresh_runs()

    def action_clear_queue(self) -> None:
        dropped = self.queue.clear()
        for run_id in dropped:
            self.records.pop(run_id, None)
        self.notify(f"cleared {len(dropped)} queued run(s)" if dropped else "the queue is empty", timeout=2)
        self._refresh_runs()

    async def action_quit(self) -> None:
        """With runs training or queued, ask: keep them training in the background (default) or stop them."""
        training, queued, searches = len(self.queue.running), len(self.queue.waiting), len(self.live_searches())
        if not training and not queued and not searches:
            self.exit()
            return

        def answer(choice: str | None) -> None:
            if choice is not None:
                self.leave("the dashboard was closed", 0, keep=choice == "keep")

        from tui.widgets.quit_dialog import QuitDialog

        self.push_screen(QuitDialog(training, queued, searches), answer)

    def leave(self, reason: str, code: int, keep: bool = True) -> None:
        """Exit; the runs train on and the queue goes to a detached runner (keep), or both stop."""
        if self._quitting:
            return
        self._quitting = True
        if keep:
            self.executor.hand_over()
        else:
            self.queue.clear()
            self.executor.stop_own(reason)
            self.stop_searches()
        self.exit(return_code=code)
