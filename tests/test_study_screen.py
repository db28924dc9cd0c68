"""`o`: the study screen (tui.widgets.study_screen): what a search found, live while it runs.

One real short search (the CLI, tiny subsets) makes the summary the screen is checked against;
the pictures use summary files written here (fixed numbers and names); a live search process is
stopped with `x`. Update the pictures with `pytest tests/test_study_screen.py --snapshot-update`
and look at the SVGs before committing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.runstore.liveness import process_start_time
from core.search.space import SearchSpace
from core.search.study import SearchPlan, StudySummary, TrialRow, list_summaries, read_summary, studies_dir
from tests.screen_text import screen_text
from tests.test_snapshots import fixed_devices
from tests.waiting import wait_for, wait_until
from tui.app import create_app
from tui.widgets.study_screen import StudyScreen

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("utc")  # tests/conftest.py: the pictures are taken in UTC

TINY = ["--epochs", "2", "--seed", "10", "--batch-size", "32", "--train-size", "500", "--test-size", "200", "--device", "cpu"]


def search(runs: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "tui", "search", "--runs-dir", str(runs), "--lr", "1e-4:1e-1:log", "--momentum", "0.5:0.99", *flags]


@pytest.fixture(scope="module")
def searched(tmp_path_factory, data_dir) -> tuple[Path, StudySummary]:
    """A finished search of 4 trials (the first 2 cannot be pruned: importances need 2 completed)."""
    runs = tmp_path_factory.mktemp("searched") / "runs"
    done = subprocess.run(search(runs, "--trials", "4", "--pruner-startup", "2", *TINY), cwd=REPO, capture_output=True, text=True,
                          timeout=150, env={**os.environ, "MNIST_TUI_DATA": str(data_dir)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    [summary], warnings = list_summaries(runs)
    assert summary.state == "finished" and summary.best is not None and not warnings
    return runs, summary


def dashboard(runs: Path):
    return create_app(runs_dir=runs, device_probe=fixed_devices, warm=False)


async def open_study(pilot) -> StudyScreen:
    """`o` on the dashboard, once it has started (a first start opens the form: esc closes it first)."""
    app = pilot.app
    await wait_for(pilot, lambda: app.dashboard.history_loaded and app.query_one("#form")._devices is not None, 20, "the dashboard")
    if app.dashboard.form_open:
        await pilot.press("escape")
    await pilot.press("o")
    await wait_for(pilot, lambda: isinstance(app.screen, StudyScreen), 10, "the study screen")
    await pilot.pause(0.2)  # its first paint
    return app.screen


@pytest.mark.timeout(200)  # the module's search (about 20 s here) runs in the first test's setup
async def test_the_best_trial_and_importances_and_r_loads_it_into_the_form(searched):
    runs, summary = searched
    best = summary.best
    app = dashboard(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.state.records) == len(summary.trials), 20, "the trials' runs")
        await open_study(pilot)
        text = screen_text(app)
        assert f"study {summary.name} · finished · 4/4 trials" in text
        assert f"trial {best.number}: {best.value * 100:.2f}%" in text, text
        assert f"lr {best.params['lr']:.3g}" in text and f"run {best.run_id}" in text
        assert summary.importances, summary.importance_note
        width = max(map(len, summary.importances))
        for name, value in summary.importances.items():
            assert f"{name:<{width}} {value:4.2f} █" in text, text
        assert "test accuracy (%) per trial" in text and "against lr (log axis)" in text

        await pilot.press("r")
        await wait_for(pilot, lambda: not isinstance(app.screen, StudyScreen) and app.dashboard.form_open, 10, "the form")
        for field in ("lr", "momentum"):
            assert float(app.query_one(f"#f-{field}").value) == pytest.approx(best.params[field], rel=1e-12), field
        assert app.query_one("#f-batch_size").value == "32" and app.query_one("#f-train_size").value == "500"


@pytest.mark.timeout(60)
async def test_no_search_yet_says_how_to_start_one(tmp_path):
    app = dashboard(tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.dashboard.history_loaded and app.query_one("#form")._devices is not None, 20, "the dashboard")
        await pilot.press("escape", "o")
        said = f"no search in {tmp_path / 'runs'} yet: start one with mnist-tui search"
        await wait_for(pilot, lambda: any(said in str(n.message) for n in app._notifications), 5, "the notice")
        assert not isinstance(app.screen, StudyScreen)


# ----- pictures of summaries written here -----------------------------------------------------------
def write_summary(runs: Path, name: str, state: str, *, driver: dict | None = None, message: str = "") -> Path:
    """A study of 8 trials over lr (log) and momentum: 3 completed, 1 pruned with the median rule's reason,
    1 failed, 1 training; importances as Optuna would give them."""
    space = SearchSpace.parse({"lr": "1e-4:1e-1:log", "momentum": "0.5:0.99", "epochs": "3", "batch_size": "64", "seed": "1"}, sweep=name)
    trials = [
        TrialRow(0, "20261201-090000-000-00000000-trial-0", "complete", 0.9612, {"lr": 0.0123, "momentum": 0.93}, "", 3, 0.9612),
        TrialRow(1, "20261201-090100-000-00000001-trial-1", "complete", 0.8874, {"lr": 0.00031, "momentum": 0.71}, "", 3, 0.8874),
        TrialRow(2, "20261201-090200-000-00000002-trial-2", "pruned", None, {"lr": 0.081, "momentum": 0.62},
                 "pruned after epoch 1: 41.20% is below the median 88.10% of 2 completed trials at that epoch (median pruner)", 1, 0.412),
        TrialRow(3, "20261201-090300-000-00000003-trial-3", "complete", 0.9735, {"lr": 0.0042, "momentum": 0.88}, "", 3, 0.9735),
        TrialRow(4, "20261201-090400-000-00000004-trial-4", "failed", None, {"lr": 0.095, "momentum": 0.97},
                 "loss became NaN at epoch 1, batch 40: try a lower learning rate", 0, None),
        TrialRow(5, "20261201-090500-000-00000005-trial-5", "running" if state == "running" else "complete",
                 None if state == "running" else 0.9702, {"lr": 0.0071, "momentum": 0.8}, "", 2, 0.9655),
    ]
    summary = StudySummary(name, SearchPlan(space, 8, "median", "tpe", 2).to_dict(), state, trials, {"lr": 0.8314, "momentum": 0.1686}, "",
                           driver or {}, message)
    summary.write(studies_dir(runs))
    return studies_dir(runs) / f"{name}.json"


def test_a_finished_study_at_80x24(snap_compare, tmp_path):
    """A finished study named with dots: its state, 6 of 8 trials counted (the 4th failed), one pruned; the
    best trial (3: 97.35%) with its lr and momentum and its run; the importances as bars; the accuracy
    per trial with the best-so-far line, and accuracy against lr on a log axis, the pruned trial an x."""
    write_summary(tmp_path / "runs", "lr.sweep.v2", "finished")

    async def run_before(pilot):
        await open_study(pilot)

    assert snap_compare(dashboard(tmp_path / "runs"), terminal_size=(80, 24), run_before=run_before)


def test_a_stopped_study_without_colour_at_80x24(snap_compare, tmp_path, monkeypatch):
    """NO_COLOR=1, a study stopped with its reason, the right chart on momentum (`p`): completed trials ●,
    the pruned one x, the best-so-far line in half blocks, each named in a legend in the emptiest corner."""
    monkeypatch.setenv("NO_COLOR", "1")
    write_summary(tmp_path / "runs", "search-20261201-090000", "stopped", message="SIGTERM received")

    async def run_before(pilot):
        await open_study(pilot)
        await pilot.press("p")
        await pilot.pause(0.2)

    assert snap_compare(dashboard(tmp_path / "runs"), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.timeout(60)
async def test_brackets_switch_between_studies_newest_first(tmp_path):
    runs = tmp_path / "runs"
    write_summary(runs, "older.study", "finished")
    wait_until(lambda: time.time() > read_summary(studies_dir(runs) / "older.study.json").updated_at, 5, "a later clock")
    write_summary(runs, "newer.study", "stopped", message="SIGINT received")
    app = dashboard(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_study(pilot)
        assert screen.summary.name == "newer.study" and "study newer.study · stopped (SIGINT received)" in screen_text(app)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: "study older.study · finished" in screen_text(app), 10, "the older study")
        await pilot.press("right_square_bracket")  # round again
        await wait_for(pilot, lambda: "study newer.study" in screen_text(app), 10, "the newer study again")
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: "study older.study" in screen_text(app), 10, "the older study again")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, StudyScreen), 5, "the dashboard")


# ----- a running study: its driver alive, gone, stopped with x --------------------------------------
@pytest.mark.timeout(60)
async def test_a_running_study_whose_driver_died_says_its_driver_is_gone(tmp_path):
    runs = tmp_path / "runs"
    me = {"pid": os.getpid(), "host": socket.gethostname(), "start_time": process_start_time(os.getpid())}
    write_summary(runs, "live.one", "running", driver=me)  # this test's process drives it, as far as the screen can tell
    app = dashboard(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_study(pilot)
        assert "study live.one · running · 5/8 trials · 1 pruned · 1 failed · training trial 5" in screen_text(app)
        assert app.screen.check_action("stop_study", ()) is True  # `x` is offered

        ended = subprocess.Popen([sys.executable, "-c", "pass"])
        ended.wait(timeout=30)  # reaped: its id names no process now
        gone = {"pid": ended.pid, "host": socket.gethostname(), "start_time": 12345}
        write_summary(runs, "live.one", "running", driver=gone)
        await wait_for(pilot, lambda: "its driver is gone" in screen_text(app), 10, "the re-read summary")
        text = screen_text(app)
        assert f"study live.one · its driver is gone (process {ended.pid} on {socket.gethostname()})" in text, text
        words = " ".join(text.split())  # the runs folder's path wraps
        assert "mnist-tui search --study live.one --runs-dir " in words and "continues it" in words  # from any folder
        assert not app.screen.check_action("stop_study", ())  # nothing to stop


@pytest.mark.timeout(90)
async def test_x_stops_a_live_search_and_the_study_says_stopped(tmp_path, data_dir):
    runs = tmp_path / "runs"
    driver = subprocess.Popen(search(runs, "--trials", "50", "--study", "to.stop", *TINY), cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env={**os.environ, "MNIST_TUI_DATA": str(data_dir)}, start_new_session=True)
    path = studies_dir(runs) / "to.stop.json"
    try:
        def training() -> bool:  # a trial was handed to a runner: x stops a study with a trial under way
            return driver.poll() is not None or (path.exists() and any(t.state == "running" for t in read_summary(path).trials))

        wait_until(training, 60, "the search's first trial")
        assert driver.poll() is None, driver.stderr.read().decode()[-2000:]
        app = dashboard(runs)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_study(pilot)
            await wait_for(pilot, lambda: screen.summary.name == "to.stop" and screen.alive, 10, "the live study")
            assert "study to.stop · running" in screen_text(app)
            await pilot.press("x")
            await wait_for(pilot, lambda: "Stop the study" in screen_text(app), 5, "the question")
            await pilot.press("y")
            await wait_for(pilot, lambda: driver.poll() is not None, 45, "the driver to end")
            stopped = read_summary(path)
            assert stopped.state == "stopped" and not [t for t in stopped.trials if t.state == "running"], stopped
            await wait_for(pilot, lambda: "study to.stop · stopped" in screen_text(app), 10, "the screen to say stopped")
        assert driver.returncode == 143, driver.stderr.read().decode()[-2000:]  # 128 + SIGTERM, as the CLI's exit codes say
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, 9)
            driver.wait(timeout=10)
