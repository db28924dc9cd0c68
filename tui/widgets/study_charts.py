"""The study screen's two charts (tui.widgets.study_screen): accuracy per trial with the best so
far, and accuracy against one numeric parameter, drawn by tui.search_charts on RunChart's axes,
ticks and legend (the legend in the corner that hides the fewest points)."""

from __future__ import annotations

import math

from core.search.study import TrialRow
from tui.palette import NO_COLOR
from tui.search_charts import compact, draw_objective, draw_param, x_range
from tui.widgets.run_chart import LegendEntry, RunChart

def _accuracies(rows: list[TrialRow], field: str | None = None) -> list[float]:
    """The percentages a chart draws: completed trials' final, pruned ones' last (with `field`: only
    trials with a number for it)."""
    out = []
    for r in rows:
        value = r.value if r.state == "complete" else r.last if r.state == "pruned" else None
        if value is None:
            continue
        if field is not None:
            try:
                float(r.params[field])
            except (KeyError, TypeError, ValueError):
                continue
        out.append(value * 100)
    return out


LEGEND_NAMES = {"pruned (where it stopped)": "pruned"}  # short: a narrow legend hides fewer points
# search_charts' ANSI names as xterm-256 colours of tui.palette (Textual paints ANSI magenta as its red, at a contrast of 4.0)
XTERM = {"green": 113, "magenta": 212, "cyan": 81}
LINE_MARK = "▀"  # the legend's mark for a line (plotext's default line marker draws half blocks)


class _Unlabelled:
    """plotext without its own legend (always top left, where the best trials are): the labels
    become RunChart's legend, drawn in the corner that hides the fewest points."""

    def __init__(self, plt, chart: RunChart) -> None:
        self._plt, self._chart = plt, chart

    def __getattr__(self, name: str):
        attr = getattr(self._plt, name)
        if name not in ("scatter", "plot"):
            return attr

        def draw(*args, label: str | None = None, **kwargs):
            # Without a colour, the foreground's (plotext's own choice turns a grey near the background under NO_COLOR).
            color = kwargs.get("color")
            kwargs["color"] = self._chart.run_color(XTERM.get(color, color) if color else NO_COLOR)
            if label:
                self._chart.legend.append(LegendEntry(kwargs.get("marker") or LINE_MARK, kwargs["color"], LEGEND_NAMES.get(label, label)))
            return attr(*args, **kwargs)

        return draw


class ObjectiveChart(RunChart):
    """Final test accuracy per trial (pruned: where it stopped), and the best so far."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[TrialRow] = []  # redrawn when the summary changes (redraw_now), not by a tick

    def draw(self, plt) -> None:
        ys = _accuracies(self.rows)
        if not ys:
            plt.title("accuracy per trial: none reported yet")
            return
        self.y_axis(plt, min(ys), max(ys), subrows=1, floor=0.0, ceiling=100.0)
        numbers = [r.number for r in self.rows]
        lo, hi = min(numbers), max(numbers)
        plt.xlim(lo - 0.5, hi + 0.5) if lo == hi else plt.xlim(lo, hi)
        self.x_ticks(plt, lo, hi, whole=True)
        draw_objective(_Unlabelled(plt, self), self.rows, color=not self.markers, trial_ticks=False)
        self.title(plt, "test accuracy (%) per trial", "accuracy (%) per trial", "accuracy per trial")


class ParamChart(RunChart):
    """Final test accuracy against one numeric parameter (a log axis for a log range), pruned marked x."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[TrialRow] = []
        self.field: str | None = None
        self.log_axis = False

    def draw(self, plt) -> None:
        if self.field is None:
            plt.title("no numeric parameter varies")
            return
        ys = _accuracies(self.rows, self.field)
        if not ys:
            plt.title(f"accuracy against {self.field}: none yet")
            return
        self.y_axis(plt, min(ys), max(ys), subrows=1, floor=0.0, ceiling=100.0)
        xs = [float(r.params[self.field]) for r in self.rows if self.field in r.params and _number(r.params[self.field])]
        xs = [math.log10(x) for x in xs if x > 0] if self.log_axis else xs  # draw_param draws a log axis as log10
        if xs:
            low, high = x_range(xs, self.log_axis)
            plt.xlim(low, high)
            if self.log_axis:  # labels up to 7 cells (0.00032): as many as fit with room, or plotext drops some, unpredictably
                count = max(2, min(5, self.canvas_columns() // 10))
                ticks = [low + (high - low) * k / (count - 1) for k in range(count)]
                plt.xticks(ticks, [compact(10**t) for t in ticks])
            else:
                self.x_ticks(plt, low, high, whole=False)
        draw_param(_Unlabelled(plt, self), self.rows, self.field, self.log_axis, color=not self.markers, own_axes=False)
        scale = " (log axis)" if self.log_axis else ""
        self.title(plt, f"test accuracy (%) against {self.field}{scale}", f"accuracy against {self.field}{scale}",
                   f"accuracy vs {self.field}")


def _number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False
