"""Inspecting a run: stored predictions, confusion matrix, digits, model summary, show, TensorBoard."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from core.config import RunConfig
from core.events import EpochEnded
from core.training.inspect import confusion_matrix, load_predictions, load_test_images, per_class_accuracy
from core.training.models import build_model, parameter_count
from core.execution.session import recorded_run
from core.runstore.store import RunStore
from core.training.summary import summarize
from tests.synthetic import write_predictions, write_seed_runs
from tui.app import create_app
from tui.renderables import digit_text


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, data_dir):
    runs = tmp_path_factory.mktemp("runs")
    config = RunConfig(train_size=1280, test_size=700, epochs=2, log_every=5, lr=0.01, tensorboard=True)
    events = list(recorded_run(config, "20260101-000000-00000-inspect", store=RunStore(runs), data_dir=data_dir))
    return runs, runs / "20260101-000000-00000-inspect", events


def test_stored_predictions_match_the_logged_accuracy(trained_run):
    _, folder, events = trained_run
    logged = {e.epoch: e.accuracy for e in events if isinstance(e, EpochEnded)}
    stored = load_predictions(folder)
    assert sorted(stored) == [1, 2]
    for epoch, predictions in stored.items():
        assert len(predictions.labels) == 700
        correct = int((predictions.predicted == predictions.labels).sum())
        assert correct / 700 == logged[epoch]  # exactly what the run logged
        assert predictions.confidence.min() >= 0.1 and predictions.confidence.max() <= 1.0


def test_the_confusion_matrix_adds_up(trained_run):
    _, folder, _ = trained_run
    predictions = load_predictions(folder)[2]
    matrix = confusion_matrix(predictions)
    assert sum(map(sum, matrix)) == 700
    correct = int((predictions.predicted == predictions.labels).sum())
    assert sum(matrix[i][i] for i in range(10)) == correct
    assert [sum(row) for row in matrix] == torch.bincount(predictions.labels.long(), minlength=10).tolist()
    per_class = per_class_accuracy(matrix)
    assert all(a is None or 0 <= a <= 1 for a in per_class)


def test_a_digit_is_28_by_14_cells_and_its_darkest_cells_match(data_dir):
    image = load_test_images("mnist", data_dir, 1)[0].tolist()  # the first test digit, a 7
    text = digit_text(image)
    lines = text.plain.split("\n")
    assert len(lines) == 14 and all(len(line) == 28 for line in lines)
    cells = [span for span in text.spans]
    assert len(cells) == 28 * 14
    for row in range(14):
        for col in range(28):
            style = cells[row * 28 + col].style
            assert style.color.triplet == (image[2 * row][col],) * 3  # upper pixel
            assert style.bgcolor.triplet == (image[2 * row + 1][col],) * 3  # lower pixel
    darkest = {(r, c) for r in range(28) for c in range(28) if image[r][c] == 0}
    assert len(darkest) > 500  # an MNIST digit is mostly background


def test_the_model_summary_adds_up_to_the_parameter_count():
    for name in ("cnn", "mlp"):
        rows, total = summarize(name)
        assert total == parameter_count(build_model(name)) == sum(r.parameters for r in rows)
    rows, _ = summarize("cnn")
    assert rows[0].output_shape == (16, 26, 26) and rows[-1].output_shape == (10,)


def test_show_prints_every_part(trained_run, data_dir):
    runs, folder, _ = trained_run
    result = subprocess.run(
        [sys.executable, "-m", "tui", "show", "inspect", "--runs-dir", str(runs), "--digits", "3"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "120", "MNIST_TUI_DATA": str(data_dir)},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for part in ("run", "20260101-000000-00000-inspect", "test accuracy after each epoch", "2,328,298 parameters",
                 "confusion matrix, epoch 2", "misclassified after epoch 2"):
        assert part in out, part
    assert out.count("▀" * 28) >= 14  # three digits side by side, 14 rows each
    assert out.count("true ") >= 3 and "pred " in out
    missing = subprocess.run([sys.executable, "-m", "tui", "show", "nope", "--runs-dir", str(runs)], capture_output=True, text=True)
    assert missing.returncode == 1 and "no run matches 'nope'" in missing.stderr


def test_tensorboard_files_are_readable_by_tensorboard(trained_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, folder, events = trained_run
    accumulator = EventAccumulator(str(folder / "tensorboard"))
    accumulator.Reload()
    scalars = accumulator.Tags()["scalars"]
    assert {"train/loss", "test/accuracy", "train/lr"} <= set(scalars)
    accuracies = [s.value for s in accumulator.Scalars("test/accuracy")]
    assert accuracies == pytest.approx([e.accuracy for e in events if isinstance(e, EpochEnded)])
    logged = [e for e in events if e.kind == "batch_logged"]
    stored = accumulator.Scalars("train/loss")
    assert [s.step for s in stored] == [e.step for e in logged]
    assert [s.value for s in stored] == pytest.approx([e.loss for e in logged], rel=1e-6)
    assert accumulator.Tags()["graph"]


def test_the_device_panel_on_a_cpu(trained_run):
    from rich.console import Console

    from core.runstore.results import RunRecord
    from core.runstore.store import read_run
    from tui.device_info import device_report

    _, folder, _ = trained_run
    record = RunRecord.from_stored(read_run(folder))
    console = Console(width=100, record=True)
    console.print(device_report(record, None))
    text = console.export_text()
    assert "cpu (cpu)" in text and "training now" in text
    assert "in use of" in text and "(this machine)" in text and "resident" in text  # as its runner reported it


# ----- the inspect screen at 80x24 (snapshots) ------------------------------------------------


@pytest.fixture
def inspect_app(tmp_path, data_dir):
    runs = tmp_path / "runs"
    write_seed_runs(runs)
    write_predictions(runs / "20261101-090000-a001-cnn-lr0.01-bs64", data_dir)
    return create_app(runs_dir=runs, data_dir=data_dir, device_probe=lambda: [("cpu", "cpu")], warm=False)


async def _open_inspect(pilot):
    app = pilot.app
    deadline = time.monotonic() + 20
    while len(app.state.records) < 5:
        assert time.monotonic() < deadline
        await pilot.pause(0.05)
    app.query_one("#table").focus()
    await pilot.press("i")
    while getattr(app.screen, "inspection", None) is None:
        assert time.monotonic() < deadline
        await pilot.pause(0.05)
    await pilot.pause(0.3)


def test_digit_gallery_at_80x24(snap_compare, inspect_app):
    """The misclassified digits of the first run, filtered to true class 1, two per page at 80x24."""

    async def run_before(pilot):
        await _open_inspect(pilot)
        await pilot.press("1")
        await pilot.pause(0.2)

    assert snap_compare(inspect_app, terminal_size=(80, 24), run_before=run_before)


def test_confusion_matrix_at_80x24(snap_compare, inspect_app):
    """The confusion matrix of the last epoch with per-class accuracy."""

    async def run_before(pilot):
        await _open_inspect(pilot)
        pilot.app.screen.query_one("#inspect-tabs").active = "tab-confusion"
        await pilot.pause(0.3)

    assert snap_compare(inspect_app, terminal_size=(80, 24), run_before=run_before)


async def test_gallery_filters_and_pages(inspect_app):
    async with inspect_app.run_test(size=(80, 24)) as pilot:
        await _open_inspect(pilot)
        screen = inspect_app.screen
        wrong = screen.selected_indices()
        assert len(wrong) == 29 and all(i % 7 == 3 for i in wrong)  # every 7th of 200 was made wrong
        await pilot.press("w")
        assert len(screen.selected_indices()) == 171
        await pilot.press("w", "1")
        chosen = screen._chosen()
        assert all(int(chosen.labels[i]) == 1 for i in screen.selected_indices())
        await pilot.press("f")  # the filter now applies to the predicted class
        assert all(int(chosen.predicted[i]) == 1 for i in screen.selected_indices())
        await pilot.press("a", "right")
        assert screen.page == 1, (inspect_app.focused, screen._per_page(), len(screen.selected_indices()))
        await pilot.press("left_square_bracket")
        assert screen.epoch == 1
        await pilot.press("escape")
        assert inspect_app.screen is inspect_app.screen_stack[0]
