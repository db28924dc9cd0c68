"""The form's search mode: ranges checked as typed, a search started from the dashboard trains its
trials in a driver of its own, which outlives the dashboard; a dashboard opened later follows it."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Select, Static

from core.runstore.liveness import process_alive
from tests.test_dashboard import fill, make_app, wait_for
from tests.waiting import dashboard_composed, wait_until

pytestmark = pytest.mark.timeout(240)

SEARCH = {"lr": "1e-3:1e-1:log", "train_size": "1000", "test_size": "500", "batch_size": "16", "trials": "2", "epochs": "2"}


def summary(runs_dir, name) -> dict:
    try:
        return json.loads((runs_dir / ".studies" / f"{name}.json").read_text())
    except (OSError, ValueError):
        return {}


async def test_search_mode_checks_ranges_as_typed_and_says_what_it_will_run(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        fill(app, lr="1e-3:1e-1:log")
        await pilot.pause()
        assert "must be a number" in str(app.query_one("#e-lr", Static).render())  # a grid takes no range
        app.query_one("#f-search", Select).value = "median"
        await pilot.pause()
        assert str(app.query_one("#e-lr", Static).render()) == ""
        assert "search: 20 trials of lr 0.001..0.1 (log)" in str(app.query_one("#grid-size", Static).render())
        fill(app, trials="4")
        await pilot.pause()
        assert "4 trials of lr 0.001..0.1 (log); the median pruner prunes only after 5 completed trials" in " ".join(
            str(app.query_one("#grid-size", Static).render()).split())
        fill(app, lr="1e-1:1e-4", trials="0")
        await pilot.pause()
        assert "the range's low end 0.1 must be below its high end 0.0001" in str(app.query_one("#e-lr", Static).render())
        assert "must be a whole number from 1 to 10000" in str(app.query_one("#e-trials", Static).render())
        app.query_one("#form").submit()
        await pilot.pause()
        assert not app.searches.drivers and not (runs_dir / ".studies").exists()


async def test_a_search_from_the_form_goes_on_after_quitting_and_a_new_dashboard_follows_it(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        app.query_one("#f-search", Select).value = "median"
        fill(app, **SEARCH)
        await pilot.pause()
        app.query_one("#form").submit()
        await wait_for(pilot, lambda: len(app.searches.drivers) == 1)
        study, driver = next(iter(app.searches.drivers.items()))
        assert app.state.view_sweep == study
        await wait_for(pilot, lambda: any(r.config.sweep == study and r.status == "running" for r in app.state.records.values()), timeout=90)
        await pilot.press("q")
        await pilot.pause()
        assert "1 search going on" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("k")
    assert process_alive(driver.pid) and driver.poll() is None  # the dashboard is gone; the search is not

    reopened = make_app(runs_dir)
    async with reopened.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: sum(r.config.sweep == study for r in reopened.state.records.values()) >= 1, timeout=30)
        wait_until(lambda: summary(runs_dir, study).get("state") == "finished", 150, "the search to finish")
        await wait_for(pilot, lambda: sum(r.config.sweep == study and r.finished for r in reopened.state.records.values()) == 2, timeout=30)
    driver.wait(timeout=30)
    rows = summary(runs_dir, study)["trials"]
    assert [row["state"] for row in rows] in (["complete", "complete"], ["complete", "pruned"])
    assert {row["run_id"] for row in rows} == {r.run_id for r in reopened.state.records.values() if r.config.sweep == study}
    assert all(0.001 <= row["params"]["lr"] <= 0.1 for row in rows)


async def test_stop_in_the_quit_dialog_ends_the_search(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        app.query_one("#f-search", Select).value = "none"
        fill(app, **{**SEARCH, "epochs": "5", "train_size": "3000"})
        app.query_one("#form").submit()
        await wait_for(pilot, lambda: any(r.status == "running" for r in app.state.records.values()), timeout=90)
        study, driver = next(iter(app.searches.drivers.items()))
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("s")
    assert driver.wait(timeout=60) not in (None, 0)
    state = summary(runs_dir, study)
    assert state["state"] == "stopped" and [row["state"] for row in state["trials"]][0] == "interrupted"
    assert not list((runs_dir / ".studies").glob("*.lock"))  # the journal's lock is not left behind


def test_the_form_in_search_mode_at_80x24(snap_compare, tmp_path, utc):
    """The run form in search mode, scrolled to its end: the search select on the median pruner, 12
    trials, and the line above Start saying what will run (a log range of learning rates, a list of
    batch sizes, two at a time)."""
    from tests.test_snapshots import fixed_devices
    from tui.app import create_app

    async def run_before(pilot):
        app = pilot.app
        await dashboard_composed(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: app.query_one("#form")._devices is not None)
        app.query_one("#f-search", Select).value = "median"
        app.query_one("#f-runs_per_device", Select).value = "2"
        fill(app, lr="1e-4:1e-1:log", batch_size="32,64,128", trials="12")
        for field in app.query("Input"):
            field.cursor_blink = False  # a blinking cursor would make the picture depend on timing
        app.query_one("#f-trials").focus()
        await pilot.pause(0.3)

    app = create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
