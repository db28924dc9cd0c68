"""What a new user found misleading on the dashboard (issue: nothing on the dashboard misleads), as
they see it: the dashboard at 80x24 (and 120x40) on stored runs, read back from the screen.

- the accuracy axis never goes past 100% (or below 0%), whatever the rows; the loss axis leaves at
  most one empty row above the data and its labels stay short (`6e9`, not `6000000000`);
- without colour (NO_COLOR) every run has its own marker in the table and the status line, as in
  the charts, and a failed run's status is readable (not grey on grey);
- the pivot's title is whole at 80 columns;
- `m` says so in the loss chart's title (the README said the footer would).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from core.config import RunConfig
from core.events import BatchLogged
from core.runstore.store import RunStore
from tests.screen_text import contrast, line_backgrounds, screen_lines, styled_text, svg_lines
from tests.synthetic import SEED_RUNS, _write, write_repeated_runs, write_run, write_seed_runs
from tests.test_chart_snapshots import DIVERGING, FAILED, LOW, TWELVE, write_runs
from tests.test_charts import BRAILLE, Picture, assert_labels_are_the_axis
from tests.test_snapshots import fixed_devices, settled
from tui.app import create_app
from tui.palette import MARKERS, run_marker


LIVE = "20261101-100000-a008-headless"


pytestmark = pytest.mark.usefixtures("utc")  # tests/conftest.py: start times shown in UTC


def low_runs(runs_dir):
    write_seed_runs(runs_dir, interrupted=True, failed=True)
    write_runs(runs_dir, LOW)
    return 9


def twelve_runs(runs_dir):
    write_runs(runs_dir, TWELVE)
    return 12


def diverging_runs(runs_dir):
    write_runs(runs_dir, DIVERGING)
    return 2


async def cursor_on(pilot, run_id: str) -> None:
    table = pilot.app.dashboard.table
    table.move_cursor(row=table.row_keys_shown().index(run_id), column=1)
    await pilot.pause(0.7)  # the status line, then the charts' new height


def picture_of(chart) -> Picture:
    return Picture(chart.render().plain.split("\n"))


def data_rows(picture: Picture, glyphs) -> list[int]:
    """The canvas rows (0 at the top) that hold a point of the data."""
    return [r for r, row in enumerate(picture.canvas) if any(ch in glyphs for ch in row[picture.left + 1: -1])]


# ----- 1. the accuracy axis stays within 0-100%, the rows are used ------------------------------
SCENES = {
    # the failed run's reason under the status line (two lines of it): 4 rows, where 0-150% was drawn
    "80x24, a reason under the status line": (low_runs, (80, 24), FAILED, ()),
    "80x24, the log pane hidden": (diverging_runs, (80, 24), None, ("l",)),  # 13 rows: drawn 0-120%
    "120x40, twelve runs": (twelve_runs, (120, 40), None, ()),
}


@pytest.mark.parametrize("scene", SCENES)
async def test_the_accuracy_axis_never_goes_past_100_percent(scene, tmp_path):
    write, size, cursor, keys = SCENES[scene]
    expected = write(tmp_path / "runs")
    app = create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)
    async with app.run_test(size=size) as pilot:
        await settled(pilot, expected)
        if cursor:
            await cursor_on(pilot, cursor)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.7)
        chart = app.dashboard.panel.right_chart
        axis, picture = chart.axis, picture_of(chart)
        values = [a * 100 for r in app.state.records.values() for a in r.accuracies.values()]
    assert_labels_are_the_axis(picture, axis)  # each label on the row of its value
    assert 0 <= axis.lower and axis.upper <= 100, axis  # no row past 100% (nor below 0%)
    assert all(0 <= float(label) <= 100 for label in picture.labels.values()) and len(picture.labels) >= 2, picture.text
    rows = data_rows(picture, "●")
    assert min(rows) <= 1, picture.text  # at most one row over the highest accuracy
    assert axis.upper - max(values) < 1.5 * axis.step
    if scene.startswith("80x24, a reason"):
        assert axis.rows == 4, picture.text
        assert axis.row_of(74.4) != axis.row_of(28.6)  # they shared a row on 0-150%
        for value in (74.4, 28.6):  # each drawn on a row that reads as its value
            picture.assert_reads(axis.rows - 1 - axis.row_of(value), value, f"{value}%")


async def test_a_diverging_loss_fills_the_rows_with_short_labels(tmp_path):
    """A loss that climbs to 6.3e9: the axis ends within a row of it (it went to 12e9) and its
    labels are 6e9 or 2.5e9, never 10000000000."""
    diverging_runs(tmp_path / "runs")
    app = create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, 2)
        chart = app.dashboard.panel.left_chart
        axis, picture = chart.axis, picture_of(chart)
    assert_labels_are_the_axis(picture, axis)
    assert max(len(label) for label in picture.labels.values()) <= 5, picture.labels  # 2.5e9, not 2500000000
    assert any("e9" in label for label in picture.labels.values()), picture.labels
    for label, tick in zip(axis.labels, axis.ticks):
        assert math.isclose(float(label), tick), (label, tick)
    assert min(data_rows(picture, BRAILLE)) <= 1, picture.text  # at most one empty row above the data
    assert axis.upper < 6.3e9 + 1.5 * axis.step


# ----- 2. without colour: a marker per run in the table and the status line; readable statuses --
async def test_no_color_marks_each_run_as_the_charts_do_and_statuses_stay_readable(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    low_runs(tmp_path / "runs")
    app = create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, 9)
        await cursor_on(pilot, FAILED)
        assert app.no_color
        table = app.dashboard.table
        marks = {key: str(table.get_row_at(i)[0]) for i, key in enumerate(table.row_keys_shown())}
        wanted = {run_id: run_marker(app.state.color_index[run_id]) for run_id in marks}
        accuracy = app.dashboard.panel.right_chart.render().plain
        svg = app.export_screenshot()
    assert marks == wanted and len(set(marks.values())) == 9, marks  # not ● for every run
    for run_id, _, _, _ in LOW:  # on rows of their own in the accuracy chart: the table's marker is theirs there
        assert wanted[run_id] in accuracy, (wanted[run_id], accuracy)
    lines = svg_lines(svg)
    assert lines[1].startswith(f" ↳ {wanted[FAILED]} too hot · failed"), lines[1]  # the status line names its marker
    table_rows = [i for i, line in enumerate(lines) if line.startswith(" ") and line[1:2] in MARKERS and "too hot" in line]
    assert table_rows, "\n".join(lines)
    for row, where in ((1, "status line"), (table_rows[0], "table")):
        cell, _, css = next(run for run in styled_text(svg, row) if "failed" in run[1])
        background = next(colour for start, width, colour in line_backgrounds(svg, row) if start <= cell + 1 < start + width)
        ratio = contrast(css["fill"], background)
        assert ratio >= 4.5, f"failed in the {where}: {css['fill']} on {background} ({ratio:.2f})"


async def test_no_color_the_status_line_marks_the_run_training_now_as_the_table_does(tmp_path, monkeypatch):
    """A run training in another process (this test holds its log's lock): the status line's first
    line starts with its marker, the one on its table row and in the charts."""
    monkeypatch.setenv("NO_COLOR", "1")
    store = RunStore(tmp_path / "runs")
    _write(store, SEED_RUNS)
    writer = write_run(store, LIVE, RunConfig(name="headless", lr=0.003, epochs=3), [99.5], live=True)
    try:
        writer.append(BatchLogged(LIVE, 2, 400, 1338, 0.05, 16000.0, 12.0, 0.003))
        app = create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot, 6)
            deadline = time.monotonic() + 20
            while not screen_lines(app)[0].startswith(f" {run_marker(app.state.color_index[LIVE])} headless (other process)"):
                assert time.monotonic() < deadline, screen_lines(app)[0]
                await pilot.pause(0.1)
            marker = run_marker(app.state.color_index[LIVE])
            row = app.dashboard.table.row_keys_shown().index(LIVE)
            assert marker != "●" and str(app.dashboard.table.get_row_at(row)[0]) == marker
            assert marker in app.dashboard.panel.right_chart.render().plain
    finally:
        writer.close()


# ----- 3. the pivot's title, whole at 80 columns -----------------------------------------------
async def test_the_pivot_title_is_whole_at_80_columns(tmp_path):
    write_repeated_runs(tmp_path / "runs")
    app = create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, 9)
        await pilot.press("p")
        await pilot.pause(0.3)
        lines = screen_lines(app)
    inside = " ".join(line.split("▊", 1)[1].rsplit("▎", 1)[0].strip() for line in lines if "▊" in line and "▎" in line)
    title = "all runs: per configuration, mean ± std over seeds: test accuracy (%) after each epoch (esc closes)"
    assert title in " ".join(inside.split()), "\n".join(lines)


# ----- 4. smoothing says so where the docs say -------------------------------------------------
async def test_m_says_smoothed_in_the_loss_chart_title(tmp_path):
    write_seed_runs(tmp_path / "runs")
    app = create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, 5)
        title = lambda: app.dashboard.panel.left_chart.render().plain.split("\n")[0].strip()
        assert title() == "training loss"
        await pilot.press("m")
        await pilot.pause(0.3)
        assert title() == "training loss (smoothed)"
        await pilot.press("m")
        await pilot.pause(0.3)
        assert title() == "training loss"
    keys_page = (Path(__file__).resolve().parents[1] / "docs" / "dashboard.md").read_text()  # the dashboard's keys
    assert "*training loss (smoothed)*" in keys_page and "footer says *Avg*" not in keys_page
