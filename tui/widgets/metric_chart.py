"""A live chart of any metric the runs log (core.comparison.metrics), one line per run.

`[` and `]` switch the left and right chart's metric, `t` the x axis (epochs or wall time), `v`
puts a cursor on both charts whose values are listed over the canvas, and the run under the
table's cursor is drawn on top in its colour while the others are dimmed. Per-epoch metrics get
a marker on each epoch; grouped (`a`), test accuracy is one line per configuration (the mean
over its seeds) with a bar from its lowest to its highest run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.comparison import metrics
from core.comparison.groups import RunGroup
from tui.palette import dim_color
from tui.widgets.run_chart import LegendEntry, RunChart, Series

MAX_POINTS = 1000  # a run's per-batch series is thinned to at most this many points
MIN_ACCURACY_SPAN = 1.0  # percentage points: the least range drawn (one run's first point is not zoomed into)
MAX_LEGEND = 4  # with more runs the legend would hide the curves: the table's colours serve


@dataclass(frozen=True)
class GroupSeries:
    group: RunGroup
    color: int | str  # plotext colour (its first run's)


class MetricChart(RunChart):
    def __init__(self, metric_key: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.metric_key = metric_key
        self.x_axis = "epoch"
        self.smoothing = False  # per-batch metrics as a moving average
        self.groups: list[GroupSeries] | None = None  # set: test accuracy per configuration
        self.highlight: str | None = None  # run id drawn on top, the others dimmed
        self.cursor_x: float | None = None  # on the x axis, in its own units (epochs or seconds)
        self._drawn: tuple = ()
        # Each run's points of the metric and axis shown, until the run logs more: a redraw while one
        # run trains rebuilds that run's series only (the metric's or axis's switch empties it).
        self._points: dict[int, tuple[tuple, list[metrics.Point]]] = {}

    @property
    def metric(self) -> metrics.Metric:
        return metrics.metric(self.metric_key)

    # ----- what the app changes ---------------------------------------------------------------
    def set_metric(self, key: str) -> None:
        self.metric_key = key
        self._drawn, self._points = (), {}
        self.redraw_now()  # a key press: no wait for the tick

    def set_x_axis(self, axis: str) -> None:
        self.x_axis, self.cursor_x = axis, None
        self._drawn, self._points = (), {}
        self.redraw_now()

    def set_highlight(self, run_id: str | None) -> None:
        if run_id != self.highlight:
            self.highlight = run_id
            self.redraw_soon()

    def set_cursor(self, x: float | None) -> None:
        self.cursor_x = x
        self.redraw_now()  # a key press: no wait for the tick

    def show_groups(self, groups: list[GroupSeries] | None) -> None:
        self.groups = groups
        self.redraw_soon()

    def toggle_smoothing(self) -> bool:
        self.smoothing = not self.smoothing
        self.redraw_now()
        return self.smoothing

    def redraw_soon(self) -> None:
        self._drawn = ()
        self.touch()

    def touch(self) -> None:
        """Redraw only when the shown metric got a point (a new batch does not change an epoch chart)."""
        size = {"batch": lambda r: len(r.batch_points), "epoch": lambda r: len(r.accuracies), "system": lambda r: len(r.samples)}[self.metric.kind]
        shown = tuple((s.record.run_id, s.color, size(s.record)) for s in self.series)
        if self.groups is not None and self.metric_key == "test_accuracy":
            shown = tuple((g.color, tuple(len(r.accuracies) for r in g.group.runs)) for g in self.groups)
        if shown != self._drawn:
            self._drawn = shown
            super().touch()

    def show(self, series: list[Series]) -> None:
        self.series = series
        shown = {id(s.record) for s in series}
        self._points = {key: value for key, value in self._points.items() if key in shown}
        self.redraw_soon()

    # ----- what the cursor reads --------------------------------------------------------------
    def points(self, series: Series) -> list[metrics.Point]:
        return self.points_of(series.record)

    def points_of(self, record) -> list[metrics.Point]:
        """A run's points of the metric and axis shown (kept until it logs more)."""
        logged = (len(record.batch_points), len(record.accuracies), len(record.samples))
        cached = self._points.get(id(record))
        if cached is None or cached[0] != logged:
            cached = self._points[id(record)] = (logged, metrics.series(record, self.metric_key, self.x_axis))
        return cached[1]

    def cursor_stops(self) -> list[float]:
        """Every x where a shown run has a point: where `left`/`right` take the cursor."""
        return sorted({p.x for s in self.series for p in self.points(s)})

    def value_at_cursor(self, record) -> metrics.Point | None:
        """The run's point the cursor reads (None: no cursor, or the run never got there)."""
        if self.cursor_x is None:
            return None
        return metrics.value_at(self.points_of(record), self.cursor_x, metrics.span(record, self.x_axis))

    def cursor_label(self) -> str:
        """Where the cursor is, in the axis's unit: `2.8` (epochs), `42s`, `3.5m`."""
        if self.cursor_x is None:
            return ""
        if self.x_axis == "epoch":
            return f"ep{self.cursor_x:.3g}"
        scale, unit = metrics.time_unit(max((p.x for s in self.series for p in self.points(s)[-1:]), default=0.0))
        return f"{self.cursor_x / scale:.3g}{unit[0]}"

    def cursor_values(self) -> list[tuple[Series, metrics.Point]]:
        """Each shown run's value at the cursor, the highlighted run first."""
        if self.cursor_x is None:
            return []
        first = sorted(self.series, key=lambda s: s.record.run_id != self.highlight)  # then in the table's order
        read = [(s, self.value_at_cursor(s.record)) for s in first]
        return [(s, p) for s, p in read if p is not None]

    # ----- drawing ---------------------------------------------------------------------------
    def _in_drawing_order(self) -> list[Series]:
        """The highlighted run last, so that it is drawn over the others."""
        return sorted(self.series, key=lambda s: s.record.run_id == self.highlight)

    def _dimmed(self, series: Series) -> bool:
        return self.highlight is not None and series.record.run_id != self.highlight and len(self.series) > 1

    def _color(self, series: Series) -> int | str:
        return self.run_color(dim_color(series.color) if self._dimmed(series) else series.color)

    def _marker(self, series: Series, default: str) -> str:
        """Every run keeps its own marker, dimmed or not: without colour the markers are what tells
        runs apart (there the highlighted run is only drawn on top and listed first)."""
        return self.run_marker(series.color, default)

    def draw(self, plt) -> None:
        metric = self.metric
        if self.groups is not None and self.metric_key == "test_accuracy":
            self._draw_groups(plt)
            return
        curves = []
        for series in self._in_drawing_order():
            points = self.points(series)
            if metric.kind != "epoch":
                points = metrics.downsample(points, min(MAX_POINTS, 4 * max(10, self.size.width)))
            if points:
                xs, ys = [p.x for p in points], [p.value for p in points]
                if self.smoothing and metric.kind == "batch":
                    ys = metrics.smooth(ys)
                curves.append((series, xs, ys))
        scale, unit = self._x_scale(curves)
        finite = [y for _, _, ys in curves for y in ys if math.isfinite(y)]
        if finite:
            lowest = min(finite)
            floor = metric.floor if metric.floor is not None and lowest >= metric.floor else None
            span = MIN_ACCURACY_SPAN if metric.unit == "%" else 0.0
            self.y_axis(plt, lowest, max(finite), subrows=1 if self.markers or metric.kind == "epoch" else 4,
                        floor=floor, ceiling=metric.ceiling, min_span=span)
            self._x_axis(plt, metric, curves, scale)
            first_x, last_x = min(xs[0] for _, xs, _ in curves) / scale, max(xs[-1] for _, xs, _ in curves) / scale
            x = None if self.cursor_x is None else self.cursor_x / scale
            if x is not None and min(0.0, first_x) <= x <= last_x:  # outside, it would stretch the axis
                # a dotted column under the runs' points, told apart from the epochs' solid lines without colour too
                plt.plot([x, x], [self.axis.lower, self.axis.upper], marker="┊", color=self.run_color("white"))
        for series, xs, ys in curves:
            xs = [x / scale for x in xs]
            color = self._color(series)
            if metric.kind == "epoch":
                marker = self._marker(series, "●")
                plt.plot(xs, ys, color=color, marker="dot")  # cell-sized, so the markers sit on it
                plt.scatter(xs, ys, color=color, marker=marker)
            else:
                plt.plot(xs, ys, color=color, marker=self._marker(series, "braille"))
        if metric.kind == "epoch" and len(self.series) <= MAX_LEGEND:  # in the table's order
            drawn = {series.record.run_id for series, _, _ in curves}
            self.legend = [LegendEntry(self.run_marker(s.color, "●"), self._color(s), s.record.label)
                           for s in self.series if s.record.run_id in drawn]
        plt.xlabel("epoch" if self.x_axis == "epoch" else f"time since the start, {unit}")
        if self.cursor_x is not None and finite:
            self._list_cursor_values()
        smoothed = self.smoothing and metric.kind == "batch"
        if not curves:  # an empty frame says why
            none = "no run in view" if not self.series else "not logged yet"
            self.title(plt, f"{metric.title}: {none}", f"{metric.short}: {none}", metric.short)
            return
        self.title(plt, *([f"{metric.title} (smoothed)", f"{metric.short} (smoothed)", f"{metric.short} (avg)"] if smoothed
                          else [metric.title, metric.short]))

    def _x_scale(self, curves: list) -> tuple[float, str]:
        if self.x_axis == "epoch":
            return 1.0, "epoch"
        return metrics.time_unit(max((xs[-1] for _, xs, _ in curves), default=0.0))

    def _x_axis(self, plt, metric: metrics.Metric, curves: list, scale: float) -> None:
        first = min(xs[0] for _, xs, _ in curves) / scale
        last = max(xs[-1] for _, xs, _ in curves) / scale
        by_epoch = self.x_axis == "epoch"
        if metric.kind == "epoch" and by_epoch:
            self.x_ticks(plt, first, last, whole=True)
            return
        lo = min(0.0, first)  # from the start: a tick at 0 left of the data would land left of the axis
        plt.xlim(lo, max(last, lo + 1e-9))
        ticks = self.x_ticks(plt, lo, last, whole=by_epoch and last > 1)
        if by_epoch and metric.kind == "batch":
            spacing = round(ticks[1] - ticks[0]) if last > 1 and len(ticks) > 1 else 1
            for boundary in range(spacing, math.ceil(last), spacing):  # every epoch, or at the ticks when they are too many
                plt.vertical_line(boundary, color="gray")

    def _list_cursor_values(self) -> None:
        """Over the canvas, instead of the legend: each run's value at the cursor."""
        metric, read = self.metric, self.cursor_values()
        rows = self.canvas_rows
        self.legend = []
        for series, point in read[: rows if len(read) <= rows else rows - 1]:
            color = self._color(series)
            self.legend.append(LegendEntry(self.run_marker(series.color, "●"), color, series.record.label,
                                           f"{metric.format(point.value)} {metrics.where(metric, point)}"))
        if len(read) > len(self.legend):
            self.legend.append(LegendEntry(" ", "default", f"+{len(read) - len(self.legend)} more"))
        if not read:
            self.legend = [LegendEntry(" ", "default", "none here")]

    def _draw_groups(self, plt) -> None:
        plt.xlabel("epoch")
        curves = []
        for series in self.groups:
            group = series.group
            epochs = [e for e in range(1, group.last_epoch + 1) if group.accuracy(e) is not None]
            if epochs:
                curves.append((series, epochs, [group.accuracy(e) for e in epochs]))
        if curves:
            lowest = min(s.low * 100 for _, _, spreads in curves for s in spreads)
            highest = max(s.high * 100 for _, _, spreads in curves for s in spreads)
            self.y_axis(plt, lowest, highest, floor=0.0, ceiling=100.0, min_span=MIN_ACCURACY_SPAN)
            self.x_ticks(plt, min(e[0] for _, e, _ in curves), max(e[-1] for _, e, _ in curves), whole=True)
        for series, epochs, spreads in curves:
            color, marker = self.run_color(series.color), self.run_marker(series.color, "●")
            means = [s.mean * 100 for s in spreads]
            plt.plot(epochs, means, color=color, marker="dot")  # no legend: it would hide the bars; the table's dots name them
            for epoch, spread in zip(epochs, spreads):
                if spread.n > 1:  # the bar: every seed's value lies on it
                    plt.plot([epoch, epoch], [spread.low * 100, spread.high * 100], color=color, marker="│")
            plt.scatter(epochs, means, color=color, marker=marker)
        self.title(plt, "test accuracy %: mean, min-max over seeds", "accuracy %: mean, min-max over seeds",
                   "accuracy %: mean, min-max", "accuracy %: mean, range", "accuracy %")
