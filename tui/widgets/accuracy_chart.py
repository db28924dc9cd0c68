"""Test accuracy after every epoch, one line per run, a marker on each epoch."""

from __future__ import annotations

from tui.widgets.run_chart import RunChart


MAX_LEGEND = 4  # with more runs the legend would hide the curves: the table's colours serve


class AccuracyChart(RunChart):
    _drawn: tuple = ()

    def touch(self) -> None:
        """Redraw only when a point was added (new batches alone do not change this chart)."""
        shown = tuple((s.record.run_id, s.color, len(s.record.accuracies)) for s in self.series)
        if shown != self._drawn:
            self._drawn = shown
            super().touch()

    def draw(self, plt) -> None:
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
        if last_epoch:
            plt.xticks(list(range(1, last_epoch + 1)))  # no xlim: plotext then misplaces points
            margin = max(0.5, (highest - lowest) * 0.1)  # never the plotext default of ±50%
            plt.ylim(max(0.0, lowest - margin), min(100.0, highest + margin))
