"""Chart axes that tell the truth on a grid of text rows: round tick values, each on its own row.

A text chart draws a value on the row whose centre is nearest to it. So the y axis here is a grid
of rows, `step` apart, whose centres are whole multiples of `step`; a tick every `every` rows is a
round value (1, 2, 2.5, 3, 4 or 5 times a power of ten) and sits exactly on a row centre, so the
label printed on a row is the value of that row. The grid uses the rows: none beyond a bound (no row
above 100%), at most one row over the data (data up to 6.3e9 is not drawn on an axis to 12e9),
then the finest step with labels preferably every other row; a flat series gets a padded range
around its value, so its float noise is drawn as the flat line it is. Labels are short: `6e9`,
`2.5e-5`. Pure arithmetic, no Textual: plotext is told `ylim(*limits())` and `yticks(ticks,
labels)` and picks nothing itself."""

from __future__ import annotations

import math
from dataclasses import dataclass

NICE = (10, 20, 50, 25, 40, 30)  # y tick steps, in tenths: 1, 2, 5, 2.5, 4 or 3 times a power of ten
X_NICE = (1, 2, 5)  # x tick steps: these times a power of ten
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

    `floor`/`ceiling` bound the axis: no row above 100% and none below 0% or a loss of 0, however
    many rows there are; `min_span` is the least range shown (accuracy: a point, not its noise).
    The rows are used: of the grids that fit, one that leaves at most one row without data is taken
    whenever there is one (on a tall plot, one row in ten), then the finest with labels preferably
    every other row (`_sparse_cost`). A tick is a round value (1, 2, 5; less gladly 2.5, 4 or 3
    times a power of ten) every `every` rows, any whole number of rows apart (a third of 20 is a row's step when no
    rounder one fills the rows), at least two of them: on a few rows, fewer and coarser labels.
    Labels have the fewest decimals that tell the ticks apart; large and small magnitudes are
    written short (`6e9`, `1e10`, `2.5e-5`, not `6000000000`)."""
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
    try:
        found = _grid(lo, hi, rows, floor, ceiling) or _grid(lo, hi, rows, None, None)  # data beyond a bound: the data wins
    except OverflowError:  # values near the float limit
        found = None
    if found is None:  # no round grid (2 rows across 0, 1e308): the data's own ends, labelled
        step = (hi - lo) / (rows - 1)
        return Axis(lo, hi, rows, step, (lo, hi), (f"{lo:.3g}", f"{hi:.3g}") if f"{lo:.3g}" != f"{hi:.3g}" else (f"{lo:.6g}", f"{hi:.6g}"))
    mantissa, exponent, every, start = found
    ticks = tuple(_value(i, mantissa, exponent, every) for i in range(start, start + rows) if i % every == 0)
    return Axis(
        lower=_value(start, mantissa, exponent, every),
        upper=_value(start + rows - 1, mantissa, exponent, every),
        rows=rows,
        step=_value(1, mantissa, exponent, every),
        ticks=ticks,
        labels=_labels(ticks, exponent + _trailing_zeros(mantissa)),
    )


def _grid(lo: float, hi: float, rows: int, floor: float | None, ceiling: float | None):
    """(mantissa, exponent, every, start) of the best grid for [lo, hi] on `rows` rows inside the
    bounds, or None. Row i stands for i * step, step = mantissa * 10**exponent / every (a tick on
    each row that is a multiple of `every`); the axis is rows start to start + rows - 1."""
    allowed = max(1, rows // 10)  # rows over the data that cost nothing
    best = None
    lowest = math.floor(math.log10((hi - lo) / rows)) - 2
    highest = math.ceil(math.log10(hi - lo))  # ticks up to 10x the span apart (NICE is in tenths)
    for exponent in range(lowest, highest + 1):
        for mantissa in NICE:
            for every in range(1, rows):
                step = _value(1, mantissa, exponent, every)
                bottom, top = math.floor(lo / step + EPS), math.ceil(hi / step - EPS)  # the axis must reach both
                if top - bottom + 1 > rows:
                    break  # finer steps (ticks more rows apart) need even more rows
                first, last = top - (rows - 1), bottom  # the starts that keep the data on the axis
                if floor is not None:
                    first = max(first, math.ceil(floor / step - EPS))
                if ceiling is not None:
                    last = min(last, math.floor(ceiling / step + EPS) - (rows - 1))
                if first > last:
                    continue
                low, high = round(lo / step), round(hi / step)  # the rows the data is drawn on
                centred = min(max(low - (rows - (high - low + 1)) // 2, first), last)  # the data in the middle

                def empty_above(start: int) -> int:  # rows over the data beyond those allowed
                    return max(0, start + rows - 1 - high - allowed)

                starts = [s for s in range(first, last + 1) if _ticks_in(s, rows, every) >= 2]
                if not starts:
                    continue
                start = min(starts, key=lambda s: (empty_above(s), abs(s - centred)))
                roundness = {10: 1.0, 20: 1.0, 50: 1.0, 40: 1.3, 30: 1.5}.get(mantissa) or (1.1 if exponent >= 0 else 1.6)  # 25, 50, 75; 0.25: a decimal more
                preference = (empty_above(start), step * _sparse_cost(every, rows) * roundness, every != 2, every)
                if best is None or preference < best[0]:
                    best = (preference, mantissa, exponent, every, start)
    return None if best is None else best[1:]


def _ticks_in(start: int, rows: int, every: int) -> int:
    """How many multiples of `every` lie in start .. start + rows - 1."""
    return (start + rows - 1) // every - (start - 1) // every


def _sparse_cost(every: int, rows: int) -> float:
    """How much coarser a step may be to have a label every other row rather than every row (a wall
    of labels on a tall plot), every third (rows a third of a round value apart) or further apart
    (fewer labels to read a value between)."""
    if every == 1:
        return 1.0 if rows < 10 else 1.35  # a tie with every 5th row: the 5th
    return {2: 1.0, 3: 1.25, 4: 1.2, 5: 1.3}.get(every, 1.4 + 0.15 * (every - 5))


def _trailing_zeros(mantissa: int) -> int:
    return len(str(mantissa)) - len(str(mantissa).rstrip("0"))


COMPACT_FROM = 6  # labels of this many characters or more are written in e-notation when that is shorter


def _labels(ticks: tuple[float, ...], unit: int) -> tuple[str, ...]:
    """Ticks that are multiples of 10**unit, with the decimals that takes; large and small
    magnitudes as `6e9`, `1e10`, `2.5e-5` when that is shorter."""
    fixed = tuple(_label(t, max(0, -unit)) for t in ticks)
    if max(len(label) for label in fixed) < COMPACT_FROM:
        return fixed
    compact = tuple(_compact(t, unit) for t in ticks)
    return compact if max(map(len, compact)) < max(map(len, fixed)) else fixed


def _compact(value: float, unit: int) -> str:
    """`value` (a multiple of 10**unit) in e-notation with the digits it needs: 6e9, 1.5e-5."""
    if value == 0:
        return "0"
    digits = max(1, math.floor(math.log10(abs(value)) + 1e-9) - unit + 1)
    mantissa, power = f"{value:.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(power)}"


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
        for mantissa in X_NICE:
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
