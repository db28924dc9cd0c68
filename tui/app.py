"""The dashboard: a run form, live loss and accuracy charts, the results table and a status line.

Training happens in a Textual thread worker that is a thin shell around core.session's event
generator (harlequin's pattern); every event is posted to the app, never awaited. Nothing here
imports torch at module level: the first frame appears while torch loads in the background.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Callable

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, RichLog, Static

from core.config import RunConfig
from core.events import END_KINDS, RunStarted, format_line
from core.export import write_csv
from core.results import RunRecord, load_records
from core.store import RunStore, StoreError, is_live, new_run_id, read_run, resolve_runs_dir
from tui.palette import plot_color, rich_color
from tui.training import ForeignEvents, HistoryLoaded, Job, RunQueue, TrainingEvent, slot_device
from tui.widgets.accuracy_chart import AccuracyChart
from tui.widgets.confirm_dialog import ConfirmDialog
from tui.widgets.export_dialog import ExportDialog, default_export_name
from tui.widgets.inspect_screen import InspectScreen
from tui.widgets.pivot_screen import PivotScreen
from tui.widgets.loss_chart import LossChart
from tui.widgets.results_table import ResultsTable
from tui.widgets.run_chart import Series
from tui.widgets.run_form import RunForm
from tui.widgets.status_line import StatusLine

MIN_WIDTH, MIN_HEIGHT = 60, 20  # below this the layout cannot show charts and table together
WIDE = 120  # from this width the form stays open beside the charts
WATCH_INTERVAL_S = 1.0  # how often the runs folder is read for runs other processes write
UI_TICK_S = 0.5  # table, status and log catch up with training at most twice a second

DeviceProbe = Callable[[], list[tuple[str, str]]]


def probe_devices() -> list[tuple[str, str]]:
    """(label, spec) for every device; imports torch, so it runs in a worker thread."""
    from core.devices import available_devices

    return [(d.label, d.spec) for d in available_devices()]


def _younger_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime < seconds
    except OSError:
        return True  # vanished meanwhile: look again next time


class MnistTui(App):
    CSS_PATH = "app.tcss"
    TITLE = "mnist-tui"
    BINDINGS = [
        # Short descriptions: the footer has to hold them all at 80 columns.
        Binding("n", "toggle_form", "New", tooltip="Open the run form"),
        Binding("escape", "close_form", "Close", tooltip="Close the run form"),
        Binding("x", "stop", "Stop", tooltip="Stop the current run after its batch"),
        Binding("c", "clear_queue", "Clear", tooltip="Drop the queued runs"),
        Binding("e", "export", "CSV", tooltip="Export the results table (what is shown) to CSV"),
        Binding("g", "cycle_view", "View", tooltip="Show all runs, or one sweep's (again: the next sweep)"),
        Binding("p", "pivot", "Pivot", tooltip="The seed's table: accuracy after each epoch, per run"),
        Binding("m", "toggle_smoothing", "Avg", tooltip="Smooth the loss curves"),
        Binding("l", "toggle_log", "Log", tooltip="Show or hide the log pane"),
        Binding("q", "quit", "Quit", tooltip="Quit (a running run is stopped and kept)"),
    ]

    _MAIN_SCREEN_ACTIONS = {"toggle_form", "close_form", "stop", "clear_queue", "export", "cycle_view", "pivot", "toggle_smoothing", "toggle_log"}

    def __init__(
        self,
        *,
        runs_dir: str | Path | None = None,
        data_dir: str | Path | None = None,
        device_probe: DeviceProbe = probe_devices,
        handle_signals: bool = False,
    ) -> None:
        super().__init__()
        self.handle_signals = handle_signals
        self.store = RunStore(resolve_runs_dir(runs_dir))
        self.data_dir = data_dir
        self.device_probe = device_probe
        self.records: dict[str, RunRecord] = {}
        self.color_index: dict[str, int] = {}
        self.hidden: set[str] = set()
        self.view_sweep: str | None = None  # None: every run; else only this sweep's
        self.queue = RunQueue()
        self.own_runs: set[str] = set()  # started by this dashboard (the others are watched)
        self._history_loaded = False
        self._dirty_runs: set[str] = set()  # runs whose row/charts/status wait for the next UI tick
        self._pending_log: list = []
        self.form_open = False
        self._quitting = False

    # ----- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="body"):
            yield RunForm(id="form")
            with Vertical(id="monitor"):
                with Horizontal(id="charts"):
                    yield LossChart(id="loss-chart")
                    yield AccuracyChart(id="accuracy-chart")
                yield ResultsTable(id="table")
                yield RichLog(id="log", max_lines=2000, wrap=False, markup=False)
        yield Static("", id="too-small")
        yield Footer(compact=True, show_command_palette=False)  # ctrl+p still opens it; 80 columns need the room

    def on_mount(self) -> None:
        self._apply_size(self.size.width, self.size.height)
        self._refresh_status()
        self.query_one("#table", ResultsTable).focus()
        self._load_devices()
        self._load_history()
        self.set_interval(UI_TICK_S, self._flush_ui)
        self.set_interval(WATCH_INTERVAL_S, self._watch_store)
        if self.handle_signals:
            self._install_signal_handlers()

    def _install_signal_handlers(self) -> None:
        """SIGHUP (the SSH connection dropped) and SIGTERM quit as `q` does: the run is kept as stopped."""
        import asyncio
        import signal

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            reason = f"{signal.Signals(signum).name} received"
            loop.add_signal_handler(signum, lambda reason=reason: self.call_later(self.action_quit, reason))

    def on_resize(self, event) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.screen.set_class(small, "-too-small")
        self.screen.set_class(width >= WIDE, "-wide")
        self.screen.set_class(height >= 36, "-tall")
        if small:
            self.query_one("#too-small", Static).update(
                f"mnist-tui needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}; this one is {width}x{height}.\n"
                "Make the window larger (training goes on meanwhile)."
            )
        self._set_form_open(self.form_open or width >= WIDE, focus=False)

    # ----- devices (torch loads in the background) ---------------------------------------
    @work(thread=True, exit_on_error=False, group="devices")
    def _load_devices(self) -> None:
        try:
            devices = self.device_probe()
        except Exception as problem:  # a broken CUDA install should not take the dashboard down
            self.call_from_thread(self.notify, f"could not list devices: {problem}", severity="error")
            devices = [("cpu", "cpu")]
        self.call_from_thread(self.query_one("#form", RunForm).set_devices, devices)

    # ----- history (the runs folder, read in a thread) ------------------------------------
    @work(thread=True, exit_on_error=False, group="history")
    def _load_history(self) -> None:
        self.post_message(HistoryLoaded(*load_records(self.store)))

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self._history_loaded = True
        fresh = {r.run_id: r for r in message.records if r.run_id not in self.records}
        self.records = {**fresh, **self.records}  # history first, then what this session started
        for run_id in self.records:
            self._color(run_id)
        for warning in message.warnings[:3]:
            self.notify(warning, severity="warning", timeout=6)
        self._refresh_runs()

    # ----- runs written by other processes (mnist-tui train under nohup or tmux) ------------
    def _watch_store(self) -> None:
        if not self._history_loaded or self._quitting:
            return
        # Only what the thread needs, copied here: the thread never touches live records.
        watched = {
            run_id: record.log_offset
            for run_id, record in self.records.items()
            if run_id not in self.own_runs and record.status in ("running", "interrupted")
        }
        self._read_foreign_runs(watched, set(self.records))

    @work(thread=True, exclusive=True, exit_on_error=False, group="watch")
    def _read_foreign_runs(self, watched: dict[str, int], known: set[str]) -> None:
        for run_id in self.store.run_ids():
            if run_id not in known:
                stored = read_run(self.store.root / run_id)
                if stored.unreadable and _younger_than(self.store.root / run_id, 10):
                    continue  # a run being created right now: its config.json is on its way
                record = RunRecord.from_stored(stored)
                self.post_message(ForeignEvents(run_id, record, [], record.log_offset, stored.live))
            elif run_id in watched:
                events, offset = self.store.read_new_events(run_id, watched[run_id])
                live = is_live(self.store.root / run_id)
                self.post_message(ForeignEvents(run_id, None, events, offset, live))

    def on_foreign_events(self, message: ForeignEvents) -> None:
        if message.record is not None:
            if message.run_id in self.records:
                return
            self.records[message.run_id] = message.record
            self._color(message.run_id)
            self._refresh_runs()
            return
        record = self.records.get(message.run_id)
        if record is None:
            return
        before = record.status
        for event in message.events:
            record.apply(event)
        record.log_offset = message.offset
        if record.status in ("running", "interrupted"):
            record.status = "running" if message.live else "interrupted"
        if record.status != before:
            self._refresh_runs()
        elif message.events:
            self._dirty_runs.add(record.run_id)

    # ----- runs ----------------------------------------------------------------------------
    def _color(self, run_id: str) -> int:
        return self.color_index.setdefault(run_id, len(self.color_index))

    def on_run_form_start_requested(self, message: RunForm.StartRequested) -> None:
        self.start_run(message.config)

    def on_run_form_sweep_requested(self, message: RunForm.SweepRequested) -> None:
        self.start_sweep(message.configs, message.devices)

    def start_run(self, config: RunConfig) -> str:
        """Queue a run; it starts at once when nothing else is training."""
        return self.start_sweep([config])[0]

    def start_sweep(self, configs: list[RunConfig], devices: list[str] | None = None) -> list[str]:
        """Queue runs; with several devices, one runs on each at a time (a device may repeat)."""
        slots = tuple(f"{device}#{i}" for i, device in enumerate(devices)) if devices and len(devices) > 1 else None
        busy = bool(self.queue.running)
        run_ids = []
        for config in configs:
            run_id = new_run_id(config)
            self.own_runs.add(run_id)
            self.records[run_id] = RunRecord(run_id, config)
            self._color(run_id)
            self.queue.add(Job(run_id, config, slots) if slots else Job(run_id, config))
            run_ids.append(run_id)
        if len(configs) > 1:
            where = f" on {', '.join(devices)}" if slots else ""
            self.notify(f"queued a sweep of {len(configs)} runs{where}", timeout=3)
        elif busy:
            self.notify(f"queued {configs[0].label} ({len(self.queue.waiting)} waiting)", timeout=3)
        self._refresh_runs()
        self._start_next()
        if self.form_open and self.size.width < WIDE:
            self._set_form_open(False)
        return run_ids

    def _start_next(self) -> None:
        if self._quitting:
            return
        for job, slot, cancel in self.queue.next_jobs():
            config = job.config.with_values(device=slot_device(slot, job.config))
            record = self.records[job.run_id]
            record.config, record.status = config, "running"
            self._train(job.run_id, config, cancel)
        self._refresh_runs()

    @work(thread=True, exit_on_error=False, group="training")
    def _train(self, run_id: str, config: RunConfig, cancel) -> None:
        from core.session import recorded_run  # imports torch, in this thread only

        for event in recorded_run(config, run_id, store=self.store, cancel=cancel, data_dir=self.data_dir):
            self.post_message(TrainingEvent(event))

    def on_training_event(self, message: TrainingEvent) -> None:
        """Fold the event into its record now; draw it at the next UI tick (cheap for the trainer)."""
        event = message.event
        record = self.records.get(event.run_id)
        if record is None:
            return
        record.apply(event)
        if isinstance(event, RunStarted):
            self._pending_log.append(Text(f"── {record.label} ({event.run_id}) ──", style=rich_color(self._color(record.run_id))))
        if (line := format_line(event)) is not None:
            self._pending_log.append(line)
        if event.kind in ("batch_logged", "epoch_ended"):
            self._dirty_runs.add(record.run_id)
            return
        self._flush_ui()
        self._refresh_runs()  # started / ended: the table's structure and the footer change
        if event.kind in END_KINDS:
            if event.kind == "run_failed":
                self.notify(f"{record.label} failed: {record.message}", severity="error", timeout=8)
            self.queue.finish(event.run_id)
            self._start_next()

    def _flush_ui(self) -> None:
        """The UI tick: at most a few times a second, whatever the event rate."""
        if self._pending_log:
            log = self.query_one("#log", RichLog)
            for line in self._pending_log:
                log.write(line)
            self._pending_log.clear()
        if self._dirty_runs:
            table = self.query_one("#table", ResultsTable)
            shown = {r.run_id for r in self.visible_records()}
            for run_id in self._dirty_runs & shown:
                table.update_run(self.records[run_id])
                self._touch_charts(run_id)
            self._dirty_runs.clear()
            self._refresh_status(bindings=False)

    # ----- drawing -------------------------------------------------------------------------
    def visible_records(self) -> list[RunRecord]:
        """The runs in view: all, or one sweep's (`g`). Table, charts, pivot and export follow it."""
        if self.view_sweep is None:
            return list(self.records.values())
        return [r for r in self.records.values() if r.config.sweep == self.view_sweep]

    def sweeps(self) -> list[str]:
        return list(dict.fromkeys(r.config.sweep for r in self.records.values() if r.config.sweep))

    def _series(self) -> list[Series]:
        return [Series(r, plot_color(self._color(r.run_id))) for r in self.visible_records() if r.run_id not in self.hidden]

    def _touch_charts(self, run_id: str) -> None:
        if run_id not in self.hidden:
            for chart in (self.query_one("#loss-chart", LossChart), self.query_one("#accuracy-chart", AccuracyChart)):
                chart.touch()

    def _refresh_runs(self) -> None:
        """Structure changed (run added, ended, hidden): rebuild table and chart series."""
        colors = {run_id: rich_color(i) for run_id, i in self.color_index.items()}
        self.query_one("#table", ResultsTable).show_runs(self.visible_records(), colors, self.hidden)
        series = self._series()
        self.query_one("#loss-chart", LossChart).show(series)
        self.query_one("#accuracy-chart", AccuracyChart).show(series)
        self._refresh_status()

    def _refresh_status(self, bindings: bool = True) -> None:
        if bindings:  # the footer recomposes: only when what can be done has changed
            self.refresh_bindings()
        current = self.records.get(self.queue.current) if self.queue.current else None
        color = rich_color(self._color(current.run_id)) if current else ""
        position = f"#{self.queue.started}"
        if current is not None and current.config.sweep:
            members = [r.run_id for r in self.records.values() if r.config.sweep == current.config.sweep]
            position = f"run {members.index(current.run_id) + 1}/{len(members)}"
        if len(self.queue.running) > 1:
            position += f" (+{len(self.queue.running) - 1} parallel)"
        note = "n: new run · enter starts it"
        shown = self.visible_records()
        done = [r for r in shown if r.best is not None]
        if done:
            top = max(done, key=lambda r: r.best)
            note = f"{len(shown)} runs · best {top.best * 100:.2f}% {top.label} · n: new run"
        if self.view_sweep:
            note = f"{self.view_sweep} · {note} · g: next"
        self.query_one("#status", StatusLine).show(current, color, position, len(self.queue.waiting), note)

    def on_results_table_visibility_toggled(self, message: ResultsTable.VisibilityToggled) -> None:
        self.hidden ^= {message.run_id}
        self._refresh_runs()

    def on_results_table_rerun_requested(self, message: ResultsTable.RerunRequested) -> None:
        record = self.records[message.run_id]
        if record.status == "unreadable":
            self.notify("this run's configuration could not be read", severity="error")
            return
        self._set_form_open(True)
        self.query_one("#form", RunForm).load_config(record.config)
        self.notify(f"loaded {record.label} into the form: change what you like, enter starts it", timeout=4)

    def on_results_table_inspect_requested(self, message: ResultsTable.InspectRequested) -> None:
        record = self.records[message.run_id]
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
                except (OSError, StoreError) as problem:
                    self.notify(f"could not delete {run_id}: {problem}", severity="error")
                    return
            self.queue.remove(run_id)
            self.records.pop(run_id, None)
            self.hidden.discard(run_id)
            self._refresh_runs()
            self.notify(f"deleted {record.label}", timeout=3)

        where = "" if record.status == "queued" else f" and its folder {self.store.root / run_id}"
        self.push_screen(ConfirmDialog(f"Delete the run {record.label}{where}?", yes="Delete"), answer)

    def get_system_commands(self, screen):
        """Every key binding is also a command in the palette (ctrl+p), with its key in the title."""
        yield from super().get_system_commands(screen)
        if screen is not self.screen_stack[0]:
            return
        table = self.query_one("#table", ResultsTable)
        for owner, bindings in ((self, self.BINDINGS), (table, ResultsTable.BINDINGS)):
            for binding in bindings:
                if binding.tooltip:
                    key = binding.key_display or binding.key
                    yield SystemCommand(f"{binding.description}: {binding.tooltip} ({key})", binding.tooltip, partial(self.run_action, binding.action, owner))

    def check_action(self, action: str, parameters) -> bool | None:
        """Keep the footer short at 80 columns: only actions that can do something now."""
        if action in self._MAIN_SCREEN_ACTIONS and self.screen is not self.screen_stack[0]:
            return False  # over a dialog or the inspect screen, the dashboard's keys rest
        if action == "close_form":
            return self.form_open
        if action == "stop":
            return bool(self.queue.running)
        if action == "clear_queue":
            return bool(self.queue.waiting)
        return True

    # ----- actions -------------------------------------------------------------------------
    def _set_form_open(self, is_open: bool, focus: bool = True) -> None:
        self.form_open = is_open
        self.refresh_bindings()
        form = self.query_one("#form", RunForm)
        form.display = is_open
        if focus and is_open:
            form.query_one("#f-lr").focus()
        elif focus and not is_open:
            self.query_one("#table", ResultsTable).focus()

    def action_toggle_form(self) -> None:
        self._set_form_open(not self.form_open or self.size.width >= WIDE)

    def action_close_form(self) -> None:
        if self.size.width < WIDE:
            self._set_form_open(False)
        else:
            self.query_one("#table", ResultsTable).focus()

    def action_stop(self) -> None:
        if self.queue.stop_running():
            self.notify("stopping after the current batch…", timeout=3)
        else:
            self.notify("nothing is training", timeout=2)

    def action_clear_queue(self) -> None:
        dropped = self.queue.clear()
        for run_id in dropped:
            self.records.pop(run_id, None)
        self.notify(f"cleared {len(dropped)} queued run(s)" if dropped else "the queue is empty", timeout=2)
        self._refresh_runs()

    def action_cycle_view(self) -> None:
        views: list[str | None] = [None, *self.sweeps()]
        self.view_sweep = views[(views.index(self.view_sweep) + 1) % len(views)] if self.view_sweep in views else None
        shown = self.visible_records()
        self.notify(f"showing {self.view_sweep or 'all runs'} ({len(shown)} runs)" if len(views) > 1 else "no sweeps yet: showing all runs", timeout=3)
        self._refresh_runs()

    def action_pivot(self) -> None:
        shown = self.visible_records()
        if not shown:
            self.notify("no runs to compare yet", timeout=2)
            return
        self.push_screen(PivotScreen(self.view_sweep or "all runs", shown))

    def action_toggle_smoothing(self) -> None:
        on = self.query_one("#loss-chart", LossChart).toggle_smoothing()
        self.notify(f"loss smoothing {'on' if on else 'off'}", timeout=2)

    def action_toggle_log(self) -> None:
        self.screen.toggle_class("-log-hidden")

    def table_records(self) -> list[RunRecord]:
        """The runs in the table's display order (sorted as the user sorted it)."""
        table = self.query_one("#table", ResultsTable)
        return [self.records[table.coordinate_to_cell_key((i, 0)).row_key.value] for i in range(table.row_count)]

    def action_export(self) -> None:
        def write(path: Path, overwrite: bool) -> Path:
            return write_csv(path, self.table_records(), overwrite=overwrite)

        def done(path: Path | None) -> None:
            if path is not None:
                self.notify(f"wrote {len(self.records)} run(s) to {path}", timeout=6)

        self.push_screen(ExportDialog(write, default_export_name()), done)

    async def action_quit(self, reason: str = "the dashboard was closed") -> None:
        """Stop the run after its current batch (recorded as stopped), then leave."""
        self._quitting = True
        self.queue.clear()
        if self.queue.stop_running(reason):
            self.notify("stopping the run after the current batch…")
            await self.workers.wait_for_complete()
        self.exit()


def create_app(
    *,
    runs_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
    device_probe: DeviceProbe = probe_devices,
    handle_signals: bool = False,
) -> MnistTui:
    """The one factory the CLI and the tests share (the CLI also asks for SIGHUP/SIGTERM handling)."""
    return MnistTui(runs_dir=runs_dir, data_dir=data_dir, device_probe=device_probe, handle_signals=handle_signals)
