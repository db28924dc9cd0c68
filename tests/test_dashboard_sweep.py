"""Sweeps in the dashboard: the form queues a grid, the status counts it, views and pivot compare it."""

from __future__ import annotations

import csv

from textual.widgets import DataTable, Input, Static

from core.comparison.sweep import expand_grid
from tests.test_dashboard import FAST, fill, make_app, table, wait_for


async def test_the_form_queues_a_sweep_and_the_status_counts_it(runs_dir, tmp_path):
    app = make_app(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        fill(app, **{**FAST, "epochs": "1", "train_size": "1920", "lr": "0.05, 0.01", "batch_size": "32,64"})  # each runner imports torch first: long enough to watch
        await pilot.pause()
        assert "sweep: 4 runs" in str(app.query_one("#grid-size", Static).render())
        fill(app, lr="0.05, x")
        await pilot.pause()
        assert "'x': must be a number" in str(app.query_one("#e-lr", Static).render())
        fill(app, lr="0.05, 0.01")
        await pilot.pause()
        app.query_one("#form").submit()
        await pilot.pause()
        assert [r.status for r in app.state.records.values()] == ["running", "queued", "queued", "queued"]
        assert "run 1/4" in str(app.query_one("#status").render())
        await wait_for(pilot, lambda: list(app.state.records.values())[1].status == "running")
        assert "run 2/4" in str(app.query_one("#status").render())
        await wait_for(pilot, lambda: all(r.status == "done" for r in app.state.records.values()))
        sweep_ids = {r.config.sweep for r in app.state.records.values()}
        assert len(sweep_ids) == 1 and "" not in sweep_ids

        # a single run beside the sweep, then the view narrows to the sweep
        await pilot.press("n")
        fill(app, lr="0.02", batch_size="64", name="alone")
        app.query_one("#form").submit()
        await wait_for(pilot, lambda: all(r.status == "done" for r in app.state.records.values()))
        await pilot.press("escape", "g")
        assert table(app).row_count == 4 and len(app.query_one("#right-chart").series) == 4
        app.query_one("#table").focus()
        await pilot.press("p")
        pivot = app.screen.query_one("#pivot-table-0", DataTable)
        assert pivot.row_count == 4
        first = list(app.state.records.values())[0]
        assert [str(c) for c in pivot.get_row_at(0)[1:3]] == [f"{first.config.lr:g}", str(first.config.batch_size)]
        assert str(pivot.get_row_at(0)[5]) == f"{first.accuracies[1] * 100:.2f}"
        await pilot.press("escape")

        # export writes what is shown: the sweep's 4 runs, not the lone one
        await pilot.press("e")
        app.screen.query_one("#export-path", Input).value = str(tmp_path / "sweep.csv")
        await pilot.press("enter")
        await pilot.pause()
        rows = list(csv.DictReader((tmp_path / "sweep.csv").open()))
        assert len(rows) == 4 and {row["sweep"] for row in rows} == sweep_ids
        await pilot.press("g")  # back to all runs
        assert table(app).row_count == 5


async def test_a_parallel_sweep_runs_one_run_per_device_slot(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        configs = expand_grid({"lr": "0.01,0.02,0.03", "train_size": "1280", "test_size": "200", "epochs": "1", "log_every": "5"}, "sweep-par")
        app.dashboard.start_sweep(configs, devices=["cpu", "cpu"])
        await pilot.pause()
        assert [r.status for r in app.state.records.values()] == ["running", "running", "queued"]
        assert "(+1 parallel)" in str(app.query_one("#status").render())
        await wait_for(pilot, lambda: all(r.status == "done" for r in app.state.records.values()))


async def test_reproduce_from_the_command_palette_queues_the_reports_sweeps(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "f-lr")  # a first start
        fill(app, train_size="640", test_size="200", epochs="1", seed="4,5")
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        await pilot.press(*"Reproduce the report")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.state.records) == 10)
        configs = [r.config for r in app.state.records.values()]
        assert {(c.lr, c.batch_size) for c in configs} == {(0.01, 64), (0.001, 64), (0.0001, 64), (0.001, 32), (0.001, 128)}
        assert sorted(c.seed for c in configs) == [4] * 5 + [5] * 5 and {c.train_size for c in configs} == {640}
        assert len({c.sweep for c in configs}) == 1 and configs[0].sweep.startswith("reproduce-")
        assert app.state.view_sweep == configs[0].sweep
        await pilot.press("c")  # the rest would train for minutes: drop the queue, stop the first
        app.executor.stop_own("test over")
        await wait_for(pilot, lambda: all(r.finished for r in app.state.records.values()))
