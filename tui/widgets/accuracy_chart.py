"""Test accuracy after every epoch, one line per run, a marker on each epoch; grouped, one line
per configuration (the mean over its seeds) with a bar from the lowest to the highest run."""

from __future__ import annotations

from dataclasses import dataclass

from core.groups import RunGroup
from tui.widgets.run_chart import RunChart


@dataclass(frozen=True)
class GroupSeries:
    group: RunGroup
    color: str  # plotext colour name (its first run's)


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
        plt.title("test accuracy %")
        plt.xlabel("epoch")
        last_epoch, lowest, highest = 0, 100.0, 0.0
        for series in self.series:
            accuracies = series.record.accuracies
            if not accuracies:
                continue
            epochs = sorted(accuracies)
            values = [accuracies[e] * 100 for e in epochs]
            label = series.record.label if len(self.series) <= MAX_LEGEND else None
            plt.plot(epochs, values, color=series.color, marker="dot", label=label)  # cell-sized, so the ● markers sit on it
            plt.scatter(epochs, values, color=series.color, marker="●")
            last_epoch = max(last_epoch, epochs[-1])
            lowest, highest = min(lowest, *values), max(highest, *values)
        self._axes(plt, last_epoch, lowest, highest)

    def _draw_groups(self, plt) -> None:
        plt.title("test accuracy %: mean, min-max over seeds")
        plt.xlabel("epoch")
        last_epoch, lowest, highest = 0, 100.0, 0.0
        for series in self.groups:
            group = series.group
            epochs = [e for e in range(1, group.last_epoch + 1) if group.accuracy(e) is not None]
            if not epochs:
                continue
            spreads = [group.accuracy(e) for e in epochs]
            means = [s.mean * 100 for s in spreads]
            plt.plot(epochs, means, color=series.color, marker="dot")  # no legend: it would hide the bars; the table's dots name them
            for epoch, spread in zip(epochs, spreads):
                if spread.n > 1:  # the bar: every seed's value lies on it
                    plt.plot([epoch, epoch], [spread.low * 100, spread.high * 100], color=series.color, marker="│")
            plt.scatter(epochs, means, color=series.color, marker="●")
            last_epoch = max(last_epoch, epochs[-1])
            lowest = min(lowest, *(s.low * 100 for s in spreads))
            highest = max(highest, *(s.high * 100 for s in spreads))
        self._axes(plt, last_epoch, lowest, highest)

    @staticmethod
    def _axes(plt, last_epoch: int, lowest: float, highest: float) -> None:
        if last_epoch:
            plt.xticks(list(range(1, last_epoch + 1)))  # no xlim: plotext then misplaces points
            margin = max(0.5, (highest - lowest) * 0.1)  # never the plotext default of ±50%
            plt.ylim(max(0.0, lowest - margin), min(100.0, highest + margin))
