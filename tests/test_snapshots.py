"""Screens at 80x24 (and a few other sizes), one snapshot per screen state.

Each starts the dashboard on a runs folder written by tests/synthetic.py, with a fixed device
list, so the screens do not depend on timing or on this machine. Update with
`make test PYTEST_ARGS="--snapshot-update"` and look at the SVGs before committing.
"""

from __future__ import annotations

import time

import pytest

from tests.synthetic import write_repeated_runs, write_seed_runs
from tui.app import create_app


def fixed_devices():
    return [("cuda:0 NVIDIA H100 80GB HBM3", "cuda:0"), ("cpu", "cpu")]


async def settled(pilot, expected_runs: int) -> None:
    """Wait until history and devices have loaded and the charts have drawn."""
    app = pilot.app
    deadline = time.monotonic() + 20
    while len(app.records) < expected_runs or app.query_one("#form")._devices is None:
        assert time.monotonic() < deadline, "dashboard did not settle"
        await pilot.pause(0.05)
    await pilot.pause(0.7)  # one chart redraw tick (0.5 s) and its paint


async def all_runs_loaded(pilot) -> None:
    await settled(pilot, 7)


@pytest.fixture
def seeded(tmp_path):
    runs = tmp_path / "runs"
    write_seed_runs(runs, interrupted=True, failed=True)
    return create_app(runs_dir=runs, device_probe=fixed_devices, warm=False)


def test_monitoring_screen_at_80x24(snap_compare, seeded):
    """The monitoring screen: loss chart with epoch boundaries, accuracy chart, 7 runs in the table, status and footer."""
    assert snap_compare(seeded, terminal_size=(80, 24), run_before=all_runs_loaded)


def test_form_with_an_invalid_field_at_80x24(snap_compare, seeded):
    """The run form as an overlay panel, the learning rate refused under its field."""

    async def run_before(pilot):
        await settled(pilot, 7)
        await pilot.press("n", "ctrl+a", "ctrl+k", "0")
        for field in pilot.app.query("Input"):
            field.cursor_blink = False  # a blinking cursor would make the picture depend on timing
        await pilot.pause(0.3)

    assert snap_compare(seeded, terminal_size=(80, 24), run_before=run_before)


def test_export_dialog_at_80x24(snap_compare, seeded):
    """The export dialog over the monitoring screen, with a path typed in."""

    async def run_before(pilot):
        await settled(pilot, 7)
        await pilot.press("e")
        await pilot.pause()
        pilot.app.screen.query_one("#export-path").value = "results/lr-sweep.csv"
        pilot.app.screen.query_one("#export-path").cursor_blink = False
        await pilot.pause(0.3)

    assert snap_compare(seeded, terminal_size=(80, 24), run_before=run_before)


def test_too_small_terminal(snap_compare, seeded):
    """Below 60x20: a clear message instead of a broken layout."""
    assert snap_compare(seeded, terminal_size=(50, 15), run_before=all_runs_loaded)


def test_wide_terminal_shows_the_form_beside_the_charts(snap_compare, seeded):
    """At 140x40 the form stays open beside the charts, and the table shows every column."""
    assert snap_compare(seeded, terminal_size=(140, 40), run_before=all_runs_loaded)


# ----- repeats: runs of one configuration over several seeds ----------------------------------
@pytest.fixture
def repeated(tmp_path):
    runs = tmp_path / "runs"
    write_repeated_runs(runs)
    return create_app(runs_dir=runs, device_probe=fixed_devices, warm=False)


def test_grouped_table_with_accuracy_bars_at_80x24(snap_compare, repeated):
    """`a`: a row per configuration (n, mean ± std of final and best, the seeds), and the accuracy
    chart as each configuration's mean with a bar from its lowest to its highest seed."""

    async def run_before(pilot):
        await settled(pilot, 9)
        await pilot.press("a")
        await pilot.pause(0.7)

    assert snap_compare(repeated, terminal_size=(80, 24), run_before=run_before)


def test_pivot_with_mean_and_std_at_80x24(snap_compare, repeated):
    """`p` over repeated seeds: one row per configuration, each epoch's mean ± std, n and the seeds."""

    async def run_before(pilot):
        await settled(pilot, 9)
        await pilot.press("p")
        await pilot.pause(0.3)

    assert snap_compare(repeated, terminal_size=(80, 24), run_before=run_before)


# ----- the first minute ---------------------------------------------------------------------
def test_first_start_opens_the_form_with_a_hint_at_80x24(snap_compare, tmp_path):
    """No runs yet: the form is open on the learning rate, with a one-line hint."""
    app = create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)

    async def run_before(pilot):
        await settled(pilot, 0)
        for field in pilot.app.query("Input"):
            field.cursor_blink = False
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_help_screen_at_80x24(snap_compare, seeded):
    """`?`: every key, the footer's and the rest."""

    async def run_before(pilot):
        await settled(pilot, 7)
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    assert snap_compare(seeded, terminal_size=(80, 24), run_before=run_before)
