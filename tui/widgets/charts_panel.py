"""The charts panel: two live charts side by side and, under them, the results table and the log.

It owns the charts' keys (KEYS): `[`/`]` each chart's metric, `t` the x axis, `m` smoothing, `v` a
cursor on both charts moved with ←/→ (shift: ten points), whose values become table columns (so
the table sits in the panel, with the log under it; the table keeps its own keys, s space r d i).
The keys are declared and handled here; the dashboard screen offers them (charts_bindings), since
they must work wherever the focus is on the dashboard (the table, a select of the form beside the
charts) and Textual offers a widget's own BINDINGS only while the focus is inside that widget.

It is given the dashboard's state (tui.dashboard_state) and draws what it says: `show()` after
the runs in view changed, `touch()` after new points, `redraw_if_due()` on the UI tick.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical

from core.comparison import metrics
from core.comparison.columns import Column
from core.comparison.groups import group_runs
from tui.dashboard_state import DashboardState
from tui.palette import plot_color
from tui.widgets.log_pane import LogPane
from tui.widgets.metric_chart import GroupSeries, MetricChart
from tui.widgets.results_table import ResultsTable
from tui.widgets.run_chart import Series

LOG_INTERVAL_S = 2.0  # the log pane at most every 2 s: each write grows its height, a layout pass of the whole screen (3% of a core at 4 writes/s)


class ChartsPanel(Vertical):
    KEYS = [
        Binding("m", "toggle_smoothing", "Avg", tooltip="Smooth the per-batch curves: loss, learning rate, samples/s (moving average)", show=False),
        Binding("left_square_bracket", "next_metric('left')", "Left chart", key_display="[", tooltip="The left chart's next metric", show=False),
        Binding("right_square_bracket", "next_metric('right')", "Right chart", key_display="]", tooltip="The right chart's next metric", show=False),
        Binding("t", "toggle_x_axis", "Time", tooltip="The charts' x axis: epochs, or time since each run started", show=False),
        Binding("v", "toggle_cursor", "Values", tooltip="A cursor on the charts (←/→ move it, shift: 10 points): each run's value there"),
        # priority: over the table's own ←/→ (its column cursor), while the chart cursor is on (check_action)
        Binding("left", "move_cursor(-1)", "←", key_display="←", priority=True, show=False, tooltip="The chart cursor one point left"),
        Binding("right", "move_cursor(1)", "→", key_display="→", priority=True, show=False, tooltip="The chart cursor one point right"),
        Binding("shift+left", "move_cursor(-10)", "10←", key_display="shift+←", priority=True, show=False, tooltip="The chart cursor ten points left"),
        Binding("shift+right", "move_cursor(10)", "10→", key_display="shift+→", priority=True, show=False, tooltip="The chart cursor ten points right"),
    ]

    @classmethod
    def charts_bindings(cls, forward: str) -> list[Binding]:
        """KEYS as bindings of the screen that holds the panel, each running `forward(ACTION)` there
        (the screen hands ACTION back to the panel with `check_action` first: see DashboardScreen)."""
        return [replace(binding, action=f"{forward}({binding.action!r})") for binding in cls.KEYS]

    def __init__(self, state: DashboardState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.left_chart = MetricChart("train_loss", id="left-chart")
        self.right_chart = MetricChart("test_accuracy", id="right-chart")
        self.table = ResultsTable(id="table")
        self.log_pane = LogPane(id="log", max_lines=2000, wrap=True, markup=False)  # wrapped: a reason is read whole
        self._pending_log: list[Text] = []
        self._log_written_at = float("-inf")

    def compose(self) -> ComposeResult:
        with Horizontal(id="charts"):
            yield self.left_chart
            yield self.right_chart
        yield self.table
        yield self.log_pane

    @property
    def charts(self) -> tuple[MetricChart, MetricChart]:
        return self.left_chart, self.right_chart

    # ----- drawing what the state says --------------------------------------------------------
    def show(self) -> None:
        """The runs in view changed (run added, ended, hidden, filtered): rebuild table and series."""
        state = self.state
        colors = {run_id: state.rich_color(run_id) for run_id in state.color_index}
        self.table.show_runs(state.visible_records(), colors, state.hidden)
        series = [Series(r, plot_color(state.color(r.run_id))) for r in state.charted_records()]
        groups = self.group_series() if self.table.grouped else None
        for chart in self.charts:
            chart.show(series)
            chart.show_groups(groups)
        self.highlight_cursor_run()
        self._keep_cursor_on_a_point()

    def group_series(self) -> list[GroupSeries]:
        """The accuracy chart's groups: the runs in view that are not hidden, coloured as their first run."""
        return [GroupSeries(g, plot_color(self.state.color(g.runs[0].run_id))) for g in group_runs(self.state.charted_records())]

    def update_runs(self, run_ids: set[str]) -> None:
        """New points of these runs (all in view): their rows now, the charts at their next redraw."""
        for run_id in run_ids:
            self.table.update_run(self.state.records[run_id])
            if run_id not in self.state.hidden:
                for chart in self.charts:
                    chart.touch()

    def log(self, lines: list[Text]) -> None:
        """Lines for the log pane, written at the next UI tick that is due (flush)."""
        self._pending_log += lines

    def flush(self) -> None:
        """The UI tick: the log's lines at most every LOG_INTERVAL_S, the charts when due."""
        now = time.monotonic()
        if self._pending_log and now - self._log_written_at >= LOG_INTERVAL_S:  # one write for all the lines since
            self.log_pane.write(Text("\n").join(self._pending_log))
            self._pending_log.clear()
            self._log_written_at = now
        for chart in self.charts:
            chart.redraw_if_due()

    def on_data_table_cell_highlighted(self, event) -> None:
        """The table's cursor moved: its run goes on top in the charts (the screen hears it too)."""
        if event.data_table is self.table:
            self.highlight_cursor_run()

    def highlight_cursor_run(self) -> None:
        """The run under the table's cursor goes on top in the charts; the others dim."""
        run_id = self.table.cursor_run_id()
        for chart in self.charts:
            chart.set_highlight(run_id if run_id in {s.record.run_id for s in chart.series} else None)

    # ----- the keys ----------------------------------------------------------------------------
    def check_action(self, action: str, parameters) -> bool | None:
        if self.app.screen is not self.screen:
            return False  # a dialog on top: the dashboard's footer, seen behind it, does not offer these keys
        if action == "move_cursor":  # else the arrows go to the table (its columns) or scroll the log
            return self.cursor_on() and self.screen.focused in (None, self.table)
        return True

    def action_next_metric(self, side: str) -> None:
        """The chart's next metric that a run in view has logged (training loss, test accuracy and
        test loss always: they come with every run); a GPU metric without a GPU is skipped."""
        chart = self.left_chart if side == "left" else self.right_chart
        shown = self.state.visible_records()
        keys = [k for k in metrics.METRICS if k in metrics.ALWAYS_SHOWN or k == chart.metric_key or metrics.has_data(shown, k)]
        chart.set_metric(keys[(keys.index(chart.metric_key) + 1) % len(keys)])  # its title says which: no toast piling up
        self._keep_cursor_on_a_point()

    def action_toggle_smoothing(self) -> None:
        on = False
        for chart in self.charts:
            on = chart.toggle_smoothing()
        self.notify(f"smoothing of per-batch curves {'on' if on else 'off'}", timeout=2)

    def action_toggle_x_axis(self) -> None:
        axis = "time" if self.left_chart.x_axis == "epoch" else "epoch"
        cursor_on = self.cursor_on()
        for chart in self.charts:
            chart.set_x_axis(axis)  # the cursor's x meant the other axis:
        if cursor_on and (stops := self._cursor_stops()):
            self._set_cursor(stops[-1])  # it goes to the newest point, as `v` puts it
        self.screen.refresh_bindings()

    def action_toggle_cursor(self) -> None:
        """`v`: a cursor on the newest point; again: no cursor."""
        if self.left_chart.cursor_x is not None:
            self._set_cursor(None)
        else:
            stops = self._cursor_stops()
            if not stops:
                self.notify("no points to read yet", timeout=2)
                return
            self._set_cursor(stops[-1])
        self.screen.refresh_bindings()

    def action_move_cursor(self, steps: int) -> None:
        stops = self._cursor_stops()
        x = self.left_chart.cursor_x
        if not stops or x is None:
            return
        here = bisect.bisect_left(stops, x - 1e-9)
        if here < len(stops) and abs(stops[here] - x) > 1e-9 and steps > 0:
            here -= 1  # between two stops: the next one is the one after
        self._set_cursor(stops[max(0, min(len(stops) - 1, here + steps))])

    # ----- the chart cursor ----------------------------------------------------------------------
    def cursor_on(self) -> bool:
        return self.left_chart.cursor_x is not None

    def _cursor_stops(self) -> list[float]:
        return sorted(set(self.left_chart.cursor_stops()) | set(self.right_chart.cursor_stops()))

    def _set_cursor(self, x: float | None) -> None:
        for chart in self.charts:
            chart.set_cursor(x)
        self.table.set_cursor_columns([self._cursor_column(chart) for chart in self.charts] if x is not None else [])

    @staticmethod
    def _cursor_column(chart: MetricChart) -> Column:
        """A table column of the chart's value at its cursor for every run in view (the chart lists
        as many as it has rows for): sortable with `s` like any other."""
        metric = chart.metric

        def value(record):
            point = chart.value_at_cursor(record)
            return None if point is None else point.value

        title = f"{metric.short.removesuffix(' %')}@{chart.cursor_label()}"
        return Column(f"cursor_{chart.id}", title, value, lambda v: "" if v is None else metric.format(v), max(9, len(title)))

    def _keep_cursor_on_a_point(self) -> None:
        """After a metric switch the stops change: the cursor moves to the nearest one."""
        x = self.left_chart.cursor_x
        if x is None:
            return
        stops = self._cursor_stops()
        if stops:
            self._set_cursor(min(stops, key=lambda s: abs(s - x)))
