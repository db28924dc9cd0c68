"""The first minute: a first start opens the form, `?` lists every key, and grouped views of
repeated seeds show the numbers a user would compute by hand (stored runs: no training)."""

from __future__ import annotations

import csv

from textual.widgets import DataTable

from tests.numbers import assert_spread
from tests.synthetic import REPEATED_RUNS, write_repeated_runs
from tui.app import MnistTui, create_app
from tui.widgets.charts_panel import ChartsPanel
from tui.widgets.dashboard_screen import DashboardScreen
from tui.widgets.help_screen import HelpScreen, key_text
from tui.widgets.inspect_screen import InspectScreen
from tui.widgets.results_table import ResultsTable
from tests.test_dashboard import cpu_only, wait_for as until


async def test_a_first_start_opens_the_form_on_the_learning_rate_with_a_hint(tmp_path):
    app = create_app(runs_dir=tmp_path / "runs", device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.focused is not None and app.focused.id == "f-lr")
        assert app.dashboard.form_open and "enter trains it" in str(app.query_one("#form-hint").render())


async def test_a_start_with_runs_leaves_the_form_closed(tmp_path):
    write_repeated_runs(tmp_path / "runs")
    app = create_app(runs_dir=tmp_path / "runs", device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 9)
        assert not app.dashboard.form_open and isinstance(app.focused, ResultsTable)


async def test_question_mark_lists_every_binding_of_the_app(tmp_path):
    write_repeated_runs(tmp_path / "runs")
    app = create_app(runs_dir=tmp_path / "runs", device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 9)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        listed = {(keys, does) for _, rows in app.screen.sections for keys, does in rows}
        for binding in MnistTui.BINDINGS + DashboardScreen.KEYS + ChartsPanel.KEYS + ResultsTable.BINDINGS + [b for b in InspectScreen.BINDINGS if not b.key.isdigit()]:
            assert (key_text(binding), binding.tooltip or binding.description) in listed, binding
        assert {"0-9", "ctrl+p", "ctrl+q", "esc", "enter"} <= {keys for keys, _ in listed}
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_the_grouped_view_and_pivot_show_mean_and_std_over_the_seeds(tmp_path):
    write_repeated_runs(tmp_path / "runs")
    app = create_app(runs_dir=tmp_path / "runs", device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 9)
        table = app.query_one("#table", ResultsTable)
        assert table.row_count == 9 and table.column_titles()[2:4] == ["lr", "seed"]  # what differs comes first
        await pilot.press("a")
        await pilot.pause()
        assert table.row_count == 3
        rows = {row[0]: row for row in table.row_texts()}
        titles = table.column_titles()
        for lr in (0.01, 0.001, 0.0001):
            finals = [acc[-1] for _, run_lr, _, acc, _ in REPEATED_RUNS if run_lr == lr]
            row = rows[f"cnn lr={lr:g} bs=64"]
            assert row[titles.index("n")] == "3"
            assert_spread(row[titles.index("final%")], finals)
        groups = app.dashboard.panel.right_chart.groups
        assert [len(g.group.runs) for g in groups] == [3, 3, 3]
        await pilot.press("p")
        await pilot.pause()
        pivot = app.screen.query_one("#pivot-table-0", DataTable)
        first = [acc[0] for _, run_lr, _, acc, _ in REPEATED_RUNS if run_lr == 0.01]
        cells = [str(cell) for cell in pivot.get_row_at(0)]
        assert cells[:6] == ["0.01", "64", "sgd", "cnn", "3", "1,2,3"]
        assert_spread(cells[6], first)
        await pilot.press("escape", "e")  # grouped, the dialog offers the grouped export first
        await pilot.pause()
        assert app.screen.query_one("#export-what").value == "groups"
        app.screen.query_one("#export-path").value = str(tmp_path / "groups.csv")
        await pilot.press("enter")
        await pilot.pause()
        rows = list(csv.DictReader((tmp_path / "groups.csv").open()))
        assert [(row["lr"], row["n"], row["seeds"]) for row in rows] == [("0.01", "3", "1 2 3"), ("0.001", "3", "1 2 3"), ("0.0001", "3", "1 2 3")]
        await pilot.press("a")
        await pilot.pause()
        assert table.row_count == 9 and app.dashboard.panel.right_chart.groups is None


async def test_the_forms_seed_field_takes_a_list_that_repeats_the_grid(tmp_path):
    app = create_app(runs_dir=tmp_path / "runs", device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.focused is not None and app.focused.id == "f-lr")
        app.query_one("#f-lr").value = "0.01,0.001"
        app.query_one("#f-seed").value = "1, 2"
        await pilot.pause()
        assert str(app.query_one("#grid-size").render()) == "sweep: 4 runs (2 configurations x 2 seeds)"
        app.query_one("#f-seed").value = "1, x"
        await pilot.pause()
        assert "'x': must be a whole number" in str(app.query_one("#e-seed").render())
