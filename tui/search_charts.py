"""What a search found, drawn with plotext: the same drawings print at the end of `mnist-tui search`
and fill the dashboard's study screen (textual-plotext hands its widget a plotext object).

- the objective per trial: each trial's final test accuracy (pruned ones where they stopped,
  marked x), and the best-so-far line of completed trials;
- a parameter against final accuracy (the learning rate on a log axis), pruned trials marked x.
"""

from __future__ import annotations

import math

from core.search.study import TrialRow

DONE_MARK, PRUNED_MARK = "●", "x"


def _percent(value: float) -> float:
    return value * 100


def best_so_far(rows: list[TrialRow]) -> list[tuple[int, float]]:
    """(trial number, best final accuracy among completed trials up to it), for every completed trial."""
    best, out = -math.inf, []
    for row in sorted(rows, key=lambda r: r.number):
        if row.state == "complete" and row.value is not None:
            best = max(best, row.value)
            out.append((row.number, best))
    return out


def draw_objective(plt, rows: list[TrialRow], *, color: bool = True, trial_ticks: bool = True) -> None:
    """Final test accuracy (%) per trial number; pruned trials at their last accuracy; the best so far.
    `trial_ticks`: set the axes (whole trial numbers, 0-100% at most); the dashboard's chart sets its own."""
    done = [(r.number, _percent(r.value)) for r in rows if r.state == "complete" and r.value is not None]
    pruned = [(r.number, _percent(r.last)) for r in rows if r.state == "pruned" and r.last is not None]
    line = best_so_far(rows)
    if line:  # first: the trials' marks are drawn over it (a completed trial on the line stays seen)
        plt.plot([n for n, _ in line], [_percent(v) for _, v in line], label="best so far", color="cyan" if color else None)
    if done:
        plt.scatter([n for n, _ in done], [v for _, v in done], marker=DONE_MARK, label="completed", color="green" if color else None)
    if pruned:
        plt.scatter([n for n, _ in pruned], [v for _, v in pruned], marker=PRUNED_MARK, label="pruned (where it stopped)",
                    color="magenta" if color else None)
    plt.title("test accuracy (%) per trial")
    plt.xlabel("trial")
    numbers = sorted(r.number for r in rows)
    if numbers and trial_ticks:  # whole trial numbers, at most 10 of them (plotext would label 1.2, 2.5 ...)
        step = max(1, -(-len(numbers) // 10))
        plt.xticks(numbers[::step])
        if numbers[0] == numbers[-1]:
            plt.xlim(numbers[0] - 1, numbers[0] + 1)
        ys = [v for _, v in done + pruned]
        if ys:  # the y range: never past 0-100% (plotext pads one point's axis to 127%)
            pad = max(1.0, (max(ys) - min(ys)) * 0.1)
            plt.ylim(max(0.0, min(ys) - pad), min(100.0, max(ys) + pad))


def draw_param(plt, rows: list[TrialRow], field: str, log: bool, *, color: bool = True, own_axes: bool = True) -> bool:
    """Final test accuracy (%) against one numeric parameter (log axis when `log`); False when the
    trials hold no numbers for it (a choice like the optimizer). `own_axes`: set the ranges and the
    x ticks (y 0-100% at most; the dashboard's chart sets its own). A log axis is drawn as log10 of the
    value with the values as tick labels: plotext's own log scale reverses an axis of one value and
    ignores limits."""
    points = {"complete": [], "pruned": []}
    for r in rows:
        try:
            x = float(r.params[field])
        except (KeyError, TypeError, ValueError):
            continue
        value = r.value if r.state == "complete" else r.last if r.state == "pruned" else None
        if value is not None and r.state in points and (x > 0 or not log):
            points[r.state].append((math.log10(x) if log else x, _percent(value)))
    everything = points["complete"] + points["pruned"]
    if not everything:
        return False
    for state, marker, hue, label in (("complete", DONE_MARK, "green", "completed"), ("pruned", PRUNED_MARK, "magenta", "pruned")):
        if points[state]:
            plt.scatter([x for x, _ in points[state]], [y for _, y in points[state]], marker=marker, label=label, color=hue if color else None)
    xs, ys = [x for x, _ in everything], [y for _, y in everything]
    if own_axes:
        low, high = x_range(xs, log)
        plt.xlim(low, high)
        if log:
            ticks = [low + (high - low) * k / 4 for k in range(5)]
            plt.xticks(ticks, [compact(10**tick) for tick in ticks])
        pad = max(1.0, (max(ys) - min(ys)) * 0.1)
        plt.ylim(max(0.0, min(ys) - pad), min(100.0, max(ys) + pad))
    plt.title(f"test accuracy (%) against {field}" + (" (log axis)" if log else ""))
    plt.xlabel(field)
    return True


def x_range(xs: list[float], log: bool) -> tuple[float, float]:
    """The x axis's span: the values', or around a single one (not plotext's guess)."""
    low, high = min(xs), max(xs)
    if low == high:
        low, high = low - (0.5 if log else max(abs(low) * 0.5, 1e-9)), high + (0.5 if log else max(abs(high) * 0.5, 1e-9))
    return low, high


def compact(value: float) -> str:
    """`1.5e-4`, `0.0032`, `0.1`: a tick label of two significant digits."""
    return f"{value:.2g}".replace("e-0", "e-").replace("e+0", "e+")


def chart_text(draw, width: int, height: int, *, color: bool) -> str:
    """A drawing as text for a terminal (plotext's own module; ANSI colours only when `color`)."""
    import plotext as plt

    plt.clf()
    plt.plotsize(width, height)
    if not color:
        plt.theme("clear")
    draw(plt)
    text = plt.build()
    plt.clf()
    return text
