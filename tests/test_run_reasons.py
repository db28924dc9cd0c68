"""Why a run ended, at a glance (issue 17, item 2): a failed, stopped or interrupted run's reason is
in the table (cut to fit), whole in the status line while the cursor is on it, in the log pane,
the inspect screen, the pivot and `mnist-tui runs`. Stored runs (tests/synthetic.py): no training."""

from __future__ import annotations

import time

import pytest

from core.config import RunConfig
from core.events import BatchLogged, RunStarted, RunStopped
from core.runstore.follow import RunUpdate, fold
from core.runstore.results import RunRecord, load_records
from core.runstore.store import RUNNER_LOG, RunStore, read_run
from tests.screen_text import screen_lines
from tests.synthetic import write_run, write_seed_runs
from tui.app import create_app
from tui.cli import main
from tests.test_dashboard import cpu_only, wait_for as until

NAN = "loss became NaN at epoch 1, batch 100: try a lower learning rate"  # the failed run's reason in tests/synthetic.py
KILLED = "its process ended without a last word (killed?) after epoch 1"  # the interrupted one's


def joined(lines: list[str]) -> str:
    """Wrapped lines read as one text (a wrap breaks at a space)."""
    return " ".join(line.strip() for line in lines)


@pytest.fixture
def seeded(tmp_path):
    write_seed_runs(tmp_path / "runs", interrupted=True, failed=True)
    return tmp_path / "runs"


async def test_a_failed_runs_reason_is_on_screen_in_the_table_status_line_log_inspect_and_pivot(seeded):
    app = create_app(runs_dir=seeded, device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == 7)
        table = app.dashboard.table
        titles = table.column_titles()
        assert titles[titles.index("best%") + 1] == "reason"  # right after the accuracies: in view at 80 columns
        rows = {row[0]: row for row in table.row_texts()}
        assert rows["too hot"][titles.index("reason")] == NAN and rows["killed mid-run"][titles.index("reason")] == KILLED
        assert all(row[titles.index("reason")] == "" for name, row in rows.items() if name not in ("too hot", "killed mid-run"))

        table.move_cursor(row=6, column=1)  # the failed run, the table's last row
        await until(pilot, lambda: "too hot" in screen_lines(app)[1] and any(line.startswith("too hot:") for line in screen_lines(app)))
        screen = screen_lines(app)
        assert screen[0].startswith(" idle · 7 runs")  # the status line's own line stays
        assert f"↳ too hot · failed: {NAN}" in joined(screen[1:3])  # whole, over two lines at 80 columns
        table_row = next(line for line in screen if "too hot" in line and "failed" in line and "↳" not in line)
        assert table_row.rstrip().endswith("loss bec")  # in the table, cut to fit at 80 columns
        log = [line for line in screen if line.startswith(("too hot:", "killed mid-run:"))]  # the log pane, wrapped
        assert log and log[-1].startswith("too hot: failed: loss became NaN")

        def log_ends_with_the_whole_reason():  # the pane scrolls to its wrapped end at its next refresh
            screen = screen_lines(app)
            starts = [i for i, line in enumerate(screen) if line.startswith("too hot:")]
            return bool(starts) and f"too hot: failed: {NAN}" in joined(screen[starts[-1]:-1])

        await until(pilot, log_ends_with_the_whole_reason, timeout=10)

        table.move_cursor(row=0, column=1)  # a run that finished: no reason line
        await until(pilot, lambda: "↳" not in screen_text_top(app))

        table.move_cursor(row=6, column=1)
        await pilot.press("i")
        def says_why_there_is_nothing():  # the line under it comes with the layout after the update
            screen = screen_lines(app)
            first = "Nothing to draw: no epoch of this run ended with a test pass."
            return first in screen and screen[screen.index(first) + 1].strip() != ""

        await until(pilot, says_why_there_is_nothing)
        screen = screen_lines(app)
        assert screen[0].startswith(" too hot 20261101-096000-a007-too-hot · no stored predictions")
        assert screen[1].strip() == f"failed: {NAN}"  # the title's second line
        assert f"failed: {NAN}" in screen[screen.index("Nothing to draw: no epoch of this run ended with a test pass.") + 1]

        await pilot.press("escape", "p")
        await until(pilot, lambda: "why runs ended early" in "\n".join(screen_lines(app)))
        screen = screen_lines(app)
        start = next(i for i, line in enumerate(screen) if "why runs ended early" in line)
        reasons = joined([line.split("▊", 1)[1].rsplit("▎", 1)[0] for line in screen[start + 1 : start + 5]])  # inside the box
        assert f"#6 killed mid-run: interrupted: {KILLED}" in reasons and f"#7 too hot: failed: {NAN}" in reasons


def screen_text_top(app) -> str:
    return "\n".join(screen_lines(app)[:3])


def test_runs_prints_the_reason_of_every_run_that_ended_early(seeded, capsys, monkeypatch):
    store = RunStore(seeded)
    stopped = RunStopped("20261102-090000-b001-stopped", 2, 300, 12.0, None, "stopped by the user (x in the dashboard)")
    write_run(store, "20261102-090000-b001-stopped", RunConfig(name="stopped early"), [97.0], end=lambda run_id, elapsed: stopped)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["runs", "--runs-dir", str(seeded)]) == 0
    out = capsys.readouterr().out
    assert f"failed: {NAN}" in out and f"interrupted: {KILLED}" in out
    assert "stopped: stopped by the user (x in the dashboard)" in out


def test_an_interrupted_run_says_so_and_quotes_its_runners_last_lines_when_it_has_them(tmp_path):
    store = RunStore(tmp_path / "runs")
    write_run(store, "20261105-090000-e001-killed", RunConfig(name="killed"), [96.0, 97.0], live=True).close()  # no last event
    write_run(store, "20261105-091000-e002-oom", RunConfig(name="oom"), [96.0], live=True).close()
    (tmp_path / "runs" / "20261105-091000-e002-oom" / RUNNER_LOG).write_text("warming up\nRuntimeError: CUDA error: an illegal memory access\n")
    killed, oom = load_records(store)[0]
    assert (killed.status, killed.reason) == ("interrupted", "its process ended without a last word (killed?) after epoch 2")
    assert oom.reason == ("its process ended without a last word (killed?) after epoch 1; its runner.log ends: "
                          "warming up | RuntimeError: CUDA error: an illegal memory access")


def test_a_run_of_another_process_that_stops_writing_mid_epoch_is_interrupted_with_where_it_was(tmp_path):
    """A headless run followed live: its log ends without a last event (the process was killed)."""
    store = RunStore(tmp_path / "runs")
    writer = write_run(store, "20261105-092000-e003-headless", RunConfig(name="headless"), [95.0], live=True)
    record = RunRecord.from_stored(read_run(tmp_path / "runs" / "20261105-092000-e003-headless"))
    assert record.status == "running" and record.reason == ""
    writer.append(BatchLogged("20261105-092000-e003-headless", 2, 300, 1238, 0.1, 16000.0, 60.0, 0.001))
    writer.close()  # its writer is gone without run_finished
    events, offset, _ = store.read_new_events(record.run_id, record.log_offset)
    assert fold(record, RunUpdate(record.run_id, None, events, offset, record.log_offset, live=False))
    assert record.status == "interrupted"
    assert record.reason == "its process ended without a last word (killed?) after epoch 1 (last logged: epoch 2, batch 300)"


def test_a_run_that_never_started_an_epoch_says_so(tmp_path):
    store = RunStore(tmp_path / "runs")
    config = RunConfig(name="early")
    writer = store.create("20261105-093000-e004-early", config)
    writer.append(RunStarted("20261105-093000-e004-early", config.to_dict(), "cpu", "cpu", 1, 640, 200, 10, time.time()))
    writer.close()
    (record,), _ = load_records(store)
    assert record.reason == "its process ended without a last word (killed?) before its first epoch ended"
