"""The charts as pictures (issue 17: charts that tell the truth), the dashboard at 80x24 unless said.

Each starts the dashboard on a runs folder written here (known accuracies and losses), with the
fixed device list of tests/test_snapshots.py. Update with `pytest tests/test_chart_snapshots.py
--snapshot-update` and look at the SVGs before committing.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from core.config import RunConfig
from core.events import BatchLogged, EpochEnded, RunFinished, RunStarted
from core.runstore.store import RunStore, id_time
from tests.test_snapshots import fixed_devices, settled
from tests.synthetic import write_seed_runs
from tui.app import create_app

PER_EPOCH = 938  # batches of 64


def write_runs(runs_dir: Path, runs) -> None:
    """(run id, name, accuracy % per epoch, loss at a step) -> stored, finished runs."""
    store = RunStore(runs_dir)
    for run_id, name, accuracies, loss in runs:
        config = RunConfig(name=name)
        writer = store.create(run_id, config)
        writer.append(RunStarted(run_id, config.to_dict(), "cuda:0", "NVIDIA H100 80GB HBM3", 2_328_298, 60_000, 10_000, PER_EPOCH, id_time(run_id)))
        elapsed = 0.0
        for epoch, accuracy in enumerate(accuracies, start=1):
            for batch in range(100, PER_EPOCH + 1, 100):
                step = (epoch - 1) * PER_EPOCH + batch
                elapsed += 0.4
                writer.append(BatchLogged(run_id, epoch, batch, step, loss(step), 16000.0, elapsed, 0.01))
            writer.append(EpochEnded(run_id, epoch, accuracy / 100, 0.05, 0.1, 4.0, elapsed))
        writer.append(RunFinished(run_id, accuracies[-1] / 100, max(accuracies) / 100, elapsed, None))
        writer.close()


def decay(start: float, rate: float):
    return lambda step: 0.03 + start * math.exp(-step * rate)


def dashboard(tmp_path, runs):
    write_runs(tmp_path / "runs", runs)
    return create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)


FOUR_RUNS = [  # ten points apart, so that no run's markers cover another's
    ("20261103-090000-c001-fast", "fast", [97.02, 98.01, 98.63, 99.12], decay(2.2, 0.0012)),
    ("20261103-091000-c002-steady", "steady", [87.10, 88.04, 88.62, 89.25], decay(2.2, 0.0005)),
    ("20261103-092000-c003-slow", "slow", [77.04, 78.11, 78.52, 79.03], decay(2.2, 0.0002)),
    ("20261103-093000-c004-slower", "slower", [67.20, 68.05, 68.60, 69.15], decay(2.2, 0.0001)),
]


def test_no_color_every_run_has_its_own_marker_at_80x24(snap_compare, tmp_path, monkeypatch):
    """NO_COLOR=1, four runs: every run in the foreground colour (no grey near the background), each
    with a marker of its own along its loss line, on its accuracy points, in the legend and in the
    table's first column; the loss axis ends a row above the data (it went to 3.5)."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = dashboard(tmp_path, FOUR_RUNS)
    assert snap_compare(app, terminal_size=(80, 24), run_before=lambda pilot: settled(pilot, 4))


def test_wide_names_in_the_legend_at_80x24(snap_compare, tmp_path):
    """Run names in CJK, with an emoji and with combining accents: the accuracy chart's legend is
    cut and padded by cell width, so its frame, y labels and points stay in place."""
    runs = [
        ("20261103-090000-d001-cjk", "日本語の実験ラン", [96.10, 97.52, 98.31], decay(2.2, 0.0008)),
        ("20261103-091000-d002-emoji", "🚀 rocket 🚀 run", [94.05, 96.20, 97.14], decay(2.2, 0.0005)),
        ("20261103-092000-d003-accents", "cafe\u0301 de\u0301ja\u0300 vu", [91.33, 93.80, 95.50], decay(2.2, 0.0003)),
    ]
    app = dashboard(tmp_path, runs)
    assert snap_compare(app, terminal_size=(80, 24), run_before=lambda pilot: settled(pilot, 3))


def test_a_run_that_learns_nothing_draws_flat_at_80x24(snap_compare, tmp_path):
    """A loss of 2.3008666 with 1e-7 of noise and an accuracy stuck at 11.35%: both flat lines on
    the row of their value, y labels of four characters (2.30, 11.5), not 2.300866604."""
    runs = [("20261103-090000-e001-stuck", "stuck", [11.35, 11.35, 11.35], lambda step: 2.3008666 + 1e-7 * math.sin(step))]
    app = dashboard(tmp_path, runs)
    assert snap_compare(app, terminal_size=(80, 24), run_before=lambda pilot: settled(pilot, 1))


@pytest.fixture
def seeded(tmp_path):
    runs = tmp_path / "runs"
    write_seed_runs(runs, interrupted=True, failed=True)
    return create_app(runs_dir=runs, device_probe=fixed_devices, warm=False)


def test_charts_at_120x40(snap_compare, seeded):
    """120x40: the form beside taller charts; more rows, so finer round ticks, a label every few rows,
    and the data fills them: the loss axis ends a row above its data (it went to 4.0), the accuracy
    axis at the best run's row (it went to 100% with empty rows below the worst run)."""
    assert snap_compare(seeded, terminal_size=(120, 40), run_before=lambda pilot: settled(pilot, 7))


# ----- nothing on the dashboard misleads: accuracy within 0-100%, short loss labels, markers without colour
FAILED = "20261101-096000-a007-too-hot"  # tests/synthetic.py's failed run
LOW = [  # two runs far below the seed's: the 74.4% and 28.6%
    ("20261103-090000-h003-fast", "fast", [61.2, 74.4], decay(2.2, 0.0002)),
    ("20261103-091000-h004-slow", "slow", [12.0, 28.6], decay(2.3, 0.00005)),
]
TWELVE = [(f"20261103-09{i:02d}00-f{i:03d}-run{i}", f"run {i + 1}", [20.0 + 6.5 * i + e * (1 + i / 4) for e in range(3)],
           decay(2.2, 0.0001 * (i + 1))) for i in range(12)]
DIVERGING = [  # a learning rate far too high: the loss climbs to 6.3e9
    ("20261103-090000-g001-ok", "ok", [97.0, 98.0], decay(2.2, 0.001)),
    ("20261103-091000-g002-boom", "boom", [28.6, 11.35], lambda step: 0.5 + 6.3e9 * min(1.0, step / 1876)),
]


def seed_and_low_runs(tmp_path):
    runs = tmp_path / "runs"
    write_seed_runs(runs, interrupted=True, failed=True)
    write_runs(runs, LOW)
    return create_app(runs_dir=runs, device_probe=fixed_devices, warm=False)


async def cursor_on_the_failed_run(pilot) -> None:
    await settled(pilot, 9)
    table = pilot.app.dashboard.table
    table.move_cursor(row=table.row_keys_shown().index(FAILED), column=1)
    await pilot.pause(0.7)  # the status line's reason, then the charts' new height


def test_accuracy_on_four_rows_under_a_reason_at_80x24(snap_compare, tmp_path):
    """The cursor on the failed run: its reason takes two lines under the status line and the
    charts keep 4 rows. The accuracy axis is 0-100% on them (labels 0 and 100; it was 0-150%), so
    fast's 74.4% and slow's 28.6% are on rows of their own; the loss axis ends a row above its data."""
    app = seed_and_low_runs(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=cursor_on_the_failed_run)


def test_no_color_marks_in_the_table_and_the_status_line_at_80x24(snap_compare, tmp_path, monkeypatch):
    """NO_COLOR=1, nine runs, the cursor on the failed one: each run's marker (● x + ■ * o ◆ # ▲) in
    the table's first column and before the failed run's name in the status line, as in the charts;
    the statuses by attributes (failed in reverse video, interrupted underlined), not dark greys."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = seed_and_low_runs(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=cursor_on_the_failed_run)


def test_a_diverging_loss_with_the_log_hidden_at_80x24(snap_compare, tmp_path):
    """`l` hides the log: 13 rows. A loss that climbs to 6.3e9 is labelled 0 and 5e9 (not
    10000000000) on an axis that ends with its data; the accuracy axis ends at 100% (it went to 120%)."""
    app = dashboard(tmp_path, DIVERGING)

    async def run_before(pilot):
        await settled(pilot, 2)
        await pilot.press("l")
        await pilot.pause(0.7)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
