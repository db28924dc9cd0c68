"""The base of the live charts: a plotext plot that redraws at most a few times a second.

plotext picks neither ticks nor legend here. The y ticks come from core.comparison.ticks: round values on a
grid of the plot's own rows, each label on the row of its value (plotext's own ticks drop labels
when there are more than rows, and every label below a dropped one then sits a row off). The
legend is drawn over plotext's picture by cell width, so names with wide characters (CJK, emoji)
or combining accents keep the frame in line. Without colour (NO_COLOR, 16 colours or none) each
run also has a marker of its own (tui.palette).
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text
from textual_plotext import PlotextPlot

from core.runstore.results import RunRecord
from core.comparison.ticks import Axis, row_axis, spaced_ticks
from tui.palette import NO_COLOR, marker_of, needs_markers

REDRAW_INTERVAL_S = 2.0  # at most one redraw every 2 s, however fast events arrive (each costs ~0.7% of a core a second: plotext, ANSI parsing, paint); keys redraw at once
# What plotext puts around the canvas: title, top and bottom frame, x tick labels, x label (rows);
# the frame's two sides (columns, besides the y labels).
FRAME_ROWS, FRAME_COLUMNS, CANVAS_TOP = 5, 2, 2


@dataclass(frozen=True)
class Series:
    record: RunRecord
    color: int | str  # plotext colour (tui.palette)


@dataclass(frozen=True)
class LegendEntry:
    marker: str
    color: int | str
    name: str
    detail: str = ""  # after the name, never cut (a value read at the cursor)


def legend_name(name: str, cells: int) -> str:
    """`name` in exactly `cells` terminal cells: cut with … by cell width (a CJK character or an
    emoji is two cells, a combining accent none), padded with spaces; control characters shown as ?."""
    name = "".join("?" if unicodedata.category(c) == "Cc" else c for c in name)
    if cell_len(name) > cells:
        name = set_cell_size(name, cells - 1).rstrip() + "…"
    return set_cell_size(name, cells)


class RunChart(PlotextPlot):
    """Subclasses draw `self.series` in `draw()`; callers say `show(series)` or `touch()`, and the
    app's UI tick calls `redraw_if_due()` (no timer of its own: fewer wake-ups beside training)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.series: list[Series] = []
        self._dirty = True
        self._drawn_at = float("-inf")
        self._drawn_size: tuple[int, int] | None = None
        self.axis: Axis | None = None  # the y axis last drawn (None: no data)
        self.legend: list[LegendEntry] = []  # drawn over the canvas's top left corner
        self.markers = False  # runs differ by marker too (no colour to tell them apart)

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
        self._rebuild()
        self.refresh()

    def _rebuild(self) -> None:
        self._drawn_size = (self.size.width, self.size.height)
        self.markers = needs_markers(self.app)
        self.axis, self.legend = None, []
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self.draw(plt)

    def render(self):
        if self._drawn_size != (self.size.width, self.size.height):  # ticks and legend fit the size
            self._rebuild()
        picture = super().render()
        return self._with_legend(picture) if self.legend else picture

    def draw(self, plt) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # ----- for subclasses --------------------------------------------------------------------
    @property
    def canvas_rows(self) -> int:
        return max(1, self.size.height - FRAME_ROWS)

    def canvas_columns(self) -> int:
        """The canvas's width once the y labels are known (after `y_axis`)."""
        labels = self.axis.label_width if self.axis else 0
        return max(1, self.size.width - FRAME_COLUMNS - labels)

    def run_color(self, color: int | str) -> int | str:
        """Under NO_COLOR every run is drawn in the foreground colour (Textual's greys would put
        some near the background); the markers tell them apart."""
        return NO_COLOR if self.markers and self.app.no_color else color

    def run_marker(self, color: int | str, default: str) -> str:
        return marker_of(color) if self.markers else default

    def y_axis(self, plt, lo: float, hi: float, *, subrows: int = 1, **bounds) -> Axis:
        """Round ticks on the plot's rows (core.comparison.ticks), told to plotext so it picks none itself.
        `subrows`: dot rows per cell row of the markers drawn (braille 4, one-cell markers 1)."""
        self.axis = row_axis(lo, hi, self.canvas_rows, **bounds)
        if self.axis.rows > 1:
            plt.ylim(*self.axis.limits(subrows))
        plt.yticks(list(self.axis.ticks), list(self.axis.labels))
        return self.axis

    def x_ticks(self, plt, lo: float, hi: float, *, whole: bool) -> list[float]:
        """Round x ticks, spaced so that plotext drops none (after `y_axis`: the labels' width counts)."""
        ticks, labels = spaced_ticks(lo, hi, self.canvas_columns(), whole=whole)
        plt.xticks(ticks, labels)
        return ticks

    def title(self, plt, *titles: str) -> None:
        """The first title that fits centred over the canvas (plotext leaves out one that does not)."""
        left = (self.axis.label_width if self.axis else 0) + 1  # where the canvas starts
        columns = self.canvas_columns()

        def fits(title: str) -> bool:  # plotext's test: centred on the canvas, inside the plot
            return len(title) // 2 <= left + columns // 2 and len(title) - len(title) // 2 <= columns - columns // 2 + 1

        plt.title(next((t for t in titles if fits(t)), titles[-1]))

    def _with_legend(self, picture: Text) -> Text:
        """The legend over the canvas, one run a row: ` ● name `, names cut by cell width (plotext's
        own legend counts characters, not cells: a wide name pushed the frame out of line). It goes
        in the corner where it hides the fewest points (accuracy rises to the top right, where
        plotext's top-left legend hid the final points of flat runs) and takes at most 2/3 of the width."""
        lines = picture.split("\n", allow_blank=True)
        left = (self.axis.label_width if self.axis else 0) + 1
        columns, rows = self.canvas_columns(), self.canvas_rows
        shown = self.legend[:rows]
        if not shown or len(lines) < CANVAS_TOP + rows or columns < 8:
            return picture
        detail = max(cell_len(e.detail) for e in shown)
        detail += bool(detail)  # a space before it
        widest = columns - 4 if detail else max(4, columns * 2 // 3 - 4)  # values are what the user asked to read
        cells = max(1, min(columns - 4 - detail, widest, max(cell_len(e.name) for e in shown)))
        width = cells + detail + 4  # " ● " before a name, a space after
        canvas = [line.plain[left: left + columns] for line in lines[CANVAS_TOP: CANVAS_TOP + rows]]

        def hidden(corner: tuple[int, int]) -> int:
            top, start = corner
            return sum(ch not in " │" for line in canvas[top: top + len(shown)] for ch in line[start: start + width])

        corners = [(0, 0), (rows - len(shown), columns - width), (0, columns - width), (rows - len(shown), 0)]
        top, start = min(corners, key=hidden)  # ties: the first (top left, as plotext)
        console = self.app.console
        for row, entry in enumerate(shown, start=CANVAS_TOP + top):
            line, at = lines[row], left + start
            under = line.get_style_at_offset(console, at)
            ground = Style(bgcolor=under.bgcolor) if under.bgcolor else Style()
            color = f"color({entry.color})" if isinstance(entry.color, int) else entry.color
            value = f" {entry.detail:>{detail - 1}}" if detail else ""
            patch = Text.assemble((" ", ground), (entry.marker, ground + Style(color=color)),
                                  (" " + legend_name(entry.name, cells) + value + " ", ground))
            lines[row] = line[:at] + patch + line[at + width:]
        return Text("\n").join(lines)
