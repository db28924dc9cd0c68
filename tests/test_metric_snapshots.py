"""Every logged metric, the cursor and the highlighted run, as pictures at 80x24 (issue 18).

Two finished runs written by tests/test_metrics.py (every kind of event, a GPU's included).
Update with `pytest tests/test_metric_snapshots.py --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

import pytest

from tests.test_metrics import write_metric_runs
from tests.test_snapshots import fixed_devices, settled
from tui.app import create_app

pytestmark = pytest.mark.usefixtures("utc")  # tests/conftest.py: the pictures are taken in UTC


def dashboard(tmp_path):
    write_metric_runs(tmp_path / "runs")
    return create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)


def after(*keys: str):
    async def run_before(pilot) -> None:
        await settled(pilot, 2)
        for key in keys:
            await pilot.press(key)
        for chart in pilot.app.dashboard.panel.charts:
            chart.redraw_now()
        await pilot.pause(0.2)
    return run_before


def test_cursor_lists_both_runs_values_at_80x24(snap_compare, tmp_path):
    """`v` then six times `←` (a point is a logged batch window, 0.2 epochs here): a line at epoch
    1.8 on both charts; over the loss chart each run's loss there with its step, over the accuracy
    chart each run's accuracy after epoch 2 (the points nearest the cursor); the table's columns
    `loss@ep1.8` and `accuracy@ep1.8` after the status, the same values for every run."""
    assert snap_compare(dashboard(tmp_path), terminal_size=(80, 24), run_before=after("v", *["left"] * 6))


def test_system_metrics_runner_cpu_and_gpu_power_at_80x24(snap_compare, tmp_path):
    """`[` nine times: the runner's CPU; `]` seven times: the GPU's power. Titles say which, the
    axes in % of a core and in W; epoch boundaries only where batches are drawn."""
    keys = ["left_square_bracket"] * 9 + ["right_square_bracket"] * 7
    assert snap_compare(dashboard(tmp_path), terminal_size=(80, 24), run_before=after(*keys))


def test_wall_time_axis_with_the_second_run_highlighted_at_80x24(snap_compare, tmp_path):
    """`t`: both charts against time since each run started (seconds); the table's cursor on the
    second run: it is drawn on top in its colour, the first dimmed."""
    assert snap_compare(dashboard(tmp_path), terminal_size=(80, 24), run_before=after("t", "down"))
