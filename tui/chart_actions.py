"""What the user does to the charts: which metric each shows, the x axis, the cursor, the highlight."""

from __future__ import annotations

import bisect

from core.comparison import metrics
from core.comparison.columns import Column
from tui.widgets.metric_chart import MetricChart


class ChartActions:
    """Mixed into the App (tui.app), which provides `left_chart`, `right_chart`, `table` and `visible_records`."""

    @property
    def charts(self) -> tuple[MetricChart, MetricChart]:
        return self.left_chart, self.right_chart

    def action_next_metric(self, side: str) -> None:
        """The chart's next metric that a run in view has logged (training loss, test accuracy and
        test loss always: they come with every run); a GPU metric without a GPU is skipped."""
        chart = self.left_chart if side == "left" else self.right_chart
        shown = self.visible_records()
        keys = [k for k in metrics.METRICS if k in metrics.ALWAYS_SHOWN or k == chart.metric_key or metrics.has_data(shown, k)]
        chart.set_metric(keys[(keys.index(chart.metric_key) + 1) % len(keys)])  # its title says which: no toast piling up
        self._keep_cursor_on_a_point()

    def action_toggle_x_axis(self) -> None:
        axis = "time" if self.left_chart.x_axis == "epoch" else "epoch"
        cursor_on = self.cursor_on()
        for chart in self.charts:
            chart.set_x_axis(axis)  # the cursor's x meant the other axis:
        if cursor_on and (stops := self._cursor_stops()):
            self._set_cursor(stops[-1])  # it goes to the newest point, as `v` puts it
        self.refresh_bindings()

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
        self.refresh_bindings()

    def action_move_cursor(self, steps: int) -> None:
        stops = self._cursor_stops()
        x = self.left_chart.cursor_x
        if not stops or x is None:
            return
        here = bisect.bisect_left(stops, x - 1e-9)
        if here < len(stops) and abs(stops[here] - x) > 1e-9 and steps > 0:
            here -= 1  # between two stops: the next one is the one after
        self._set_cursor(stops[max(0, min(len(stops) - 1, here + steps))])

    def cursor_on(self) -> bool:
        return self.left_chart.cursor_x is not None

    def charts_reshown(self) -> None:
        """The runs in view changed (a filter, a sweep, a run added or gone): the highlight follows
        the table's cursor, and a chart cursor goes to the nearest point that is still there."""
        self.highlight_cursor_run()
        self._keep_cursor_on_a_point()

    def highlight_cursor_run(self) -> None:
        """The run under the table's cursor goes on top in the charts; the others dim."""
        run_id = self.table.cursor_run_id()
        for chart in self.charts:
            chart.set_highlight(run_id if run_id in {s.record.run_id for s in chart.series} else None)

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
