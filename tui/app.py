"""The dashboard: a run form, two live charts of any logged metric, the results table and a status line.

It never trains: core.execution.executor hands each run to a runner process (core.execution.runner), and every run,
its own or a headless one, reaches the screen the same way, through the run store (tui.watcher).
Nothing here imports torch: the first frame does not wait for it, and no CUDA context is made.
"""

from __future__ import annotations

import time
from typing import Callable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from core.execution.executor import Executor
from core.execution.launcher import lower_thread_priority
from core.runstore.results import RunRecord
from core.runstore.store import RunStore, resolve_runs_dir
from tui.chart_actions import ChartActions
from tui.commands import binding_commands, reproduce_command
from tui.filter_actions import FilterActions
from tui.follow_actions import FollowActions
from tui.lr_find_actions import LrFindActions
from tui.search_actions import SearchActions
from tui.palette import plot_color, rich_color
from tui.queue_actions import QueueActions
from tui.run_actions import RunActions
from tui.study_actions import StudyActions
from tui.status_text import idle_note, position_text, training_now
from tui.terminal_guard import TerminalGuard
from tui.view_actions import ViewActions
from tui.watcher import WATCH_INTERVAL_S, RunWatcher
from tui.widgets.filter_bar import FilterBar
from tui.widgets.log_pane import LogPane
from tui.widgets.metric_chart import MetricChart
from tui.widgets.results_table import ResultsTable
from tui.widgets.run_chart import Series
from tui.widgets.run_form import RunForm
from tui.widgets.status_line import StatusLine

MIN_WIDTH, MIN_HEIGHT = 60, 20  # below this the layout cannot show charts and table together
WIDE = 120  # from this width the form stays open beside the charts
UI_TICK_S = 0.25  # table and status catch up with the runs at most four times a second
LOG_INTERVAL_S = 2.0  # the log pane at most every 2 s: each write grows its height, a layout pass of the whole screen (3% of a core at 4 writes/s)

DeviceProbe = Callable[[], list[tuple[str, str]]]


class MnistTui(FollowActions, QueueActions, SearchActions, LrFindActions, StudyActions, RunActions, ViewActions, ChartActions, FilterActions, App):
    CSS_PATH = "app.tcss"
    TITLE = "mnist-tui"
    BINDINGS = [
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
        Binding("m", "toggle_smoothing", "Avg", tooltip="Smooth the per-batch curves: loss, learning rate, samples/s (moving average)", show=False),
        Binding("left_square_bracket", "next_metric('left')", "Left chart", key_display="[", tooltip="The left chart's next metric", show=False),
        Binding("right_square_bracket", "next_metric('right')", "Right chart", key_display="]", tooltip="The right chart's next metric", show=False),
        Binding("t", "toggle_x_axis", "Time", tooltip="The charts' x axis: epochs, or time since each run started", show=False),
        Binding("v", "toggle_cursor", "Values", tooltip="A cursor on the charts (←/→ move it, shift: 10 points): each run's value there"),
        Binding("left", "move_cursor(-1)", "←", key_display="←", priority=True, show=False, tooltip="The chart cursor one point left"),
        Binding("right", "move_cursor(1)", "→", key_display="→", priority=True, show=False, tooltip="The chart cursor one point right"),
        Binding("shift+left", "move_cursor(-10)", "10←", key_display="shift+←", priority=True, show=False, tooltip="The chart cursor ten points left"),
        Binding("shift+right", "move_cursor(10)", "10→", key_display="shift+→", priority=True, show=False, tooltip="The chart cursor ten points right"),
        Binding("l", "toggle_log", "Log", tooltip="Show or hide the log pane", show=False),
        Binding("question_mark", "help", "Keys", key_display="?", tooltip="Every key on one screen"),
        Binding("q", "quit", "Quit", tooltip="Quit (asks whether runs keep training in the background)"),
    ]
    _MAIN_SCREEN_ACTIONS = {b.action for b in BINDINGS} - {"quit"}  # what rests while a dialog is on top

    def __init__(self, *, runs_dir=None, data_dir=None, device_probe: DeviceProbe | None = None, handle_signals: bool = False, warm: bool = True,
                 ray_address: str | None = None) -> None:
        super().__init__()
        self.store = RunStore(resolve_runs_dir(runs_dir))
        self.data_dir = data_dir
        self.executor = Executor(self.store, data_dir, ray_address=ray_address, warm=warm)
        self.queue = self.executor.queue  # the same object: the queue lives in core
        self.device_probe = device_probe or self.executor.launcher.devices  # the runner lists them: torch stays out
        self.watcher = RunWatcher(self, self.store)
        self.guard = TerminalGuard(self.leave, self) if handle_signals else None
        self.records: dict[str, RunRecord] = {}
        self.color_index: dict[str, int] = {}
        self.hidden: set[str] = set()
        self.view_sweep: str | None = None  # None: every run; else only this sweep's
        self.search_drivers: dict = {}  # study name -> the Popen of a search this dashboard started (tui.search_actions)
        self._history_loaded = False
        self._dirty_runs: set[str] = set()  # runs whose row/charts/status wait for the next UI tick
        self._pending_log: list = []
        self._log_written_at = float("-inf")
        self.form_open = False
        self._quitting = False

    def compose(self) -> ComposeResult:
        # Kept as attributes: the ticks reach them even while a dialog is on top or the app shuts down.
        self.status_line, self.table = StatusLine(id="status"), ResultsTable(id="table")
        self.left_chart, self.right_chart = MetricChart("train_loss", id="left-chart"), MetricChart("test_accuracy", id="right-chart")
        self.log_pane = LogPane(id="log", max_lines=2000, wrap=True, markup=False)  # wrapped: a reason is read whole
        yield self.status_line
        with Horizontal(id="body"):
            yield RunForm(id="form")
            with Vertical(id="monitor"):
                with Horizontal(id="charts"):
                    yield self.left_chart
                    yield self.right_chart
                yield self.table
                yield self.log_pane
        yield FilterBar(id="filter-bar")
        yield Static("", id="too-small")
        yield Footer(compact=True, show_command_palette=False)  # ctrl+p still opens it; 80 columns need the room

    def on_mount(self) -> None:
        self._apply_size(self.size.width, self.size.height)
        self._refresh_status()
        self.query_one("#table", ResultsTable).focus()
        self.call_after_refresh(self.executor.launcher.warm_up)  # after the first frame
        self.run_worker(self.device_probe, thread=True, exit_on_error=False, group="devices")
        if self.store.is_empty():  # a first start: the form right after the first frame (its fields take 0.13 s)
            self.call_after_refresh(self.open_form_for_a_first_start)
        self.call_after_refresh(self.watcher.load_history)  # the first frame does not wait for the history
        self.set_interval(UI_TICK_S, self._flush_ui)
        self.set_interval(WATCH_INTERVAL_S, self._watch)
        if self.guard is not None:
            self.guard.install()
            lower_thread_priority()  # the real terminal app: training gets the CPU first

    def on_unmount(self) -> None:
        self.watcher.stop()
        self.executor.close()  # the warm runner exits; runs train on

    def on_resize(self, event) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.screen.set_class(small, "-too-small")
        self.screen.set_class(width >= WIDE, "-wide")
        self.screen.set_class(height >= 36, "-tall")
        if small:
            self.query_one("#too-small", Static).update(f"mnist-tui needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}; this one is "
                                                        f"{width}x{height}.\nMake the window larger (training goes on meanwhile).")
        self._set_form_open(self.form_open or width >= WIDE, focus=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """No worker fails silently; a device list that cannot be had falls back to the CPU."""
        worker = event.worker
        if worker.group == "devices" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self.query_one("#form", RunForm).set_devices(worker.result or [("cpu", "cpu")])
            if self.executor.ray_address and event.state == WorkerState.SUCCESS:
                self.notify_ray(self.executor.launcher.ready_message.get("ray", {}))
        if event.state == WorkerState.ERROR:
            self.notify(f"{worker.group}: {worker.error}", markup=False, title="background task failed", severity="error", timeout=10)

    # ----- runs, as the run store tells them ------------------------------------------------
    def _color(self, run_id: str) -> int:
        return self.color_index.setdefault(run_id, len(self.color_index))

    def on_run_form_start_requested(self, message: RunForm.StartRequested) -> None:
        self.start_sweep([message.config])

    def on_run_form_sweep_requested(self, message: RunForm.SweepRequested) -> None:
        self.start_sweep(message.configs, message.devices, message.runs_per_device)

    def close_narrow_form(self) -> None:
        """After a start: the form closes where it covers the charts."""
        if self.form_open and self.size.width < WIDE:
            self._set_form_open(False)

    # ----- drawing -------------------------------------------------------------------------
    def _flush_ui(self) -> None:
        """The UI tick: at most a few times a second, whatever the event rate."""
        now = time.monotonic()
        if self._pending_log and now - self._log_written_at >= LOG_INTERVAL_S:  # one write for all the lines since
            self.log_pane.write(Text("\n").join(self._pending_log))
            self._pending_log.clear()
            self._log_written_at = now
        if self._dirty_runs:
            shown = {r.run_id for r in self.visible_records()}
            if self.filter_changes_rows(self._dirty_runs, shown):  # a run came into the filter or left it
                self._refresh_runs()
            for run_id in self._dirty_runs & shown:
                self.table.update_run(self.records[run_id])
                if run_id not in self.hidden:
                    self.left_chart.touch()
                    self.right_chart.touch()
            self._dirty_runs.clear()
            self._refresh_status(bindings=False)
        self.left_chart.redraw_if_due()
        self.right_chart.redraw_if_due()

    def visible_records(self) -> list[RunRecord]:
        """The runs in view: all, or one sweep's (`g`), those the filter lets through (`/`).
        Table, charts, pivot and export follow it."""
        return self.filtered(self.view_records())

    def view_records(self) -> list[RunRecord]:
        """All runs, or one sweep's (`g`): what the filter chooses from."""
        if self.view_sweep is None:
            return list(self.records.values())
        return [r for r in self.records.values() if r.config.sweep == self.view_sweep]

    def _refresh_runs(self) -> None:
        """Structure changed (run added, ended, hidden): rebuild table and chart series."""
        colors = {run_id: rich_color(i) for run_id, i in self.color_index.items()}
        self.table.show_runs(self.visible_records(), colors, self.hidden)
        series = [Series(r, plot_color(self._color(r.run_id))) for r in self.visible_records() if r.run_id not in self.hidden]
        groups = self.group_series() if self.table.grouped else None
        for chart in (self.left_chart, self.right_chart):
            chart.show(series)
            chart.show_groups(groups)
        self.charts_reshown()
        self._refresh_status()

    def _refresh_status(self, bindings: bool = True) -> None:
        if bindings and self.screen_stack:  # the footer recomposes: only when what can be done has changed (none while exiting)
            self.refresh_bindings()
        current = training_now(self.records, self.queue.current)  # this dashboard's run, else one training elsewhere
        color = rich_color(self._color(current.run_id)) if current else ""
        running = sum(r.status == "running" for r in self.records.values())
        own = current is not None and current.run_id == self.queue.current
        position = position_text(current, list(self.records.values()), self.queue.started, running, own) if current else ""
        note = idle_note(self.visible_records(), self.view_sweep, counted=not self.run_filter)  # a filter counts them itself
        cursor = self.records.get(self.table.cursor_run_id() or "")
        cursor_color = rich_color(self._color(cursor.run_id)) if cursor else ""
        self.status_line.show(current, color, position, len(self.queue.waiting), note, cursor, cursor_color, self.filter_note())

    # ----- view actions ------------------------------------------------------------------
    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        if screen is self.screen_stack[0]:
            yield from binding_commands(self, [(self, self.BINDINGS), (self.query_one("#table", ResultsTable), ResultsTable.BINDINGS)])
            yield reproduce_command(self.action_reproduce)

    def check_action(self, action: str, parameters) -> bool | None:
        """Keep the footer short at 80 columns: only actions that can do something now."""
        if action in self._MAIN_SCREEN_ACTIONS and self.screen is not self.screen_stack[0]:
            return False  # over a dialog or the inspect screen, the dashboard's keys rest
        if action == "close_form":
            return self.form_open and not self.escape_clears_filter()
        if action == "clear_filter":
            return self.escape_clears_filter()
        if action == "stop":
            return any(r.status == "running" for r in self.records.values())
        if action == "clear_queue":
            return bool(self.queue.waiting)
        if action == "move_cursor":  # else the arrows go to the table or the form
            return self.cursor_on() and self.focused in (None, self.table)
        return True

    def _set_form_open(self, is_open: bool, focus: bool = True) -> None:
        self.form_open = is_open
        self.refresh_bindings()
        form = self.query_one("#form", RunForm)
        form.show(is_open)
        if focus and is_open:
            form.query_one("#f-lr").focus()
        elif focus and not is_open:
            self.query_one("#table", ResultsTable).focus()

    def action_toggle_form(self) -> None:
        self._set_form_open(True)  # open, or back to its first field; esc closes it

    def action_close_form(self) -> None:
        if self.size.width < WIDE:
            self._set_form_open(False)
        else:
            self.query_one("#table", ResultsTable).focus()


def create_app(*, runs_dir=None, data_dir=None, device_probe: DeviceProbe | None = None, handle_signals: bool = False, warm: bool = True,
               ray_address: str | None = None) -> MnistTui:
    """The one factory the CLI and the tests share (the CLI also asks for the terminal guard).

    `warm=False` starts a runner only when a run needs one (tests: fewer torch imports on 2 cores).
    `ray_address`: every run is a task on that Ray cluster (core.execution.ray_driver).
    """
    return MnistTui(runs_dir=runs_dir, data_dir=data_dir, device_probe=device_probe, handle_signals=handle_signals, warm=warm,
                    ray_address=ray_address)
