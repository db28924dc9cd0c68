"""The base of both live charts: a plotext plot that redraws at most a few times a second."""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual_plotext import PlotextPlot

from core.results import RunRecord

REDRAW_INTERVAL_S = 0.5  # at most 2 redraws a second, however fast events arrive


@dataclass(frozen=True)
class Series:
    record: RunRecord
    color: str  # plotext colour name


class RunChart(PlotextPlot):
    """Subclasses draw `self.series` in `draw()`; callers say `show(series)` or `touch()`, and the
    app's UI tick calls `redraw_if_due()` (no timer of its own: fewer wake-ups beside training)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.series: list[Series] = []
        self._dirty = True
        self._drawn_at = float("-inf")

    def on_mount(self) -> None:
        """Axes and titles in the first frame, not a tick later (Textual also runs PlotextPlot's on_mount)."""
        self.redraw_now()

    def redraw_if_due(self) -> None:
        if self._dirty and time.monotonic() - self._drawn_at >= REDRAW_INTERVAL_S:
            self._redraw_if_dirty()

    def show(self, series: list[Series]) -> None:
        self.series = series
        self.touch()

    def touch(self) -> None:
        """Data changed: redraw at the next tick (coalescing everything that came in between)."""
        self._dirty = True

    def redraw_now(self) -> None:
        self._dirty = True
        self._redraw_if_dirty()

    def _redraw_if_dirty(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self._drawn_at = time.monotonic()
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self.draw(plt)
        self.refresh()

    def draw(self, plt) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
