"""Test accuracy after every epoch, one line per run, a marker on each epoch; grouped, one line
per configuration (the mean over its seeds) with a bar from the lowest to the highest run."""

from __future__ import annotations

from dataclasses import dataclass

from core.groups import RunGroup
from tui.widgets.run_chart import LegendEntry, RunChart

MIN_SPAN = 1.0  # percentage points: the least range drawn (one run's first point is not zoomed into)


@dataclass(frozen=True)
class GroupSeries:
    group: RunGroup
    color: int | str  # plotext colour (its first run's)


MAX_LEGEND = 4  # with more runs the legend would hide the curves: the table's colours serve


class AccuracyChart(RunChart):
    _drawn: tuple = ()
    groups: list[GroupSeries] | None = None  # set: draw these (mean and min-max bars) instead of runs

    def show_groups(self, groups: list[GroupSeries] | None) -> None:
        self.groups = groups
        self._drawn = ()
        self.touch()

    def touch(self) -> None:
        """Redraw only when a point was added (new batches alone do not change this chart)."""
        shown = tuple((s.record.run_id, s.color, len(s.record.accuracies)) for s in self.series)
        if self.groups is not None:
            shown = tuple((g.color, tuple(len(r.accuracies) for r in g.group.runs)) for g in self.groups)
        if shown != self._drawn:
            self._drawn = shown
            super().touch()

    def draw(self, plt) -> None:
        if self.groups is not None:
            self._draw_groups(plt)
            return
        plt.xlabel("epoch")
        curves = []
        for series in self.series:
            accuracies = series.record.accuracies
            if accuracies:
                epochs = sorted(accuracies)
                curves.append((series, epochs, [accuracies[e] * 100 for e in epochs]))
        values = [v for _, _, vs in curves for v in vs]
        if curves:
            self.y_axis(plt, min(values), max(values), floor=0.0, ceiling=100.0, min_span=MIN_SPAN)
            self.x_ticks(plt, min(e[0] for _, e, _ in curves), max(e[-1] for _, e, _ in curves), whole=True)
        for series, epochs, values in curves:
            color, marker = self.run_color(series.color), self.run_marker(series.color, "●")
            plt.plot(epochs, values, color=color, marker="dot")  # cell-sized, so the markers sit on it
            plt.scatter(epochs, values, color=color, marker=marker)
            if len(self.series) <= MAX_LEGEND:
                self.legend.append(LegendEntry(marker, color, series.record.label))
        self.title(plt, "test accuracy %", "accuracy %")

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
            self.y_axis(plt, lowest, highest, floor=0.0, ceiling=100.0, min_span=MIN_SPAN)
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
