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
from core.store import RunStore, id_time
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
    with a marker of its own along its loss line, on its accuracy points and in the legend."""
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
    """120x40: the form beside taller charts; more rows, so finer round ticks, every other row labelled."""
    assert snap_compare(seeded, terminal_size=(120, 40), run_before=lambda pilot: settled(pilot, 7))
