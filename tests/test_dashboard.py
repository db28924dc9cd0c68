"""The dashboard driven as a user drives it (Textual's pilot), training real MNIST subsets on the CPU."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

from textual.widgets import Input, Static

from core.config import FIELD_NAMES
from core.events import event_from_dict
from tui.app import create_app
from tui.widgets.results_table import ResultsTable
from tests.waiting import wait_for, wait_until

FAST = {"train_size": "640", "test_size": "200", "epochs": "2", "lr": "0.01"}


def cpu_only():
    return [("cpu", "cpu")]


def make_app(runs_dir, warm=False):
    """The app as the CLI makes it, with a CPU-only device list; warm=False: no runner until a run needs one."""
    return create_app(runs_dir=runs_dir, device_probe=cpu_only, warm=warm)


def fill(app, **values):
    for field, text in values.items():
        app.query_one(f"#f-{field}", Input).value = text


async def start(pilot, app, **values):
    await pilot.press("n")
    fill(app, **{**FAST, **values})
    await pilot.pause()
    app.query_one("#form").submit()
    await pilot.pause()


def table(app) -> ResultsTable:
    return app.query_one("#table", ResultsTable)


def column(app, title):
    return table(app).column_titles().index(title)


async def test_an_invalid_learning_rate_shows_its_error_and_starts_nothing(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")  # opens the form on the learning rate
        assert app.focused.id == "f-lr"
        await pilot.press("ctrl+a", "ctrl+k", "-", "1")  # typed like a user
        await pilot.pause()
        assert "must be > 0, got -1" in str(app.query_one("#e-lr", Static).render())
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.state.records == {} and table(app).row_count == 0
        assert not runs_dir.exists() or not any(runs_dir.iterdir())


async def test_a_run_fills_its_row_and_both_charts(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        await start(pilot, app, log_every="2")
        await wait_for(pilot, lambda: [r.status for r in app.state.records.values()] == ["done"])
        await wait_for(pilot, lambda: not app.dashboard.panel.left_chart._dirty and not app.dashboard.panel.right_chart._dirty, timeout=5)  # redrawn
        (log_file,) = runs_dir.glob("*/events.jsonl")  # the events exactly as the trainer sent them
        events = [event_from_dict(json.loads(line)) for line in log_file.read_text().splitlines()]
        epochs = {e.epoch: e.accuracy for e in events if e.kind == "epoch_ended"}
        assert sorted(epochs) == [1, 2]
        (row,) = table(app).row_texts()
        assert row[column(app, "ep1%")] == f"{epochs[1] * 100:.2f}"
        assert row[column(app, "ep2%")] == f"{epochs[2] * 100:.2f}" == row[column(app, "final%")]
        assert row[column(app, "status")] == "done" and row[column(app, "lr")] == "0.01"
        (record,) = app.state.records.values()
        loss_points = [e for e in events if e.kind == "batch_logged"]
        assert len(record.losses) == len(loss_points) == 10  # 5 per epoch at log_every=2
        loss_chart, accuracy_chart = app.query_one("#left-chart"), app.query_one("#right-chart")
        assert [s.record for s in loss_chart.series] == [record] == [s.record for s in accuracy_chart.series]
        assert "training loss" in loss_chart.plt.build() and "●" in accuracy_chart.plt.build()
        def log_text() -> str:
            return "\n".join(str(line.text) for line in app.query_one("#log").lines)

        await wait_for(pilot, lambda: "epoch 2: test accuracy" in log_text(), timeout=5)  # the pane is written every 2 s
        assert "[1, 2] loss: " in log_text()


async def test_a_second_start_queues_and_stop_ends_the_run_as_stopped(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app, train_size="19200", epochs="3", log_every="2")
        await start(pilot, app, name="second")
        first, second = app.state.records.values()
        assert (first.status, second.status) == ("running", "queued")
        assert "+1 queued" in str(app.query_one("#status").render())
        await wait_for(pilot, lambda: first.last_batch is not None)
        await pilot.press("x")
        await wait_for(pilot, lambda: first.status == "stopped")
        assert first.last_epoch == 0 and first.checkpoint  # stopped within epoch 1 (300 batches), weights kept
        await wait_for(pilot, lambda: second.status == "done")  # the queue went on
        statuses = {row[column(app, "name")]: row[column(app, "status")] for row in table(app).row_texts()}
        assert statuses == {first.label: "stopped", "second": "done"}


async def test_clear_queue_drops_waiting_runs(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app, train_size="19200", epochs="5")  # keys are slow in a busy pilot: a long run
        await start(pilot, app, name="waiting")
        await pilot.press("escape")
        await pilot.press("c")
        await pilot.pause()
        assert [r.status for r in app.state.records.values()] == ["running"], list(app.state.records.values())
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.executor.queue.current)


async def test_export_writes_the_tables_values(runs_dir, tmp_path):
    app = make_app(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot, app, epochs="1", log_every="5")
        await start(pilot, app, epochs="1", log_every="5", lr="0.05", name="=cmd|' /C calc'!A0")
        await wait_for(pilot, lambda: all(r.status == "done" for r in app.state.records.values()))
        target = tmp_path / "results.csv"
        await pilot.press("escape", "e")
        await pilot.pause()
        dialog_input = app.screen.query_one("#export-path", Input)
        assert dialog_input.value.startswith("mnist-results-") and dialog_input.value.endswith(".csv")
        dialog_input.value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        with target.open() as handle:
            header, *rows = list(csv.reader(handle))
        assert set(FIELD_NAMES) - {"device"} <= set(header) and {"device_requested", "device", "torch_version"} <= set(header)
        shown = table(app).row_texts()
        assert [row[header.index("run_id")] for row in rows] == [table(app).coordinate_to_cell_key((i, 0)).row_key.value for i in range(2)]
        assert rows[1][header.index("name")] == "'=cmd|' /C calc'!A0" and shown[1][0] == "=cmd|' /C calc'!A0"  # neutralised in the file only
        record = app.state.records[rows[0][header.index("run_id")]]
        assert float(rows[0][header.index("accuracy_ep1")]) == record.accuracies[1]  # exact: no rounding on the way

        # exporting again to the same path asks before overwriting; a bad folder is an error in the dialog
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert "exists" in str(app.screen.query_one("#export-error", Static).render())
        app.screen.query_one("#export-path", Input).value = str(tmp_path / "missing" / "x.csv")
        await pilot.press("enter")
        await pilot.pause()
        assert "cannot write" in str(app.screen.query_one("#export-error", Static).render())
        await pilot.press("escape")


async def test_sorting_and_hiding_from_the_table(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot, app, epochs="1", lr="0.001", name="slow")
        await start(pilot, app, epochs="1", lr="0.05", name="fast")
        await wait_for(pilot, lambda: all(r.status == "done" for r in app.state.records.values()))
        await pilot.press("escape")
        table(app).focus()
        table(app).move_cursor(row=0, column=1 + column(app, "lr"))
        await pilot.press("s")
        assert [row[0] for row in table(app).row_texts()] == ["slow", "fast"]
        await pilot.press("s")
        assert [row[0] for row in table(app).row_texts()] == ["fast", "slow"]
        await pilot.press("space")  # hide the run under the cursor: it followed "slow" to the last row
        await pilot.pause()
        assert [s.record.label for s in app.query_one("#left-chart").series] == ["fast"]
        assert [str(table(app).get_row_at(i)[0]) for i in range(2)] == ["●", "○"]


def last_event(runs_dir, run_id):
    lines = (runs_dir / run_id / "events.jsonl").read_text().splitlines()
    return json.loads(lines[-1]) if lines else {}


async def test_quitting_and_choosing_stop_records_the_run_as_stopped(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app, train_size="12800", epochs="2", log_every="2")
        (record,) = app.state.records.values()
        await wait_for(pilot, lambda: record.last_batch is not None)
        await pilot.press("escape", "q")
        await pilot.pause()
        assert type(app.screen).__name__ == "QuitDialog"
        await pilot.press("s")
        await wait_for(pilot, lambda: not app.is_running, timeout=30)
    last = wait_until(lambda: last_event(runs_dir, record.run_id)["event"] == "run_stopped" and last_event(runs_dir, record.run_id), 60, "run_stopped")
    assert last["reason"] == "the dashboard was closed" and last["checkpoint"]


async def test_a_run_keeps_training_after_the_dashboard_exits_and_is_recorded_done(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app, train_size="3200", epochs="2", log_every="5")
        await start(pilot, app, name="queued behind it")
        first, second = app.state.records.values()
        await wait_for(pilot, lambda: first.last_batch is not None)
        await pilot.press("escape", "q")
        await pilot.pause()
        await pilot.press("enter")  # the default: keep training in the background
        await wait_for(pilot, lambda: not app.is_running, timeout=30)
    assert first.status == "running" and second.status == "queued"  # the app left while they had not ended
    for run_id in (first.run_id, second.run_id):  # the queue was handed to a background runner
        wait_until(lambda: (runs_dir / run_id / "events.jsonl").exists() and last_event(runs_dir, run_id).get("event") == "run_finished", 120, f"{run_id} to finish")
    assert json.loads((runs_dir / second.run_id / "config.json").read_text())["name"] == "queued behind it"


async def test_shrinking_to_20x5_and_back_during_a_run(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app, train_size="3200", log_every="2")
        (record,) = app.state.records.values()
        for size in [(20, 5), (80, 24), (20, 5), (59, 19), (200, 60), (80, 24)]:
            await pilot.resize_terminal(*size)
            await pilot.pause(0.3)
            if size == (20, 5):
                assert "Make the window larger" in str(app.query_one("#too-small", Static).render())
        assert app.query_one("#charts").display and not app.screen.has_class("-too-small")
        await wait_for(pilot, lambda: record.status == "done")


async def test_history_is_loaded_at_start(runs_dir):
    first = make_app(runs_dir)
    async with first.run_test(size=(80, 24)) as pilot:
        await start(pilot, first, epochs="1", name="earlier")
        await wait_for(pilot, lambda: all(r.status == "done" for r in first.state.records.values()))
        accuracy = next(iter(first.state.records.values())).final
    second = make_app(runs_dir)
    async with second.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: second.state.records)
        (record,) = second.state.records.values()
        assert (record.label, record.status, record.final) == ("earlier", "done", accuracy)


def test_importing_the_app_does_not_import_torch():
    code = "import sys, tui.app, tui.cli; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


async def test_every_binding_is_in_the_command_palette(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for key in ("(n)", "(x)", "(c)", "(e)", "(g)", "(p)", "(m)", "(l)", "(q)", "(s)", "(␣)", "(r)", "(i)", "(d)"):
            assert any(title.endswith(key) for title in titles), key
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"export the results")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "ExportDialog"
