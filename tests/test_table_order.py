"""A table that keeps its order and its word (issue 17, item 3): a sort holds while a live run
updates; the start time is a sortable column; the status line says what trains, in whatever
process; the delete dialog and the inspect title wrap; nothing stray under a short table.
Stored runs, and a live one written by this process (as a headless `mnist-tui train` would)."""

from __future__ import annotations

import math
import time

from core.config import RunConfig
from core.events import BatchLogged, EpochEnded, RunFinished
from core.runstore.store import RunStore
from tests.screen_text import line_backgrounds, screen_lines, svg_lines
from tests.synthetic import SEED_RUNS, _write, write_run, write_seed_runs
from tui.app import create_app
from tests.test_dashboard import cpu_only, wait_for as until

LIVE = "20261101-100000-a008-headless"


def names(app) -> list[str]:
    return [row[0] for row in app.dashboard.table.row_texts()]


async def sort_by(pilot, app, title: str, descending: bool = False) -> None:
    app.dashboard.table.focus()
    app.dashboard.table.move_cursor(row=0, column=1 + app.dashboard.table.column_titles().index(title))
    await pilot.press("s", *(["s"] if descending else []))
    await pilot.pause()


async def test_a_descending_sort_on_final_accuracy_takes_a_live_run_to_its_place_as_it_updates(tmp_path):
    store = RunStore(tmp_path / "runs")
    _write(store, SEED_RUNS)
    config = RunConfig(name="headless", lr=0.003, epochs=3)
    writer = write_run(store, LIVE, config, [], live=True)  # training in "another process": this one holds its lock
    per_epoch = math.ceil(60_000 / 64)
    writer.append(BatchLogged(LIVE, 1, 469, 469, 0.2, 16000.0, 2.0, 0.003))
    try:
        app = create_app(runs_dir=tmp_path / "runs", device_probe=cpu_only, warm=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.state.records) == 6 and app.state.records[LIVE].status == "running")
            # the status line follows it, though this dashboard did not start it
            await until(pilot, lambda: screen_lines(app)[0].startswith(" ● headless (other process) · ep 1/3"))
            await sort_by(pilot, app, "final%", descending=True)
            assert names(app) == ["cnn lr=0.001 bs=32", "cnn lr=0.01 bs=64", "cnn lr=0.001 bs=64", "cnn lr=0.001 bs=128",
                                  "cnn lr=0.0001 bs=64", "headless"]  # no final yet: last

            writer.append(EpochEnded(LIVE, 1, 0.9950, 0.02, 0.04, 4.0, 4.0))  # better than every finished run
            await until(pilot, lambda: names(app)[0] == "headless", timeout=5)
            assert app.state.records[LIVE].status == "running"
            row = next(line for line in screen_lines(app) if "headless" in line and "running" in line)
            assert "99.50" in row and screen_lines(app).index(row) == next(i for i, line in enumerate(screen_lines(app)) if "status" in line) + 1

            writer.append(BatchLogged(LIVE, 2, 469, per_epoch + 469, 0.1, 16000.0, 6.0, 0.003))
            writer.append(EpochEnded(LIVE, 2, 0.9700, 0.02, 0.04, 4.0, 8.0))  # worse now (97.00): it moves down, still live
            await until(pilot, lambda: names(app).index("headless") == 4, timeout=5)

            writer.append(RunFinished(LIVE, 0.97, 0.995, 8.0, None))
            writer.close()
            await until(pilot, lambda: app.state.records[LIVE].status == "done")
            await until(pilot, lambda: screen_lines(app)[0].startswith(" idle"))
            assert names(app).index("headless") == 4
    finally:
        writer.close()


async def test_the_start_time_is_a_sortable_column_in_the_viewers_time_zone(tmp_path):
    write_seed_runs(tmp_path / "runs")
    app = create_app(runs_dir=tmp_path / "runs", device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 5)
        records = list(app.state.records.values())
        started = app.dashboard.table.column_titles().index("started")
        await sort_by(pilot, app, "started", descending=True)
        assert names(app) == [r.label for r in reversed(records)]  # the latest first
        assert [row[started] for row in app.dashboard.table.row_texts()] == [time.strftime("%m-%d %H:%M", time.localtime(r.started_at)) for r in reversed(records)]
        assert "started" in screen_lines(app)[app.dashboard.table.region.y]  # scrolled into view with the cursor
        await pilot.press("s")
        assert names(app) == [r.label for r in records]


async def test_the_delete_dialog_and_the_inspect_title_wrap_what_is_long(tmp_path):
    long_name = "a name of sixty characters, the most a name may have here:60"
    runs = tmp_path / "runs-of-a-team-on-a-shared-server" / "mnist" / "runs"
    write_run(RunStore(runs), "20261101-090000-a001-long", RunConfig(name=long_name), [97.0])
    app = create_app(runs_dir=runs, device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 1)
        await pilot.press("d")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog")
        await pilot.pause(0.2)
        inside = [line.split("▊", 1)[1].rsplit("▎", 1)[0].strip() for line in screen_lines(app) if "▊" in line and "▎" in line]
        assert str(runs / "20261101-090000-a001-long") + "?" in "".join(inside)  # whole, over as many lines as it takes
        await pilot.press("n", "i")
        await until(pilot, lambda: type(app.screen).__name__ == "InspectScreen")
        await pilot.pause(0.2)
        screen = screen_lines(app)
        title = screen[: next(i for i, line in enumerate(screen) if "Digits" in line)]
        assert long_name in " ".join(line.strip() for line in title) and len(title) >= 2


async def test_a_short_table_ends_at_its_last_row_with_a_scrollbar_that_reads_as_one(tmp_path):
    _write(RunStore(tmp_path / "runs"), SEED_RUNS[:2])
    app = create_app(runs_dir=tmp_path / "runs", device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 2)
        await pilot.pause(0.3)
        svg = app.export_screenshot()
        screen = svg_lines(svg)
        last_row = max(i for i, line in enumerate(screen) if "cnn lr=0.001 bs=64" in line)
        bar = screen[last_row + 1]
        assert bar.strip() and set(bar.strip()) <= set("▏▎▍▌▋▊▉█")  # the horizontal scrollbar, right under the rows
        runs = line_backgrounds(svg, last_row + 1)
        thumb, track = runs[0], runs[-1]
        assert len(runs) == 2 and thumb[0] == 0 and track[0] + track[1] == 80  # a thumb, then a track to the edge
        assert track[2] != line_backgrounds(svg, last_row + 2)[0][2]  # the track is drawn, not the pane's background
