"""Every metric a run logs, two keys away (issue 18): what each chart draws is what the run's
events say; the cursor lists each run's value at its x; the run under the table's cursor is
drawn on top and the others dimmed; the system metrics of a headless run chart too."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.comparison import metrics
from core.config import RunConfig
from core.events import BatchLogged, DeviceSampled, EpochEnded, RunFinished, RunStarted
from core.runstore.store import RunStore, id_time
from tests.test_snapshots import fixed_devices
from tests.waiting import wait_for
from tui.app import create_app
from tui.palette import PALETTE, dim_color

PER_EPOCH = 500
RUNS = [  # (run id, name, lr, accuracy per epoch)
    ("20261104-090000-e001-first", "first", 0.05, [0.9512, 0.9701, 0.9788]),
    ("20261104-091000-e002-second", "second", 0.01, [0.9105, 0.9433, 0.9620]),
]


def write_metric_runs(runs_dir) -> dict[str, list[dict]]:
    """Two finished runs with every kind of event (a GPU's too), each value distinct; returns the
    events each run logged, as dicts (what events.jsonl holds)."""
    store, logged = RunStore(runs_dir), {}
    for k, (run_id, name, lr, accuracies) in enumerate(RUNS):
        config = RunConfig(name=name, lr=lr)
        events = [RunStarted(run_id, config.to_dict(), "cuda:0", "NVIDIA H100 80GB HBM3", 21_840, 60_000, 10_000, PER_EPOCH, id_time(run_id))]
        elapsed = 0.0
        for epoch, accuracy in enumerate(accuracies, start=1):
            for batch in range(100, PER_EPOCH + 1, 100):
                step = (epoch - 1) * PER_EPOCH + batch
                elapsed += 2.0 + k
                events.append(BatchLogged(run_id, epoch, batch, step, 2.0 / (1 + step / 300) + k / 10, 9000.0 + step + 500 * k,
                                          elapsed, lr * (0.5 ** (epoch - 1))))
                if batch % 200 == 0:
                    events.append(DeviceSampled(run_id, "cuda:0", "NVIDIA H100 80GB HBM3", (30 + step % 7 + k) * 2**30, 80 * 2**30,
                                                2**30 + step * 1000, utilization=50.0 + step % 40 - 10 * k, temperature=40.0 + epoch + k,
                                                power=200.0 + step / 10 - 30 * k, elapsed=elapsed, cpu_percent=95.0 + step % 11 - 5 * k,
                                                runner_memory=3 * 2**30 + step * 4096))
            events.append(EpochEnded(run_id, epoch, accuracy, 0.3 / epoch + k / 100, 0.4 / epoch, 10.0, elapsed + 1.0))
            elapsed += 1.0
        events.append(RunFinished(run_id, accuracies[-1], max(accuracies), elapsed, None))
        writer = store.create(run_id, config)
        for event in events:
            writer.append(event)
        writer.close()
        logged[run_id] = [e.to_dict() for e in events]
    return logged


# What each metric is, read straight from the logged events (its unit as charted).
EXPECTED = {
    "train_loss": ("batch_logged", lambda e: e["loss"]),
    "test_accuracy": ("epoch_ended", lambda e: e["accuracy"] * 100),
    "test_loss": ("epoch_ended", lambda e: e["test_loss"]),
    "lr": ("batch_logged", lambda e: e["lr"]),
    "samples_per_sec": ("batch_logged", lambda e: e["samples_per_sec"]),
    "device_memory": ("device_sampled", lambda e: e["memory_used"] / 2**30),
    "gpu_utilization": ("device_sampled", lambda e: e["utilization"]),
    "gpu_temperature": ("device_sampled", lambda e: e["temperature"]),
    "gpu_power": ("device_sampled", lambda e: e["power"]),
    "runner_cpu": ("device_sampled", lambda e: e["cpu_percent"]),
    "runner_memory": ("device_sampled", lambda e: e["runner_memory"] / 2**30),
}


def drawn(chart) -> list[tuple[list[float], list[float]]]:
    """What the chart gave plotext: (xs, ys) of each line (and scatter), in drawing order."""
    monitor = chart.plt._active.monitor
    return [(list(xs), list(ys)) for xs, ys in zip(monitor.x, monitor.y)]


async def on_metric(pilot, app, key: str, side: str = "left") -> None:
    chart = app.dashboard.panel.left_chart if side == "left" else app.dashboard.panel.right_chart
    for _ in range(len(metrics.METRICS)):
        if chart.metric_key == key:
            break
        await pilot.press("left_square_bracket" if side == "left" else "right_square_bracket")
    assert chart.metric_key == key
    chart.redraw_now()
    await pilot.pause()


@pytest.fixture
def logged(tmp_path):
    return write_metric_runs(tmp_path / "runs")


def dashboard(tmp_path):
    return create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)


async def loaded(pilot, app, n: int = 2) -> None:
    await wait_for(pilot, lambda: len(app.state.records) == n and app.dashboard.table.row_count == n, timeout=20)


async def test_each_metric_is_charted_from_the_runs_events(tmp_path, logged):
    app = dashboard(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        for key, (kind, value) in EXPECTED.items():
            await on_metric(pilot, app, key)
            lines = drawn(app.dashboard.panel.left_chart)
            for run_id, events in logged.items():  # the highlighted (first) run is drawn last, on top
                want = [value(e) for e in events if e["event"] == kind]
                assert any(ys == pytest.approx(want) for _, ys in lines), f"{key} of {run_id}: {want} not among {lines}"
            title = app.dashboard.panel.left_chart.render().plain.split("\n")[0].strip()
            assert title in (metrics.metric(key).title, metrics.metric(key).short), title


async def test_the_x_axis_in_wall_time_is_each_events_elapsed_seconds(tmp_path, logged):
    app = dashboard(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await pilot.press("t")
        app.dashboard.panel.left_chart.redraw_now()
        await pilot.pause()
        first = logged[RUNS[0][0]]
        seconds = max(e["elapsed"] for events in logged.values() for e in events if e["event"] == "batch_logged")
        scale, unit = metrics.time_unit(seconds)
        xs = [e["elapsed"] / scale for e in first if e["event"] == "batch_logged"]
        assert any(line_xs == pytest.approx(xs) for line_xs, _ in drawn(app.dashboard.panel.left_chart))
        assert f"time since the start, {unit}" in app.dashboard.panel.left_chart.render().plain


async def test_the_cursor_lists_each_runs_value_at_its_epoch(tmp_path, logged):
    app = dashboard(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await pilot.press("v")  # on the newest point: the last logged batch, after epoch 3
        for _ in range(6):  # back to epoch 2's last batches (5 windows an epoch)
            await pilot.press("left")
        x = app.dashboard.panel.left_chart.cursor_x
        assert 1 < x < 3 and app.dashboard.panel.right_chart.cursor_x == x
        accuracy, loss = app.dashboard.panel.right_chart.render().plain, app.dashboard.panel.left_chart.render().plain
        epoch = min((1, 2, 3), key=lambda e: abs(e - x))  # each run's point nearest the cursor: the one drawn there
        for run_id, name, _, accuracies in RUNS:
            shown = metrics.metric("test_accuracy").format(accuracies[epoch - 1] * 100)
            assert f"{name}" in accuracy and f"{shown} ep {epoch}" in accuracy, accuracy
            window = min((e for e in logged[run_id] if e["event"] == "batch_logged"), key=lambda e: abs(e["step"] / PER_EPOCH - x))
            assert f"{metrics.metric('train_loss').format(window['loss'])} step {window['step']:,}" in loss, loss
        # Every run's value at the cursor is in the table too (the charts list as many as they have rows for).
        titles = app.dashboard.table.column_titles()
        assert titles[2:4] == [f"loss@ep{x:.3g}", f"accuracy@ep{x:.3g}"], titles
        rows = {row[0]: row for row in app.dashboard.table.row_texts()}
        for run_id, name, _, accuracies in RUNS:
            window = min((e for e in logged[run_id] if e["event"] == "batch_logged"), key=lambda e: abs(e["step"] / PER_EPOCH - x))
            assert rows[name][2:4] == [metrics.metric("train_loss").format(window["loss"]),
                                       metrics.metric("test_accuracy").format(accuracies[epoch - 1] * 100)]
        await pilot.press("v")
        assert app.dashboard.panel.left_chart.cursor_x is None and "step" not in app.dashboard.panel.left_chart.render().plain
        assert not any("@" in title for title in app.dashboard.table.column_titles())


async def test_left_and_right_move_the_table_again_without_the_cursor(tmp_path, logged):
    app = dashboard(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        column = app.dashboard.table.cursor_coordinate.column
        await pilot.press("right")
        assert app.dashboard.table.cursor_coordinate.column == column + 1  # the table's own sideways move


async def test_the_run_under_the_table_cursor_is_drawn_on_top_and_the_others_dimmed(tmp_path, logged):
    app = dashboard(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        first, second = (r[0] for r in RUNS)
        await wait_for(pilot, lambda: app.dashboard.table.cursor_run_id() == first, timeout=5)
        for run_id, dimmed in ((first, second), (second, first)):
            if app.dashboard.table.cursor_run_id() != run_id:
                await pilot.press("down")
            for chart in app.dashboard.panel.charts:
                chart.redraw_now()
            await pilot.pause()
            colors = {run_id: PALETTE[app.state.color(run_id)] for run_id in (first, second)}
            for chart in app.dashboard.panel.charts:
                assert chart.highlight == run_id
                monitor = chart.plt._active.monitor
                last = monitor.color[-1][0]  # the last line drawn: the highlighted run's, in its colour
                assert str(colors[run_id]) in str(last), (monitor.color, colors)
                all_colors = str(monitor.color)
                assert str(dim_color(colors[dimmed])) in all_colors and f"{colors[dimmed]}," not in all_colors.replace(" ", "") + ","


async def test_cycling_skips_what_no_run_logged_and_says_so(tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = "20261104-100000-e003-cpu"
    config = RunConfig(name="on the cpu")
    writer = store.create(run_id, config)
    writer.append(RunStarted(run_id, config.to_dict(), "cpu", "cpu", 21_840, 640, 100, 10, id_time(run_id)))
    writer.append(DeviceSampled(run_id, "cpu", "cpu", 8 * 2**30, 24 * 2**30, 2**29, elapsed=1.0, cpu_percent=180.0, runner_memory=2**29))
    writer.append(BatchLogged(run_id, 1, 10, 10, 1.5, 640.0, 1.5, 0.01))
    writer.append(EpochEnded(run_id, 1, 0.8, 0.6, 1.5, 2.0, 2.0))
    writer.close()
    app = dashboard(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app, 1)
        seen = []
        for _ in range(len(metrics.METRICS)):
            await pilot.press("left_square_bracket")
            seen.append(app.dashboard.panel.left_chart.metric_key)
        assert not {"gpu_utilization", "gpu_temperature", "gpu_power"} & set(seen)
        assert {"runner_cpu", "runner_memory", "device_memory", "lr", "samples_per_sec", "test_loss"} <= set(seen)


@pytest.mark.timeout(180)
async def test_a_headless_runs_system_metrics_chart_from_its_log(tmp_path, data_dir):
    """A real `mnist-tui train` (no dashboard): its runner wrote device_sampled events with its
    CPU and memory; the dashboard opened afterwards charts exactly those."""
    runs = tmp_path / "runs"
    result = subprocess.run(
        [sys.executable, "-m", "tui", "train", "--train-size", "3200", "--test-size", "500",
         "--epochs", "3", "--log-every", "10", "--runs-dir", str(runs), "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=150, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    (log,) = runs.glob("*/events.jsonl")
    samples = [json.loads(line) for line in log.read_text().splitlines() if '"device_sampled"' in line]
    assert samples and all(s["runner_memory"] > 50 * 2**20 for s in samples)  # torch alone takes more
    assert all(s["cpu_percent"] is not None and 0 <= s["cpu_percent"] <= 100 * os.cpu_count() + 5 for s in samples)
    app = dashboard(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app, 1)
        for key, field, scale in (("runner_cpu", "cpu_percent", 1), ("runner_memory", "runner_memory", 2**30), ("device_memory", "memory_used", 2**30)):
            await on_metric(pilot, app, key)
            ((_, ys),) = drawn(app.dashboard.panel.left_chart)
            assert ys == pytest.approx([s[field] / scale for s in samples])


def test_a_device_samples_epoch_is_interpolated_between_logged_batches():
    from core.runstore.results import RunRecord

    record = RunRecord("r", RunConfig())
    for event in (BatchLogged("r", 1, 100, 100, 1.0, 1000.0, 10.0, 0.1), BatchLogged("r", 1, 200, 200, 0.9, 1000.0, 20.0, 0.1)):
        record.batches_per_epoch = 400
        record.apply(event)
    record.apply(EpochEnded("r", 1, 0.9, 0.3, 0.5, 45.0, 45.0))
    at = metrics.epoch_clock(record)
    assert at(0.0) == 0.0 and at(5.0) == pytest.approx(0.125)  # from the start to the first log
    assert at(15.0) == pytest.approx(0.375)  # halfway between 0.25 and 0.5 epochs
    assert at(30.0) == pytest.approx(0.5) and at(50.0) == pytest.approx(1.0)  # after the log; after the epoch ended


def test_the_cursor_reads_the_point_drawn_nearest_to_it():
    points = [metrics.Point(x, x * 10, x, None) for x in (1.0, 2.0, 3.0)]
    assert metrics.value_at(points, 0.4) is None  # before its first point by more than half a spacing
    assert metrics.value_at(points, 2.0).value == 20.0 and metrics.value_at(points, 2.4).value == 20.0
    assert metrics.value_at(points, 2.6).value == 30.0 and metrics.value_at(points, 3.4).value == 30.0
    assert metrics.value_at(points, 3.6) is None  # it had not got there
    assert metrics.value_at([], 1.0) is None


def test_values_read_at_the_cursor_are_written_in_their_unit():
    assert metrics.metric("test_accuracy").format(98.1234) == "98.12%"
    assert metrics.metric("samples_per_sec").format(12345.6) == "12,346"  # the title says samples/s
    assert metrics.metric("runner_cpu").format(97.93) == "97.93%"
    assert metrics.metric("train_loss").format(0.0931234) == "0.09312"
    assert metrics.metric("gpu_temperature").format(65.0) == "65 °C"
    assert metrics.time_unit(100) == (1.0, "seconds") and metrics.time_unit(600) == (60.0, "minutes")
    assert metrics.time_unit(4 * 3600) == (3600.0, "hours")
    with pytest.raises(KeyError, match="metrics: train_loss"):
        metrics.metric("accuracy")
    with pytest.raises(ValueError, match="x axis"):
        metrics.series(None, "lr", "steps")


def test_a_run_that_logged_no_batch_still_has_its_training_loss_per_epoch():
    """Fewer batches an epoch than `log_every` (50 at batch 64 on 3,200 images, logged every 100):
    the epochs' mean training loss is its training loss curve, and the cursor reads it."""
    from core.runstore.results import RunRecord

    record = RunRecord("r", RunConfig())
    record.apply(RunStarted("r", RunConfig().to_dict(), "cpu", "cpu", 1, 3200, 1000, 50, 0.0))
    for epoch, loss in ((1, 0.9), (2, 0.5), (3, 0.3)):
        record.apply(EpochEnded("r", epoch, 0.8 + epoch / 100, loss / 2, loss, 2.0, 2.0 * epoch))
    points = metrics.series(record, "train_loss")
    assert [(p.x, p.value) for p in points] == [(1.0, 0.9), (2.0, 0.5), (3.0, 0.3)]
    assert metrics.value_at(points, 2.2, metrics.span(record, "epoch")).value == 0.5


def test_the_cursor_at_a_runs_end_reads_its_last_point_and_past_it_nothing():
    from core.runstore.results import RunRecord

    record = RunRecord("r", RunConfig())
    record.batches_per_epoch = 10
    for step in (3, 6, 9):  # logged every 3 batches: the last window ends at 0.9 epochs
        record.apply(BatchLogged("r", 1, step, step, 1.0 / step, 100.0, float(step), 0.1))
    record.apply(EpochEnded("r", 1, 0.9, 0.3, 0.4, 10.0, 10.0))
    points, span = metrics.series(record, "train_loss"), metrics.span(record, "epoch")
    assert metrics.value_at(points, 1.0, span).step == 9  # the epoch's end: the run got there
    assert metrics.value_at(points, 1.3, span) is None  # it never trained a second epoch
