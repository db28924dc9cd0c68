"""Training loss against epochs, one line per run, epoch boundaries marked."""

from __future__ import annotations

import math

from tui.widgets.run_chart import RunChart

MAX_POINTS = 1000  # a run's loss series is thinned to about this many points
SMOOTHING = 0.8  # exponential moving average weight when smoothing is on


def downsample(points: list[tuple[float, float]], limit: int = MAX_POINTS) -> list[tuple[float, float]]:
    """Every k-th point so that at most `limit` remain; the newest point is always kept."""
    if len(points) <= limit:
        return points
    stride = math.ceil(len(points) / limit)
    thinned = points[::stride]
    if thinned[-1] is not points[-1]:
        thinned = thinned[:-1] + [points[-1]]
    return thinned


def smooth(values: list[float], weight: float = SMOOTHING) -> list[float]:
    out, last = [], None
    for value in values:
        last = value if last is None else weight * last + (1 - weight) * value
        out.append(last)
    return out


class LossChart(RunChart):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.smoothing = False

    def toggle_smoothing(self) -> bool:
        self.smoothing = not self.smoothing
        self.redraw_now()
        return self.smoothing

    def draw(self, plt) -> None:
        plt.title("training loss" + (" (smoothed)" if self.smoothing else ""))
        plt.xlabel("epoch")
        last_x = 0.0
        for series in self.series:
            points = downsample(series.record.losses)
            if not points:
                continue
            xs = [x for x, _ in points]
            ys = [y for _, y in points]
            if self.smoothing:
                ys = smooth(ys)
            plt.plot(xs, ys, color=series.color, marker="braille")
            last_x = max(last_x, xs[-1])
        for boundary in range(1, math.ceil(last_x)):
            plt.vertical_line(boundary, color="gray")
        if 1 < last_x <= 20:
            plt.xticks(list(range(0, math.ceil(last_x) + 1)))
