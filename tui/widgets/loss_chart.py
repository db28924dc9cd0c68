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
        plt.xlabel("epoch")
        curves = []
        for series in self.series:
            points = downsample(series.record.losses)
            if not points:
                continue
            xs = [x for x, _ in points]
            ys = [y for _, y in points]
            if self.smoothing:
                ys = smooth(ys)
            curves.append((series, xs, ys))
        finite = [y for _, _, ys in curves for y in ys if math.isfinite(y)]
        if finite:
            lowest = min(finite)
            self.y_axis(plt, lowest, max(finite), subrows=1 if self.markers else 4, floor=0.0 if lowest >= 0 else None)
            last_x = max(xs[-1] for _, xs, _ in curves)
            plt.xlim(0, last_x)  # from epoch 0: a tick at 0 left of the data would land left of the axis
            ticks = self.x_ticks(plt, 0, last_x, whole=last_x > 1)
            spacing = round(ticks[1] - ticks[0]) if last_x > 1 and len(ticks) > 1 else 1
            for boundary in range(spacing, math.ceil(last_x), spacing):  # every epoch, or at the ticks when they are too many
                plt.vertical_line(boundary, color="gray")
        for series, xs, ys in curves:
            plt.plot(xs, ys, color=self.run_color(series.color), marker=self.run_marker(series.color, "braille"))
        if self.smoothing:
            self.title(plt, "training loss (smoothed)", "loss (smoothed)", "loss (avg)")
        else:
            self.title(plt, "training loss", "loss")
