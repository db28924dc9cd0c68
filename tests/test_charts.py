"""The charts: long runs are thinned, smoothing is a moving average, status maths; and the charts
tell the truth: every y label sits on the row of the values drawn there, a flat series is flat,
wide names keep the frame, and without colour every run has a marker of its own.

The chart tests render the real widgets at their size in the 80x24 dashboard (40x11 each) and read
the picture back: a point's row, the label printed on that row (or between the labelled rows
around it), within half a row's step of the value the point stands for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from hypothesis import given, settings, strategies as st
from rich.cells import cell_len
from rich.color import Color as RichColor
from textual.app import App
from textual.color import Color
from textual.containers import Horizontal

from core.config import RunConfig
from core.events import BatchLogged
from core.runstore.results import RunRecord
from core.comparison.ticks import row_axis
from tui import palette
from tui.palette import MARKERS, PALETTE, needs_markers, plot_color, rich_color
from core.comparison.metrics import downsample, smooth
from core.runstore.results import BatchPoint
from tui.widgets.metric_chart import MAX_POINTS, GroupSeries, MetricChart
from tui.widgets.run_chart import Series, legend_name
from tui.widgets.status_line import clock, eta_seconds, progress_bar


def test_a_long_series_is_thinned_to_about_a_thousand_points_keeping_the_newest():
    points = [(i / 938, 2.0 / (1 + i)) for i in range(938 * 50)]  # 50 epochs, a point per batch
    thinned = downsample(points, MAX_POINTS)
    assert len(thinned) <= MAX_POINTS + 1 and thinned[0] == points[0] and thinned[-1] == points[-1]
    assert downsample(points[:500], MAX_POINTS) == points[:500]


def test_smoothing_is_an_exponential_moving_average():
    assert smooth([1.0, 0.0, 0.0], weight=0.5) == [1.0, 0.5, 0.25]


def test_eta_and_progress():
    record = RunRecord("r", RunConfig(epochs=2, batch_size=64))
    record.batches_per_epoch = 100
    record.last_batch = BatchLogged("r", 1, 50, 50, 0.5, 6400.0, 5.0, 0.01)  # 100 batches/s
    assert eta_seconds(record) == 1.5  # 150 batches left
    assert progress_bar(0.5, 8) == "████░░░░" and clock(3725) == "1:02:05" and clock(62) == "1:02"


# ----- the y axis: round ticks on the rows (core.comparison.ticks) --------------------------------------
@settings(max_examples=300, deadline=None)
@given(
    lo=st.floats(0, 1e4, allow_nan=False),
    span=st.one_of(st.just(0.0), st.floats(1e-9, 1e3)),
    rows=st.integers(2, 40),
    subrows=st.sampled_from([1, 4]),
    where=st.lists(st.floats(0, 1), min_size=1, max_size=8),
)
def test_ticks_are_round_values_each_on_the_row_of_its_value(lo, span, rows, subrows, where):
    hi = lo + span
    axis = row_axis(lo, hi, rows, floor=0.0)
    slack = axis.step * 1e-6  # float noise, far below plotext's rounding
    assert axis.lower <= lo + slack and axis.upper >= hi - slack and axis.lower >= 0
    assert len(axis.ticks) >= 2 and list(axis.ticks) == sorted(set(axis.ticks))
    tick_rows = [axis.row_of(t, subrows) for t in axis.ticks]
    assert tick_rows == [round((t - axis.lower) / axis.step) for t in axis.ticks]  # on the row of its value
    assert len(set(tick_rows)) == len(tick_rows) and all(0 <= r < rows for r in tick_rows)  # none shares a row
    assert len(set(axis.labels)) == len(axis.labels)
    for tick, label in zip(axis.ticks, axis.labels):
        assert math.isclose(float(label), tick, rel_tol=1e-9, abs_tol=1e-12)  # the label is the value
    if "." in axis.labels[0] and "e" not in axis.labels[0]:  # the fewest decimals: the last one is needed somewhere
        assert any(not label.endswith("0") for label in axis.labels)
    step = float(axis.labels[1]) - float(axis.labels[0])  # 1, 2, 2.5, 3, 4 or 5 times a power of ten
    assert f"{step / 10 ** math.floor(math.log10(step) + 1e-9):.6f}" in ("1.000000", "2.000000", "2.500000", "3.000000", "4.000000", "5.000000")
    for fraction in where:  # any value drawn lies within half a step of its row's value
        value = lo + fraction * span
        row = axis.row_of(value, subrows)
        assert 0 <= row < rows
        assert abs(axis.lower + row * axis.step - value) <= axis.step / 2 * (1 + 1e-6)


def test_a_flat_series_gets_a_padded_range_and_short_labels():
    noise = [2.3008666 + 1e-7 * math.sin(i) for i in range(50)]
    axis = row_axis(min(noise), max(noise), 6, floor=0.0)
    assert len({axis.row_of(v, 4) for v in noise}) == 1  # one row: a flat line, not a V
    assert max(len(label) for label in axis.labels) <= 4 and "2.30" in axis.labels
    assert row_axis(0.0, 0.0, 6, floor=0.0).labels[0] == "0.0"  # zero: a range around it too
    assert row_axis(95.5, 95.5, 6, floor=0, ceiling=100, min_span=1.0).step >= 0.2  # a point is not zoomed into


def test_bounds_keep_the_axis_inside_them():
    axis = row_axis(99.2, 100.0, 6, floor=0, ceiling=100, min_span=1.0)
    assert axis.upper == 100.0 and axis.labels[-1] in ("100", "100.0")
    axis = row_axis(0.01, 0.3, 6, floor=0.0)
    assert axis.lower >= 0.0 and axis.labels[0] in ("0.0", "0", "0.00")
    axis = row_axis(20.04, 100.0, 16, floor=0, ceiling=100, min_span=1.0)  # more rows than 10-point steps fill
    assert axis.upper == 100 and axis.lower >= 0 and axis.labels == ("25", "50", "75", "100")  # no row past 100%


@settings(max_examples=300, deadline=None)
@given(lo=st.floats(0, 100), span=st.floats(0, 100), rows=st.integers(2, 40))
def test_accuracy_is_never_drawn_above_100_or_below_0_whatever_the_rows(lo, span, rows):
    """Any accuracies on any number of rows: every row lies within 0-100%, with at least two labels."""
    hi = min(100.0, lo + span)
    axis = row_axis(lo, hi, rows, floor=0.0, ceiling=100.0, min_span=1.0)
    assert axis.lower >= -1e-9 and axis.upper <= 100 + 1e-9, axis
    assert len(axis.ticks) >= 2 and 0 <= min(axis.ticks) and max(axis.ticks) <= 100
    assert axis.lower <= lo + 1e-9 and axis.upper >= hi - 1e-9


@pytest.mark.parametrize("rows", range(2, 18))
@pytest.mark.parametrize("lo, hi", [(28.6, 74.4), (88.31, 100.0), (20.04, 100.0), (9.8, 99.0), (97.02, 99.12)])
def test_accuracy_rows_are_used(lo, hi, rows):
    """The issue's runs on every height from 2 rows (80x24 with a two-line status line: 4) to 17
    (120x40): within 0-100%, at most one row over the highest accuracy."""
    axis = row_axis(lo, hi, rows, floor=0.0, ceiling=100.0, min_span=1.0)
    assert 0 <= axis.lower and axis.upper <= 100 and len(axis.ticks) >= 2
    assert rows - 1 - axis.row_of(hi) <= 1, axis


@pytest.mark.parametrize("rows", [3, 4, 6, 8, 11, 15, 17])
def test_huge_losses_fill_the_rows_with_short_labels(rows):
    """A diverging run (loss up to 6.3e9): at most one empty row above it, labels like 6e9 and 1e10."""
    axis = row_axis(0.31, 6.3e9, rows, floor=0.0)
    assert rows - 1 - axis.row_of(6.3e9) <= 1, axis
    assert axis.label_width <= 5 and all("e" in label for label in axis.labels if label != "0"), axis.labels


@pytest.mark.parametrize("lo, hi, rows", [(-5.0, 3.0, 2), (0.0, 1.7e308, 6), (0.0, 1e300, 6), (-1e-3, 1e-3, 2)])
def test_an_axis_with_no_round_grid_still_draws(lo, hi, rows):
    """Two rows across zero, values near the float limit: the data's ends, labelled, and no error."""
    axis = row_axis(lo, hi, rows)
    assert axis.lower <= lo and axis.upper >= hi and len(axis.ticks) >= 2 and axis.label_width <= 8, axis


def test_tiny_losses_have_short_labels():
    axis = row_axis(1.2e-5, 2.6e-5, 6, floor=0.0)
    assert axis.label_width <= 6 and any("e-5" in label for label in axis.labels), axis.labels
    for tick, label in zip(axis.ticks, axis.labels):
        assert math.isclose(float(label), tick, rel_tol=1e-9)


# ----- reading a rendered chart ------------------------------------------------------------------
BRAILLE = {chr(c) for c in range(0x2801, 0x2900)}


def cells(line: str) -> list[str]:
    """A line as its terminal cells: a wide character then an empty cell; a combining one joins the previous."""
    out: list[str] = []
    for ch in line:
        width = cell_len(ch)
        if width == 0 and out:
            out[-1] += ch
        else:
            out.append(ch)
            out.extend([""] * (width - 1))
    return out


@dataclass
class Picture:
    lines: list[str]

    @property
    def top(self) -> int:
        return next(i for i, line in enumerate(self.lines) if "┌" in line)

    @property
    def bottom(self) -> int:
        return next(i for i, line in enumerate(self.lines) if "└" in line)

    @property
    def left(self) -> int:
        """The column of the y axis."""
        return cells(self.lines[self.top]).index("┌")

    @property
    def canvas(self) -> list[list[str]]:
        return [cells(line) for line in self.lines[self.top + 1: self.bottom]]

    @property
    def labels(self) -> dict[int, str]:
        """Row (from the top of the canvas) -> the y label printed on it."""
        return {r: "".join(row[: self.left]).strip() for r, row in enumerate(self.canvas) if "".join(row[: self.left]).strip()}

    def value_of_row(self, row: int) -> tuple[float, float]:
        """What a row stands for, read as a user reads it: its label, or between the labelled rows
        around it (beyond the outermost, from the nearest two); and half a row's step."""
        marks = sorted((r, float(v)) for r, v in self.labels.items())
        assert len(marks) >= 2, self.text
        (r0, v0), (r1, v1) = next(((a, b) for a, b in zip(marks, marks[1:]) if a[0] <= row <= b[0]),
                                  marks[:2] if row < marks[0][0] else marks[-2:])
        per_row = (v1 - v0) / (r1 - r0)
        return v0 + (row - r0) * per_row, abs(per_row) / 2

    def tick_columns(self) -> list[int]:
        """The x ticks' columns (and the epoch lines'), from the bottom frame."""
        return [c for c, ch in enumerate(cells(self.lines[self.bottom])) if ch in "┬┴"]

    def rows_at(self, column: int, chars) -> list[int]:
        return [r for r, row in enumerate(self.canvas) if column < len(row) and row[column] in chars]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def assert_reads(self, row: int, value: float, what: str = "") -> None:
        read, half_step = self.value_of_row(row)
        assert abs(read - value) <= half_step + 1e-9, f"{what}: {value} drawn on a row that reads {read} (±{half_step})\n{self.text}"


def record(name: str, accuracies=(), losses=()) -> RunRecord:
    run = RunRecord(name, RunConfig(name=name))
    run.accuracies = {epoch: a / 100 for epoch, a in enumerate(accuracies, start=1)}
    run.losses = list(losses)
    run.batch_points = [BatchPoint(x, x * 60, round(x * 100), loss, 0.01, 1000.0) for x, loss in losses]
    return run


class Charts(App):
    """Both charts side by side, as tall as in the 80x24 dashboard (11 rows, 40 columns each)."""

    CSS = "#charts { height: 11; }"

    def __init__(self, records: list[RunRecord], height: int = 11) -> None:
        super().__init__()
        self.records = records
        self.CSS = f"#charts {{ height: {height}; }}"

    def compose(self):
        with Horizontal(id="charts"):
            yield MetricChart("train_loss", id="loss")
            yield MetricChart("test_accuracy", id="accuracy")

    def on_mount(self) -> None:
        series = [Series(r, plot_color(i)) for i, r in enumerate(self.records)]
        for chart in self.query(MetricChart):
            chart.show(series)
            chart.redraw_now()


async def pictures(records, *, size=(80, 24), smoothing=False) -> tuple[Picture, Picture, Charts]:
    app = Charts(records)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        loss = app.query_one("#loss", MetricChart)
        if smoothing:
            loss.toggle_smoothing()
        await pilot.pause()
        assert loss.size == (40, 11) or size != (80, 24)
        out = tuple(Picture(chart.render().plain.split("\n")) for chart in (loss, app.query_one("#accuracy", MetricChart)))
        app.drawn = {"loss": loss.axis, "accuracy": app.query_one("#accuracy", MetricChart).axis}
    return out[0], out[1], app


def assert_labels_are_the_axis(picture: Picture, axis) -> None:
    """No label dropped, none a row off: each of the axis's ticks printed on its own row."""
    rows = len(picture.canvas)
    assert {rows - 1 - axis.row_of(t): label for t, label in zip(axis.ticks, axis.labels)} == picture.labels, picture.text


# ----- accuracy: a marker on each epoch ---------------------------------------------------------
ACCURACY_SERIES = {
    "finished at 95.50": [91.02, 93.37, 94.61, 95.08, 95.50],
    "rising": [88.31, 93.62, 95.10, 95.87, 96.40],
    "steady": [98.20] * 5,
    "near 100": [99.02, 99.31, 99.55, 99.81, 100.0],
}


@pytest.mark.parametrize("name", ACCURACY_SERIES)
async def test_each_accuracy_point_sits_on_the_row_labelled_with_its_value(name):
    values = ACCURACY_SERIES[name]
    _, accuracy, app = await pictures([record(name, values)])
    assert_labels_are_the_axis(accuracy, app.drawn["accuracy"])
    columns = accuracy.tick_columns()
    assert len(columns) == len(values)  # a tick on every epoch
    for epoch, (column, value) in enumerate(zip(columns, values), start=1):
        rows = accuracy.rows_at(column, "●")
        if epoch == 1 and not rows:
            continue  # under the legend
        assert len(rows) == 1, accuracy.text
        accuracy.assert_reads(rows[0], value, f"epoch {epoch}")
    assert max(len(label) for label in accuracy.labels.values()) <= 5


# ----- loss: braille lines ----------------------------------------------------------------------
def piecewise(levels: list[float], per_epoch: int = 40) -> list[tuple[float, float]]:
    """A loss that holds `levels[e]` through epoch e (a point per batch logged)."""
    return [(e + (i + 1) / per_epoch, level) for e, level in enumerate(levels) for i in range(per_epoch)]


LOSS_SERIES = {
    "falling": [2.2, 0.9, 0.3],
    "rising": [0.5, 1.0, 2.0],
    "steady": [0.61, 0.60, 0.61],
}


@pytest.mark.parametrize("name", LOSS_SERIES)
async def test_each_loss_level_is_drawn_on_the_row_labelled_with_its_value(name):
    levels = LOSS_SERIES[name]
    loss, _, app = await pictures([record(name, losses=piecewise(levels))])
    assert_labels_are_the_axis(loss, app.drawn["loss"])
    ticks = loss.tick_columns()  # 0, 1, 2, 3 epochs
    assert len(ticks) == len(levels) + 1, loss.text
    for epoch, level in enumerate(levels):
        middle = (ticks[epoch] + ticks[epoch + 1]) // 2
        rows = loss.rows_at(middle, BRAILLE)
        assert len(rows) == 1, loss.text
        loss.assert_reads(rows[0], level, f"epoch {epoch + 1}")


async def test_a_flat_loss_is_a_flat_line_with_short_labels():
    noisy = [(i / 40, 2.3008666 + 1e-7 * math.sin(i)) for i in range(1, 121)]  # a network that learns nothing
    loss, _, _ = await pictures([record("stuck", [11.35] * 3, noisy)])
    rows = {r for r, row in enumerate(loss.canvas) for ch in row if ch in BRAILLE}
    assert len(rows) == 1, loss.text  # one row: flat, not a V
    loss.assert_reads(rows.pop(), 2.3008666, "flat loss")
    assert max(len(label) for label in loss.labels.values()) <= 4, loss.labels  # not 2.300866604


async def test_nothing_is_left_of_the_axis_but_labels_smoothed_or_not():
    """The first loss is logged at epoch 0.107, not 0: plotext put the tick 0 left of the axis."""
    losses = [(100 * i / 938, 0.02 + 2.2 * math.exp(-i * 0.25)) for i in range(1, 20)]
    for smoothing in (False, True):
        loss, _, _ = await pictures([record("a", [90.0, 95.0], losses)], smoothing=smoothing)
        for line in loss.lines[loss.top + 1: loss.bottom]:
            label = "".join(cells(line)[: loss.left]).strip()
            assert label == "" or float(label) >= 0, loss.text
        for line in loss.lines[loss.bottom + 1:]:
            assert "".join(cells(line)[: loss.left + 1]).strip() == "", loss.text


async def test_grouped_accuracy_keeps_a_title_that_fits():
    from core.comparison.groups import group_runs

    runs = [RunRecord(f"r{seed}", RunConfig(seed=seed)) for seed in (1, 2, 3)]
    for offset, run in zip((0.0, 0.2, -0.3), runs):
        run.accuracies = {1: 0.97 + offset / 100, 2: 0.98 + offset / 100}
    app = Charts([])
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one("#accuracy", MetricChart)
        chart.show_groups([GroupSeries(g, plot_color(0)) for g in group_runs(runs)])
        chart.redraw_now()
        await pilot.pause()
        title = chart.render().plain.split("\n")[0].strip()
    assert title.startswith("accuracy %: mean"), title


# ----- names in the legend -------------------------------------------------------------------
WIDE_NAMES = ["日本語の実験ラン", "🚀 rocket run", "cafe\u0301 de\u0301ja\u0300", "x" * 60]


async def test_wide_names_in_the_legend_keep_the_frame_labels_and_points():
    runs = [record(name, [90.0 + i, 94.0 + i, 97.0 + i / 2]) for i, name in enumerate(WIDE_NAMES)]
    app = Charts(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        chart = app.query_one("#accuracy", MetricChart)
        lines = chart.render().plain.rstrip("\n").split("\n")
        axis = chart.axis
    assert all(cell_len(line) == 40 for line in lines), "\n".join(lines)  # the frame stays in line
    picture = Picture(lines)
    assert_labels_are_the_axis(picture, axis)  # no label pushed out
    assert all(cells(line)[39] in "│┤┐┘" for line in lines[picture.top: picture.bottom + 1])  # right frame intact
    legend = [line for line in lines if "●" in line and any(n[:3] in line for n in ("日本語", "🚀 r", "cafe", "xxx"))]
    assert len(legend) == 4 and any("…" in line for line in legend)  # the long one cut, by cells
    last = picture.tick_columns()[-1]
    for value in (97.0, 97.5, 98.0, 98.5):  # every run's last point still drawn at the right edge
        assert any(abs(picture.value_of_row(r)[0] - value) <= picture.value_of_row(r)[1] for r in picture.rows_at(last, "●"))


@pytest.mark.parametrize("name, cells_wanted", [("日本語ラン", 7), ("cafe\u0301", 7), ("🚀x", 2), ("a\tb\nc", 5)])
def test_legend_names_are_cut_and_padded_by_cell_width(name, cells_wanted):
    fitted = legend_name(name, cells_wanted)
    assert cell_len(fitted) == cells_wanted and "\t" not in fitted and "\n" not in fitted


# ----- without colour ---------------------------------------------------------------------------
def test_the_palette_is_distinct_and_far_from_the_dark_background():
    def luminance(c: Color) -> float:
        def channel(v):
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)

    colors = [Color.from_rich_color(RichColor.parse(rich_color(i))) for i in range(len(PALETTE))]
    for background in ("#1e1e1e", "#121212"):  # textual-dark's surface (the charts) and background (the table)
        bg = luminance(Color.parse(background))
        assert all((luminance(c) + 0.05) / (bg + 0.05) >= 4.5 for c in colors)
    assert len({c.hex for c in colors}) == len(colors) == len(MARKERS) == len(set(MARKERS))
    assert all(cell_len(m) == 1 for m in MARKERS)


def test_markers_are_needed_without_colour_and_on_16_colour_terminals():
    def app(no_color=False, headless=False, system="truecolor"):
        return SimpleNamespace(no_color=no_color, is_headless=headless, console=SimpleNamespace(color_system=system))

    assert needs_markers(app(no_color=True)) and needs_markers(app(no_color=True, headless=True))
    assert needs_markers(app(system="standard")) and needs_markers(app(system=None)) and needs_markers(app(system="windows"))
    assert not needs_markers(app(system="256")) and not needs_markers(app(system="truecolor"))
    assert not needs_markers(app(headless=True, system="standard"))  # tests draw the same whatever TERM says


def styles_of(chart, glyphs: str) -> dict[str, set]:
    """Each glyph's colours as drawn (after Rich parses plotext's escape codes)."""
    found: dict[str, set] = {}
    text = chart.render()
    for span in text.spans:
        for ch in text.plain[span.start: span.end]:
            if ch in glyphs:
                found.setdefault(ch, set()).add(str(getattr(span.style, "color", None) or span.style))
    return found


async def test_no_color_gives_each_run_its_own_marker_in_the_foreground_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    # every run on rows of its own: 40, 60, 80, 100% (a later run's marker would cover an earlier one's)
    runs = [record(f"run {i + 1}", [40.0 + 20 * i] * 2, [(j / 10, 2.0 - i * 0.5 + 0.01 * j) for j in range(1, 20)]) for i in range(4)]
    app = Charts(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.no_color
        accuracy, loss = app.query_one("#accuracy", MetricChart), app.query_one("#loss", MetricChart)
        acc_text, loss_text = accuracy.render().plain, loss.render().plain
        acc_styles = styles_of(accuracy, "".join(MARKERS[:4]))
    for i in range(4):
        marker = MARKERS[i]
        assert f"{marker} run {i + 1}" in acc_text  # the legend names each run's marker
        assert acc_text.count(marker) >= 2 and marker in loss_text  # on its points, and along its loss line
    assert not any(ch in BRAILLE for ch in loss_text)  # braille dots would all look alike
    assert all("color(" not in style for styles in acc_styles.values() for style in styles)  # no colour turned grey


async def test_a_16_colour_terminal_keeps_the_colours_and_adds_markers(monkeypatch):
    import tui.widgets.run_chart as run_chart

    monkeypatch.setattr(run_chart, "needs_markers", lambda app: True)  # as on TERM=xterm (headless apps never are)
    runs = [record(f"run {i + 1}", [80.0 + 4 * i, 85.0 + 4 * i]) for i in range(3)]
    app = Charts(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        styles = styles_of(app.query_one("#accuracy", MetricChart), "".join(MARKERS[:3]))
    assert set(styles) == set(MARKERS[:3])
    assert all(any(f"color({PALETTE[i]})" in s for s in styles[MARKERS[i]]) for i in range(3)), styles


def test_palette_names_agree_between_charts_and_table():
    assert [palette.rich_color(i) for i in range(13)][12] == palette.rich_color(0)
    assert all(palette.marker_of(plot_color(i)) == palette.run_marker(i) for i in range(len(PALETTE)))
