"""The dashboard and the run store: runs from other processes, failures, deleting and re-running."""

from __future__ import annotations

import subprocess
import sys

from textual.widgets import Input

from tests.synthetic import write_seed_runs
from tests.test_dashboard import make_app, start, table, wait_for


async def test_a_run_written_live_by_another_process_shows_up_live(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        process = subprocess.Popen(
            [sys.executable, "-m", "tui", "train", "--train-size", "3200", "--test-size", "500", "--epochs", "2",
             "--log-every", "5", "--name", "from tmux", "--runs-dir", str(runs_dir)],
            stdout=subprocess.DEVNULL,
        )
        try:
            await wait_for(pilot, lambda: any(r.label == "from tmux" for r in app.state.records.values()), timeout=60)
            (record,) = app.state.records.values()
            await wait_for(pilot, lambda: record.status == "running" and len(record.losses) >= 2, timeout=60)
            await wait_for(pilot, lambda: record.status == "done", timeout=120)
        finally:
            process.wait(timeout=120)
        assert sorted(record.accuracies) == [1, 2] and len(record.losses) == 20
        await wait_for(pilot, lambda: table(app).row_texts()[0][1] == "done", timeout=5)


async def test_a_failing_run_is_marked_failed_and_the_queue_goes_on(runs_dir, tmp_path):
    not_a_checkpoint = tmp_path / "net.pth"
    not_a_checkpoint.write_text("hello")
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app, resume=str(not_a_checkpoint), name="bad resume")
        await start(pilot, app, epochs="1", name="fine", resume="")  # the form keeps values: clear it
        await wait_for(pilot, lambda: [r.status for r in app.state.records.values()] == ["failed", "done"])
        failed = next(iter(app.state.records.values()))
        assert "not a loadable mnist-tui checkpoint" in failed.message


async def test_delete_asks_first_and_removes_the_folder(runs_dir):
    write_seed_runs(runs_dir)
    app = make_app(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.state.records) == 5)
        table(app).focus()
        table(app).move_cursor(row=0, column=1)
        await pilot.press("d")
        await pilot.press("n")  # changed my mind
        assert len(app.state.records) == 5 and len(list(runs_dir.iterdir())) == 5
        await pilot.press("d")
        await pilot.press("y")
        await pilot.pause()
        assert len(app.state.records) == 4 and len(list(runs_dir.iterdir())) == 4
        assert table(app).row_count == 4


async def test_run_again_loads_the_configuration_into_the_form(runs_dir):
    write_seed_runs(runs_dir)
    app = make_app(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.state.records) == 5)
        table(app).focus()
        table(app).move_cursor(row=2, column=1)  # the lr=0.0001 run
        await pilot.press("r")
        await pilot.pause()
        assert app.dashboard.form_open
        assert app.query_one("#f-lr", Input).value == "0.0001"
        assert app.query_one("#f-batch_size", Input).value == "64"
