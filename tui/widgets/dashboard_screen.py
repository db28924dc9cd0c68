"""The dashboard: the status line, the run form, the charts panel (charts, results table, log) and
the filter line, and the keys that act on the runs as a whole (n esc / g a p e o l x c).

It never trains: core.execution.executor hands each run to a runner process, and every run, its
own or a headless one, reaches the screen the same way: tui.watcher reads the run store in a
thread and posts RunsChanged here; DashboardState.fold turns that into records; the UI tick
(`flush`, four times a second at most) draws the runs that changed. Nothing here imports torch.

The widgets own their keys (the charts panel `[ ] t v m ←→`, the table `s space r d i`, the form
its own) and post messages for what reaches beyond them, answered here.
"""

from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from core.comparison.run_filter import RunFilter
from core.execution.executor import Executor
from core.runstore.store import RunStore
from tui.dashboard_state import DashboardState, Folded
from tui.run_control import RunControl
from tui.search_launch import SearchLauncher
from tui.status_text import idle_note, position_text, training_now
from tui.watcher import WATCH_INTERVAL_S, HistoryLoaded, RunsChanged, RunWatcher
from tui.widgets.charts_panel import ChartsPanel
from tui.widgets.filter_bar import FilterBar
from tui.widgets.results_table import ResultsTable
from tui.widgets.run_form import RunForm
from tui.widgets.status_line import StatusLine

MIN_WIDTH, MIN_HEIGHT = 60, 20  # below this the layout cannot show charts and table together
WIDE = 120  # from this width the form stays open beside the charts
TALL = 36  # from this height the table and the log get more rows
UI_TICK_S = 0.25  # table and status catch up with the runs at most four times a second
NOTICE_S = {"warning": 6, "error": 8}

DeviceProbe = Callable[[], list[tuple[str, str]]]


class DashboardScreen(Screen):
    KEYS = [
        # Short descriptions: the footer shows the main ones at 80 columns; `?` lists every key.
        Binding("n", "toggle_form", "New", tooltip="Open the run form on the learning rate (on an open form: back to it)"),
        Binding("escape", "close_form", "Close", tooltip="Close the run form"),
        # After close_form: esc clears the filter only where it would not close the form (check_action).
        Binding("escape", "clear_filter", "Clear filter", tooltip="Clear the filter (/): every run again; an open form closes first", show=False),
        Binding("x", "stop", "Stop", tooltip="Stop the run under the cursor (or this dashboard's) after its batch"),
        Binding("c", "clear_queue", "Clear", tooltip="Drop the queued runs"),
        Binding("e", "export", "CSV", tooltip="Export the results table (what is shown) to CSV"),
        Binding("g", "cycle_view", "View", tooltip="Show all runs, or one sweep's (again: the next sweep)"),
        Binding("p", "pivot", "Pivot", tooltip="The seed's table: accuracy after each epoch, per run (repeats: mean ± std)"),
        Binding("o", "study", "Study", show=False,
                tooltip="What a search found: the best trial (r loads it), importances, accuracy per trial and per parameter, live"),
        Binding("a", "toggle_groups", "Group", tooltip="Group the table and accuracy chart by configuration (mean ± std over seeds)"),
        Binding("slash", "find", "Find", key_display="/", show=False,
                tooltip="Filter the runs by words of the name or status and conditions: lr=0.01 bs<128 status:failed model:mlp acc>98"),
        Binding("l", "toggle_log", "Log", tooltip="Show or hide the log pane", show=False),
    ]
    BINDINGS = KEYS + ChartsPanel.charts_bindings("charts")  # the charts' keys, the panel's own: wherever the focus is here

    def __init__(self, state: DashboardState, store: RunStore, executor: Executor, searches: SearchLauncher, data_dir=None,
                 device_probe: DeviceProbe | None = None) -> None:
        super().__init__()
        self.state, self.store, self.executor, self.data_dir = state, store, executor, data_dir
        self.control = RunControl(state, executor, store)
        self.searches = searches
        self.device_probe = device_probe or executor.launcher.devices  # the runner lists them: torch stays out
        self.watcher = RunWatcher(self, store)
        self.history_loaded = False
        self.form_open = False
        self._dirty_runs: set[str] = set()  # runs whose row/charts/status wait for the next UI tick
        # Made here, not in compose: the ticks reach them even while a dialog is on top or the app shuts down.
        self.status_line = StatusLine(id="status")
        self.form = RunForm(id="form")
        self.panel = ChartsPanel(state, id="monitor")
        self.table = self.panel.table

    def compose(self) -> ComposeResult:
        yield self.status_line
        with Horizontal(id="body"):
            yield self.form
            yield self.panel
        yield FilterBar(id="filter-bar")
        yield Static("", id="too-small")
        yield Footer(compact=True, show_command_palette=False)  # ctrl+p still opens it; 80 columns need the room

    def on_mount(self) -> None:
        self._apply_size(self.app.size.width, self.app.size.height)
        self.refresh_status()
        self.table.focus()
        self.call_after_refresh(self.executor.launcher.warm_up)  # after the first frame
        self.run_worker(self.device_probe, thread=True, exit_on_error=False, group="devices")
        if self.store.is_empty():  # a first start: the form right after the first frame (its fields take 0.13 s)
            self.call_after_refresh(self.open_form_for_a_first_start)
        self.call_after_refresh(self.watcher.load_history)  # the first frame does not wait for the history
        self.set_interval(UI_TICK_S, self.flush)
        self.set_interval(WATCH_INTERVAL_S, self._watch)

    def on_unmount(self) -> None:
        self.watcher.stop()

    def on_resize(self, event) -> None:
        self._apply_size(event.size.width, event.size.height)

    def on_screen_resume(self) -> None:  # back from a dialog: the terminal may have been resized under it
        self._apply_size(self.app.size.width, self.app.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(small, "-too-small")
        self.set_class(width >= WIDE, "-wide")
        self.set_class(height >= TALL, "-tall")
        if small:
            self.query_one("#too-small", Static).update(f"mnist-tui needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}; this one is "
                                                        f"{width}x{height}.\nMake the window larger (training goes on meanwhile).")
        self._set_form_open(self.form_open or width >= WIDE, focus=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """No worker fails silently; a device list that cannot be had falls back to the CPU."""
        worker = event.worker
        if worker.group == "devices" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self.form.set_devices(worker.result or [("cpu", "cpu")])
            if self.executor.ray_address and event.state == WorkerState.SUCCESS:
                for text, severity, timeout in self.control.ray_notices():
                    self.notify(text, markup=False, severity=severity, timeout=timeout)
        if event.state == WorkerState.ERROR:
            self.notify(f"{worker.group}: {worker.error}", markup=False, title="background task failed", severity="error", timeout=10)

    # ----- the run store, as the watcher reads it ----------------------------------------------
    def _watch(self) -> None:
        if self.history_loaded and not self.control.quitting:
            self.watcher.poll(self.state.records, self.executor.runners())

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self.history_loaded = True
        self.panel.log(self.state.add_history(message.records))
        for warning in message.warnings[:3]:
            self.notify(warning, markup=False, severity="warning", timeout=6)
        self.refresh_runs()

    def on_runs_changed(self, message: RunsChanged) -> None:
        """Fold what the store said into the records now; draw it at the next UI tick."""
        folded: Folded = self.state.fold(message.updates)
        self.watcher.done()
        for text, severity in folded.notices:
            self.notify(text, markup=False, severity=severity, timeout=NOTICE_S[severity])
        self.panel.log(folded.log)
        for record, why in folded.forgotten:
            self._forgotten(record.label, record.run_id, why)
        self._dirty_runs |= folded.dirty
        if any(self.executor.finish(run_id) for run_id in folded.finished):  # a slot is free: the queue's next run
            self.control.start_ready()
        if folded.reshaped:
            self.flush()
            self.refresh_runs()

    # ----- drawing -------------------------------------------------------------------------------
    def flush(self) -> None:
        """The UI tick: at most a few times a second, whatever the event rate."""
        if self._dirty_runs:
            shown = {r.run_id for r in self.state.visible_records()}
            if self._filter_changes_rows(self._dirty_runs, shown):  # a run came into the filter or left it
                self.refresh_runs()
            self.panel.update_runs(self._dirty_runs & shown)
            self._dirty_runs.clear()
            self.refresh_status(bindings=False)
        self.panel.flush()

    def _filter_changes_rows(self, run_ids: set[str], shown: set[str]) -> bool:
        """Whether an update moved a run into or out of the filter (a run that finished under
        `status:running`, an accuracy that crossed `acc>98`): the table and charts are then rebuilt."""
        return bool(self.state.run_filter) and any((run_id in shown) != self.table.has_run(run_id) for run_id in run_ids)

    def refresh_runs(self) -> None:
        """Structure changed (run added, ended, hidden, filtered): rebuild table and chart series."""
        self.panel.show()
        self.refresh_status()

    def refresh_status(self, bindings: bool = True) -> None:
        if bindings and self.is_attached:  # the footer recomposes: only when what can be done has changed
            self.refresh_bindings()
        state, queue = self.state, self.executor.queue
        current = training_now(state.records, queue.current)  # this dashboard's run, else one training elsewhere
        color = state.rich_color(current.run_id) if current else ""
        running = sum(r.status == "running" for r in state.records.values())
        own = current is not None and current.run_id == queue.current
        position = position_text(current, list(state.records.values()), queue.started, running, own) if current else ""
        note = idle_note(state.visible_records(), state.view_sweep, counted=not state.run_filter)  # a filter counts them itself
        cursor = state.records.get(self.table.cursor_run_id() or "")
        cursor_color = state.rich_color(cursor.run_id) if cursor else ""
        self.status_line.show(current, color, position, len(queue.waiting), note, cursor, cursor_color, state.filter_note())

    def on_data_table_cell_highlighted(self, event) -> None:
        """The table's cursor moved: the status line says why the run under it ended, if it did early."""
        if event.data_table is self.table:
            self.refresh_status(bindings=False)

    # ----- the form --------------------------------------------------------------------------------
    def check_action(self, action: str, parameters) -> bool | None:
        """Keep the footer short at 80 columns: only actions that can do something now."""
        if not self.app.is_mounted(self.panel) or self.app.screen is not self:
            return False  # a key in the first instant, before the screen has its widgets; or a dialog on top (its footer shows it)
        if action == "charts":
            _, name, arguments = parse_action(parameters[0])
            return self.panel.check_action(name, arguments)
        if action == "close_form":
            return self.form_open and not self.escape_clears_filter()
        if action == "clear_filter":
            return self.escape_clears_filter()
        if action == "stop":
            return any(r.status == "running" for r in self.state.records.values())
        if action == "clear_queue":
            return bool(self.executor.queue.waiting)
        return True

    async def action_charts(self, action: str) -> None:
        """A key of the charts panel (ChartsPanel.KEYS), run there."""
        await self.panel.run_action(action)

    def _set_form_open(self, is_open: bool, focus: bool = True) -> None:
        self.form_open = is_open
        self.refresh_bindings()
        self.form.show(is_open)
        if focus and is_open:
            self.form.query_one("#f-lr").focus()
        elif focus and not is_open:
            self.table.focus()

    def action_toggle_form(self) -> None:
        self._set_form_open(True)  # open, or back to its first field; esc closes it

    def action_close_form(self) -> None:
        if self.app.size.width < WIDE:
            self._set_form_open(False)
        else:
            self.table.focus()

    def close_narrow_form(self) -> None:
        """After a start: the form closes where it covers the charts."""
        if self.form_open and self.app.size.width < WIDE:
            self._set_form_open(False)

    def open_form_for_a_first_start(self) -> None:
        """No runs yet: the form, on the learning rate, with what to do."""
        self._set_form_open(True)
        self.form.show_hint("enter trains it · esc, ? all keys")

    def load_into_form(self, config, label: str) -> None:
        """Fill the form from a configuration and open it (the table's `r`, the study screen's `r`)."""
        missing = self.form.load_config(config)  # before opening: a first open builds the fields with its values
        self._set_form_open(True)
        elsewhere = f" (it ran on {missing}, which this machine does not list: device auto)" if missing else ""
        self.notify(f"loaded {label} into the form{elsewhere}: change what you like, enter starts it", markup=False, timeout=4)

    def on_run_form_start_requested(self, message: RunForm.StartRequested) -> None:
        self.start_sweep([message.config])

    def on_run_form_sweep_requested(self, message: RunForm.SweepRequested) -> None:
        self.start_sweep(message.configs, message.devices, message.runs_per_device)

    def start_sweep(self, configs, devices: list[str] | None = None, runs_per_device: int = 1) -> list[str]:
        """Queue runs (several devices, or runs per device: that many train at once); they start as slots free up."""
        run_ids, notice = self.control.start(configs, devices, runs_per_device)
        if notice:
            self.notify(notice, markup=False, timeout=3)
        self.refresh_runs()
        self.close_narrow_form()
        return run_ids

    def on_run_form_search_requested(self, message: RunForm.SearchRequested) -> None:
        if self.searches.start(self, message):
            self.state.view_sweep = message.study  # the table shows its trials (g: every run again)
            self.refresh_runs()
            self.close_narrow_form()

    def on_run_form_lr_find_requested(self, message: RunForm.LrFindRequested) -> None:
        """ctrl+l: the learning-rate range test, whose suggested rate goes into the form's learn rate."""
        from tui.widgets.lr_find_screen import LrFindScreen  # imported when first used: the first frame does not wait

        def use(rate: str | None) -> None:
            if rate:
                field = self.form.query_one("#f-lr", Input)
                field.value = rate  # validated as if typed (Input.Changed)
                field.focus()
                self.notify(f"learn rate {rate}, as the range test suggested", markup=False, timeout=3)

        self.app.push_screen(LrFindScreen(self.form.values(), self.data_dir), use)

    # ----- the filter line (/) ------------------------------------------------------------------
    def escape_clears_filter(self) -> bool:
        """Whether esc (on the dashboard, not in the filter bar) clears the filter: while one is in
        force, unless the form is open on top of the runs or, on a wide screen, has the focus (there
        esc is the form's)."""
        if not self.state.run_filter:
            return False
        if not self.form_open:
            return True
        return self.has_class("-wide") and not self.form.has_focus_within

    def action_find(self) -> None:
        if self.form_open and not self.has_class("-wide"):
            self.action_close_form()  # the overlay would hide the runs the filter is about
        self.query_one(FilterBar).open(self.state.run_filter.text)

    def on_filter_bar_applied(self, message: FilterBar.Applied) -> None:
        self.state.run_filter = message.run_filter
        self._close_filter_bar()
        self.refresh_runs()

    def on_filter_bar_cancelled(self, message: FilterBar.Cancelled) -> None:
        self._close_filter_bar()

    def _close_filter_bar(self) -> None:
        self.query_one(FilterBar).close()
        self.table.focus()

    def action_clear_filter(self) -> None:
        self.state.run_filter = RunFilter()
        self.refresh_runs()

    # ----- what is in view -------------------------------------------------------------------------
    def action_cycle_view(self) -> None:
        self.notify(self.state.cycle_view(), markup=False, timeout=3)
        self.refresh_runs()

    def action_toggle_groups(self) -> None:
        self.table.set_grouped(not self.table.grouped)
        self.notify("a row per configuration: mean ± std over its seeds (a: runs again)" if self.table.grouped else "a row per run", timeout=3)
        self.refresh_runs()

    def action_toggle_log(self) -> None:
        self.toggle_class("-log-hidden")

    def on_results_table_visibility_toggled(self, message: ResultsTable.VisibilityToggled) -> None:
        self.state.toggle_hidden(message.run_ids)
        self.refresh_runs()

    def action_pivot(self) -> None:
        if not self.state.visible_records():
            self.notify("no runs match the filter (esc clears it)" if self.state.run_filter else "no runs to compare yet", timeout=2)
            return
        from tui.widgets.pivot_screen import PivotScreen

        self.app.push_screen(PivotScreen(self.state.view_title(), self.state.visible_records()))  # the title: a Text, never markup

    def action_export(self) -> None:
        """The runs shown, in the table's order: each a full record, or (groups) one row per configuration."""
        from tui.widgets.export_dialog import ExportDialog, default_export_name, write_shown

        said: list[str] = []

        def done(path) -> None:
            if path is not None:
                self.notify(f"wrote {said[0]} to {path}", markup=False, timeout=6)

        self.app.push_screen(ExportDialog(write_shown(self.table.shown_records, said), default_export_name(), groups=self.table.grouped), done)

    def action_study(self) -> None:
        """`o`: the study screen for the search of the run under the table's cursor, else the newest one."""
        from tui.widgets.study_screen import study_screen_for  # imported when first used: the first frame does not wait

        record = self.state.records.get(self.table.cursor_run_id() or "")
        if (screen := study_screen_for(self.store.root, record.config.sweep if record is not None else None)) is None:
            self.notify(f"no search in {self.store.root} yet: start one with mnist-tui search or the form's search mode", markup=False, timeout=5)
            return
        self.app.push_screen(screen, self._load_best_trial)

    def _load_best_trial(self, pick) -> None:
        """The study screen's `r`: the best trial's run as it ran when the table has it, else its parameters over the study's base."""
        if pick is None:
            return
        record = self.state.records.get(pick.run_id)
        self.load_into_form(record.config if record is not None and record.status != "unreadable" else pick.config, pick.label)

    # ----- the run under the table's cursor, and the queue -------------------------------------------
    def on_results_table_rerun_requested(self, message: ResultsTable.RerunRequested) -> None:
        record = self.state.records[message.run_id]
        if record.status == "unreadable":
            self.notify("this run's configuration could not be read", severity="error")
            return
        self.load_into_form(record.config, record.label)

    def on_results_table_inspect_requested(self, message: ResultsTable.InspectRequested) -> None:
        from tui.widgets.inspect_screen import InspectScreen

        record = self.state.records[message.run_id]
        self.app.push_screen(InspectScreen(record, self.store.root / record.run_id, self.data_dir, self._own_current_run))

    def _own_current_run(self):
        """The run this dashboard trains now (the inspect screen compares its device with it)."""
        return self.state.records.get(self.executor.queue.current or "")

    def on_results_table_delete_requested(self, message: ResultsTable.DeleteRequested) -> None:
        record = self.state.records[message.run_id]
        if not self.control.can_delete(record):
            self.notify("that run is training: stop it first (x)", severity="warning")
            return

        def answer(yes: bool | None) -> None:
            if yes:
                if problem := self.control.delete(record):
                    self.notify(problem, markup=False, severity="error")
                else:
                    self._forgotten(record.label, record.run_id, "deleted")

        where = "?" if record.status == "queued" else f"\nand its folder {self.store.root / record.run_id}?"  # a long path: a line of its own
        from tui.widgets.confirm_dialog import ConfirmDialog

        self.app.push_screen(ConfirmDialog(Text.assemble("Delete the run ", (record.label, "bold"), where), yes="Delete"), answer)

    def _forgotten(self, label: str, run_id: str, why: str) -> None:
        """A run left the table and charts (deleted, or its folder vanished): its slot is freed, it is said."""
        if self.executor.finish(run_id):  # its slot is free: its runner stops at its next write
            self.control.start_ready()
        self.refresh_runs()
        self.notify(f"{label}: {why}", markup=False, timeout=4)

    def action_stop(self) -> None:
        """The run under the table's cursor if it trains (any process's); else this dashboard's."""
        for text, severity, timeout in self.control.stop(self.table.cursor_run_id()):
            self.notify(text, markup=False, severity=severity, timeout=timeout)

    def action_clear_queue(self) -> None:
        self.notify(self.control.clear_queue(), timeout=2)
        self.refresh_runs()

    def action_reproduce(self) -> None:
        """Queue the report's two sweeps: the seeds (when the form lists several; else 1,2,3), epochs,
        subsets and device come from the form; `p` then shows its tables beside ours."""
        try:
            configs, devices = self.control.reproduce_plan(self.form.values())
        except ValueError as bad:
            self.notify(f"not started: fix the form first ({bad})", markup=False, severity="error", timeout=5)
            return
        self.start_sweep(configs, devices)
        self.state.view_sweep = configs[0].sweep
        self.refresh_runs()
