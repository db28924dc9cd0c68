"""Chart axes that tell the truth on a grid of text rows: round tick values, each on its own row.

A text chart draws a value on the row whose centre is nearest to it. So the y axis here is a grid
of rows, `step` apart, whose centres are whole multiples of `step`; a tick every `every` rows is a
round value (1, 2 or 5 times a power of ten) and sits exactly on a row centre, so the label
printed on a row is the value of that row. The smallest step that fits the data is taken (the
most rows for the data); a flat series gets a padded range around its value, so its float noise
is drawn as the flat line it is. Pure arithmetic, no Textual: plotext is told `ylim(*limits())`
and `yticks(ticks, labels)` and picks nothing itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NICE = (1, 2, 5)  # tick steps: these times a power of ten
FLAT = 1e-6  # a range below this fraction of the values' size is a flat series
FLAT_PAD = 0.01  # a flat series is drawn within ± this fraction of its value
EPS = 1e-9  # in rows: float noise in value / step


@dataclass(frozen=True)
class Axis:
    """Rows 0 (bottom) to rows - 1 (top); row r's centre is `lower + r * step`."""

    lower: float  # the bottom row's value
    upper: float  # the top row's value
    rows: int
    step: float  # value per row
    ticks: tuple[float, ...]
    labels: tuple[str, ...]

    def limits(self, subrows: int = 1) -> tuple[float, float]:
        """plotext's ylim for markers of `subrows` dots a row (braille: 4). plotext puts the lowest
        dot row's centre on ylim's lower end and the highest's on its upper end; for one-cell
        markers that is the bottom and top rows' centres, for braille the outer dot rows', 3/8 of a
        row further out. Either way each cell row then holds the values within half a step of its
        centre, and a tick (plotext maps ticks a cell row at a time) lands on its own row."""
        pad = self.step * (subrows - 1) / (2 * subrows)
        return self.lower - pad, self.upper + pad

    def row_of(self, value: float, subrows: int = 1) -> int:
        """The cell row (0 at the bottom) plotext draws `value` on, by plotext's own formula."""
        if self.rows < 2:
            return 0
        lower, upper = self.limits(subrows)
        bins = self.rows * subrows
        return math.floor(round(0.5 + (bins - 1) * (value - lower) / (upper - lower), 8)) // subrows

    @property
    def label_width(self) -> int:
        return max((len(label) for label in self.labels), default=0)


def _value(index: int, mantissa: int, exponent: int, every: int) -> float:
    """index * (mantissa * 10**exponent / every), with one rounding (0.1 * 3 is not 0.3)."""
    if exponent >= 0:
        return index * mantissa * 10**exponent / every
    return index * mantissa / (every * 10**-exponent)


def _label(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # never "-0.0"


def row_axis(lo: float, hi: float, rows: int, *, floor: float | None = None, ceiling: float | None = None,
             min_span: float = 0.0) -> Axis:
    """The y axis for data from `lo` to `hi` on `rows` text rows.

    `floor`/`ceiling` bound the axis (no row above 100%, none below a loss of 0); `min_span` is
    the least range shown (accuracy: a point, not its noise). Ticks land on distinct rows, at least
    two of them when there are two rows (and no bound cuts them off), preferably on every other row
    (see `_sparse_cost`; never every third, whose rows would be 0.33 apart); labels have the fewest
    decimals that tell adjacent ticks apart."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"axis of non-finite values {lo}..{hi}")
    lo, hi = min(lo, hi), max(lo, hi)
    rows = max(1, rows)
    size = max(abs(lo), abs(hi))
    want = max(min_span, size * 2 * FLAT_PAD if hi - lo <= FLAT * size else 0.0, 1e-12)
    if hi - lo <= FLAT * size and size == 0:
        want = max(want, 1.0)
    if hi - lo < want:  # widen around the middle, then slide inside the bounds
        middle = (lo + hi) / 2
        lo, hi = middle - want / 2, middle + want / 2
        if floor is not None and lo < floor:
            lo, hi = floor, floor + want
        if ceiling is not None and hi > ceiling:
            lo, hi = ceiling - want, ceiling
            if floor is not None:
                lo = max(lo, floor)
    if rows == 1:
        return Axis(lo, hi, 1, hi - lo, (lo,), (_label(lo, _decimals_for(hi - lo)),))

    best, found_at = None, None
    everies = [k for k in (1, 2, 4, 5) if k <= max(1, rows // 2)]  # rows // 2: two ticks always fit; no thirds
    exponent = math.floor(math.log10((hi - lo) / rows)) - 1
    while found_at is None or exponent <= found_at + 1:  # steps of exponent + 2 are all larger
        for mantissa in NICE:
            for every in everies:
                step = _value(1, mantissa, exponent, every)
                bottom = math.floor(lo / step + EPS)
                top = math.ceil(hi / step - EPS)
                if top - bottom + 1 > rows:
                    continue
                preference = (step * _sparse_cost(every, rows), every != 2, every)
                if best is None or preference < best[0]:
                    best = (preference, mantissa, exponent, every, bottom, top)
                found_at = exponent if found_at is None else found_at
        exponent += 1
    assert best is not None, (lo, hi, rows)
    _, mantissa, exponent, every, bottom, top = best
    step = _value(1, mantissa, exponent, every)

    spare = rows - (top - bottom + 1)
    start = bottom - spare // 2  # the data in the middle
    if ceiling is not None:
        start = min(start, math.floor(ceiling / step + EPS) - (rows - 1))
    if floor is not None:
        start = max(start, math.ceil(floor / step - EPS))
    start = min(max(start, top - (rows - 1)), bottom)  # whatever the bounds, the data stays on the grid

    decimals = max(0, -exponent)
    indices = [i for i in range(start, start + rows) if i % every == 0]
    ticks = tuple(t for t in (_value(i, mantissa, exponent, every) for i in indices)
                  if (floor is None or t >= floor) and (ceiling is None or t <= ceiling))  # no 120%: rows past a bound stay blank
    return Axis(
        lower=_value(start, mantissa, exponent, every),
        upper=_value(start + rows - 1, mantissa, exponent, every),
        rows=rows,
        step=step,
        ticks=ticks,
        labels=tuple(_label(t, decimals) for t in ticks),
    )


def _sparse_cost(every: int, rows: int) -> float:
    """How much coarser a step may be to have a label every other row rather than every row (a wall
    of labels on a tall plot) or every 4th or 5th (too few to read a value between)."""
    if every == 1:
        return 1.0 if rows < 10 else 1.3
    return {2: 1.0, 4: 1.2, 5: 1.3}[every]


def _decimals_for(step: float) -> int:
    return max(0, -math.floor(math.log10(step))) if step > 0 else 0


def spaced_ticks(lo: float, hi: float, columns: int, *, whole: bool = False) -> tuple[list[float], list[str]]:
    """Round x ticks from `lo` to `hi` across `columns` text columns, at least one blank column
    between neighbouring labels (plotext would drop a label that does not fit). `whole`: integer
    steps only (epochs)."""
    if hi <= lo or columns < 2:
        return [lo], [f"{lo:g}"]
    per_unit = (columns - 1) / (hi - lo)
    exponent = math.floor(math.log10(hi - lo)) - 2
    if whole:
        exponent = max(exponent, 0)
    while True:
        for mantissa in NICE:
            step = _value(1, mantissa, exponent, 1)
            decimals = max(0, -exponent)
            first, last = math.ceil(lo / step - EPS), math.floor(hi / step + EPS)
            values = [_value(i, mantissa, exponent, 1) for i in range(first, last + 1)]
            labels = [_label(v, decimals) for v in values]
            if not values:  # no round value in between: larger steps have none either
                return [lo], [f"{lo:g}"]
            if len(values) == 1 or step * per_unit >= max(len(label) for label in labels) + 2:
                return values, labels
        exponent += 1
