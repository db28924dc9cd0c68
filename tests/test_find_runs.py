"""Find runs (issue 18, item 3): `/` filters the table, the charts, the pivot and the export by words
and conditions; the status line says the filter and how many runs it lets through; `esc` clears it;
a bad condition gets a message, not a crash. At 80x24, on stored runs (tests/synthetic.py): no training."""

from __future__ import annotations

import csv

import pytest
from textual.widgets import DataTable, Input

from core.config import RunConfig
from core.events import BatchLogged, RunFinished
from core.runstore.store import RunStore
from tests.screen_text import screen_lines
from tests.synthetic import write_run, write_seed_runs
from tests.test_dashboard import cpu_only
from tests.test_snapshots import fixed_devices, settled
from tests.waiting import wait_for as until
from tui.app import create_app

pytestmark = pytest.mark.timeout(120)

MLP = "20261101-097000-a008-mlp"
MLP_NAME = "小さな mlp 🚀"  # typed as it is: CJK and an emoji
SEED_NAMES = ["cnn lr=0.01 bs=64", "cnn lr=0.001 bs=64", "cnn lr=0.0001 bs=64", "cnn lr=0.001 bs=32", "cnn lr=0.001 bs=128"]
ALL = SEED_NAMES + ["killed mid-run", "too hot", MLP_NAME]


def write_runs(runs) -> None:
    """The seed's five runs, an interrupted and a failed one, and an MLP at lr 0.01 (8 runs)."""
    write_seed_runs(runs, interrupted=True, failed=True)
    write_run(RunStore(runs), MLP, RunConfig(model="mlp", lr=0.01, name=MLP_NAME), [96.5, 97.3])


@pytest.fixture
def app(tmp_path):
    write_runs(tmp_path / "runs")
    return create_app(runs_dir=tmp_path / "runs", device_probe=cpu_only, warm=False)


def names(app) -> list[str]:
    return [row[0] for row in app.dashboard.table.row_texts()]


def status(app) -> str:
    return screen_lines(app)[0].strip()


async def find(pilot, text: str) -> None:
    """`/`, the text typed key by key, enter."""
    await pilot.press("slash", *text, "enter")
    await pilot.pause()


@pytest.mark.parametrize("text, shown", [
    ("mlp", [MLP_NAME]),  # a word of the name
    ("HOT", ["too hot"]),  # any case
    ("interrupted", ["killed mid-run"]),  # a word of the status
    ("status:failed", ["too hot"]),
    ("model:mlp", [MLP_NAME]),
    ("lr=0.01", ["cnn lr=0.01 bs=64", MLP_NAME]),
    ("bs<128", [n for n in ALL if n != "cnn lr=0.001 bs=128"]),
    ("acc>98", ["cnn lr=0.01 bs=64", "cnn lr=0.001 bs=64", "cnn lr=0.001 bs=32", "cnn lr=0.001 bs=128"]),
    ("lr!=0.001 cnn", ["cnn lr=0.01 bs=64", "cnn lr=0.0001 bs=64"]),
])
async def test_slash_shows_the_runs_a_filter_lets_through_and_the_status_line_says_so(app, text, shown):
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 8, timeout=20)
        await find(pilot, text)
        assert names(app) == shown
        assert status(app).startswith(f"idle · filter {text} · {len(shown)} of 8 runs · esc clears")
        assert len(app.dashboard.panel.left_chart.series) == len(app.dashboard.panel.right_chart.series) == len(shown)
        assert app.focused is app.dashboard.table and not app.query_one("#filter-bar").is_open
        await pilot.press("escape")  # on the table: clears it
        assert names(app) == ALL and status(app).startswith("idle · 8 runs · best 99.11%")


async def test_the_export_and_the_pivot_follow_the_filter(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 8, timeout=20)
        await find(pilot, "acc>98 bs<=64")
        await pilot.press("e")
        await until(pilot, lambda: type(app.screen).__name__ == "ExportDialog", timeout=10)
        app.screen.query_one("#export-path", Input).value = str(tmp_path / "found.csv")
        await pilot.press("enter")
        await until(pilot, lambda: (tmp_path / "found.csv").exists(), timeout=10)
        rows = list(csv.DictReader((tmp_path / "found.csv").open(encoding="utf-8")))
        assert [(row["lr"], row["batch_size"]) for row in rows] == [("0.01", "64"), ("0.001", "64"), ("0.001", "32")]
        await pilot.press("p")
        await until(pilot, lambda: type(app.screen).__name__ == "PivotScreen", timeout=10)
        assert app.screen.query_one("#pivot-table-0", DataTable).row_count == 3
        assert any("filter acc>98 bs<=64" in line for line in screen_lines(app))  # its title says what it shows


async def test_a_bad_condition_gets_a_message_and_changes_nothing(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 8, timeout=20)
        await find(pilot, "model:mlp")
        await find(pilot, " bs<abc")  # the bar opens on the filter in force, the cursor at its end
        bar = app.query_one("#filter-bar")
        screen = "\n".join(screen_lines(app))
        assert "`bs<abc`: bs needs a number, got 'abc'" in screen  # said on the dashboard, not a traceback
        assert bar.is_open and bar.input.value == "model:mlp bs<abc" and app.focused is bar.input
        assert names(app) == [MLP_NAME]  # the filter in force is still the last good one
        for bad, says in [("foo=1", "`foo=1`: no field foo; fields: lr, bs"), ("name<x", "`name<x`: name is text"), ("lr=", "give a value")]:
            bar.input.value = bad
            await pilot.press("enter")
            await pilot.pause()
            assert says in "".join(screen_lines(app)).replace("  ", " ") and names(app) == [MLP_NAME]
        await pilot.press("escape")  # in the bar: closes it, the filter unchanged
        assert not bar.is_open and names(app) == [MLP_NAME] and app.focused is app.dashboard.table
        assert status(app).startswith("idle · filter model:mlp · 1 of 8 runs")
        await pilot.press("slash")
        assert bar.input.value == "model:mlp"  # the filter in force, to edit
        await pilot.press("ctrl+u", "enter")  # blank: every run again (ctrl+u: delete to the start)
        await pilot.pause()
        assert names(app) == ALL and not app.state.run_filter


async def test_esc_closes_the_form_first_and_clears_the_filter_after(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 8, timeout=20)
        await find(pilot, "status:fail")
        await pilot.press("n")
        assert app.dashboard.form_open
        await pilot.press("escape")
        assert not app.dashboard.form_open and names(app) == ["too hot"]
        await pilot.press("escape")
        assert names(app) == ALL
        await pilot.press("escape")  # nothing left to close or clear: nothing happens
        assert names(app) == ALL and not app.dashboard.form_open


async def test_on_a_wide_screen_esc_is_the_forms_while_it_has_the_focus_and_clears_the_filter_elsewhere(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 8, timeout=20)
        await find(pilot, "model:mlp")
        assert app.dashboard.form_open and app.focused is app.dashboard.table  # the form stays open beside the charts
        await pilot.press("n")
        assert app.focused.id == "f-lr"
        await pilot.press("escape")  # the form's: back to the table, the filter kept
        assert app.focused is app.dashboard.table and names(app) == [MLP_NAME]
        await pilot.press("escape")
        assert names(app) == ALL and app.dashboard.form_open


async def test_a_filter_shown_as_typed_cjk_and_emoji_never_markup(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 8, timeout=20)
        await pilot.press("slash")
        app.query_one("#filter-bar").input.value = "小さな 🚀"
        await pilot.press("enter")
        await pilot.pause()
        assert names(app) == [MLP_NAME]
        assert status(app).startswith("idle · filter 小さな 🚀 · 1 of 8 runs · esc clears · best 97.30% 小さな mlp 🚀")
        await pilot.press("slash")
        app.query_one("#filter-bar").input.value = '"[bold]x"'  # markup would vanish; as text it stays
        await pilot.press("enter")
        await pilot.pause()
        assert names(app) == [] and status(app).startswith('idle · filter "[bold]x" · 0 of 8 runs')


async def test_a_live_run_leaves_a_status_running_filter_when_it_finishes(tmp_path):
    runs = tmp_path / "runs"
    write_seed_runs(runs)
    live = "20261101-100000-a009-headless"
    writer = write_run(RunStore(runs), live, RunConfig(name="headless", lr=0.003, epochs=1), [], live=True)
    try:
        writer.append(BatchLogged(live, 1, 100, 100, 0.5, 16000.0, 1.0, 0.003))
        app = create_app(runs_dir=runs, device_probe=cpu_only, warm=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.state.records) == 6 and app.state.records[live].status == "running", timeout=20)
            await find(pilot, "status:running")
            assert names(app) == ["headless"]
            lines = screen_lines(app)
            assert lines[0].startswith(" ● headless (other process) · ep 1/1")  # the run's own line stays whole
            assert lines[1].strip() == "filter status:running · 1 of 6 runs · esc clears"  # the filter under it
            writer.append(RunFinished(live, 0.97, 0.97, 2.0, None))
            writer.close()
            await until(pilot, lambda: names(app) == [], timeout=10)
            await until(pilot, lambda: status(app).startswith("idle · filter status:running · 0 of 6 runs"), timeout=5)
    finally:
        writer.close()


# ----- snapshots ------------------------------------------------------------------------------
@pytest.fixture
def snap_app(tmp_path, utc):
    write_runs(tmp_path / "runs")
    return create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)


def test_a_filter_applied_at_80x24(snap_compare, snap_app):
    """`acc>98 bs<=64` applied: the table, both charts and the status line show the three runs it lets
    through, the status line says the filter, `3 of 8 runs` and that esc clears it; the bar is closed."""

    async def run_before(pilot):
        await settled(pilot, 8)
        await find(pilot, "acc>98 bs<=64")
        await pilot.pause(0.7)  # the charts' next redraw tick

    assert snap_compare(snap_app, terminal_size=(80, 24), run_before=run_before)


def test_a_bad_condition_says_why_under_the_filter_line_at_80x24(snap_compare, snap_app):
    """`bs<abc` entered: the filter line stays open on it (red: it cannot be read) with the message under
    it, above the footer; the table still shows every run (no filter was in force)."""

    async def run_before(pilot):
        await settled(pilot, 8)
        await pilot.press("slash", *"bs<abc", "enter")
        pilot.app.query_one("#filter-input").cursor_blink = False  # a blinking cursor would make the picture depend on timing
        await pilot.pause(0.3)

    assert snap_compare(snap_app, terminal_size=(80, 24), run_before=run_before)
