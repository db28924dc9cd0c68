"""Screens at 80x24 (and a few other sizes), one snapshot per screen state.

Each starts the dashboard on a runs folder written by tests/synthetic.py, with a fixed device
list, so the screens do not depend on timing or on this machine. Update with
`make test PYTEST_ARGS="--snapshot-update"` and look at the SVGs before committing.
"""

from __future__ import annotations

import time

import pytest

from core.config import RunConfig
from core.events import BatchLogged
from core.runstore.store import RunStore
from tests.synthetic import SEED_RUNS, _write, write_repeated_runs, write_run, write_seed_runs
from tui.app import create_app


def fixed_devices():
    return [("cuda:0 NVIDIA H100 80GB HBM3", "cuda:0"), ("cpu", "cpu")]


pytestmark = pytest.mark.usefixtures("utc")  # tests/conftest.py: the pictures are taken in UTC


async def settled(pilot, expected_runs: int) -> None:
    """Wait until history and devices have loaded and the charts have drawn."""
    app = pilot.app
    deadline = time.monotonic() + 20
    while len(app.state.records) < expected_runs or not app.query("#form") or app.query_one("#form")._devices is None:
        assert time.monotonic() < deadline, "dashboard did not settle"
        await pilot.pause(0.05)
    while any(chart._dirty for chart in app.dashboard.panel.charts):  # the charts' redraw (at most one a second)
        assert time.monotonic() < deadline, "the charts did not redraw"
        await pilot.pause(0.05)
    await pilot.pause(0.1)  # and its paint


async def all_runs_loaded(pilot) -> None:
    await settled(pilot, 7)


@pytest.fixture
def seeded(tmp_path):
    runs = tmp_path / "runs"
    write_seed_runs(runs, interrupted=True, failed=True)
    return create_app(runs_dir=runs, device_probe=fixed_devices, warm=False)


def test_monitoring_screen_at_80x24(snap_compare, seeded):
    """The monitoring screen: loss chart with epoch boundaries, accuracy chart, 7 runs in the table (the
    interrupted and the failed one's reasons in its reason column, cut), status, the log pane saying
    why those two ended, and the footer."""
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


# ----- why a run ended, names, the form as loaded, a live sort (issue 17) --------------------------
def test_a_failed_runs_reason_under_the_cursor_at_80x24(snap_compare, seeded):
    """The cursor on the failed run: the status line says why, whole, over two lines; the table's
    reason column shows it cut to fit; the log pane lists why the interrupted and failed runs ended."""

    async def run_before(pilot):
        await settled(pilot, 7)
        pilot.app.dashboard.table.move_cursor(row=6, column=1)
        await pilot.pause(0.5)

    assert snap_compare(seeded, terminal_size=(80, 24), run_before=run_before)


def test_inspect_a_run_that_failed_before_its_first_epoch_at_80x24(snap_compare, seeded):
    """`i` on the failed run: its reason under the title, and on the digits tab why there is nothing to draw."""

    async def run_before(pilot):
        await settled(pilot, 7)
        pilot.app.dashboard.table.move_cursor(row=6, column=1)
        await pilot.press("i")
        deadline = time.monotonic() + 60
        while getattr(pilot.app.screen, "inspection", None) is None:
            assert time.monotonic() < deadline, "predictions not loaded"
            await pilot.pause(0.1)
        await pilot.pause(0.3)

    assert snap_compare(seeded, terminal_size=(80, 24), run_before=run_before)


def test_pivot_says_why_runs_ended_early_at_80x24(snap_compare, seeded):
    """`p`: the per-run table, then why the interrupted and the failed run ended, wrapped."""

    async def run_before(pilot):
        await settled(pilot, 7)
        await pilot.press("p")
        await pilot.pause(0.3)

    assert snap_compare(seeded, terminal_size=(80, 24), run_before=run_before)


def test_delete_dialog_wraps_a_long_path_at_80x24(snap_compare, tmp_path, monkeypatch):
    """`d` on a run in a deep runs folder: the folder's whole path, folded onto the lines it needs."""
    monkeypatch.chdir(tmp_path)  # a relative runs folder: the same path on every machine
    runs = "team-experiments/mnist/runs-on-the-shared-gpu-server-kept-for-a-year"
    write_seed_runs(tmp_path / runs, interrupted=True, failed=True)
    app = create_app(runs_dir=runs, device_probe=fixed_devices, warm=False)

    async def run_before(pilot):
        await settled(pilot, 7)
        pilot.app.dashboard.table.move_cursor(row=6, column=1)
        await pilot.press("d")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


NAMED = {  # CJK, emoji, a combining accent (NFD) beside a precomposed one, and a name longer than its column
    "20261104-090000-d001-run": "日本語の実験",
    "20261104-091000-d002-run": "🚀 rocket 🧪",
    "20261104-092000-d003-Ame-lie": "Ame\u0301lie caf\u00e9",
    "20261104-093000-d004-run": "中文名称很长的一个实验名字",
}


def test_names_in_cjk_emoji_and_accents_at_80x24(snap_compare, tmp_path):
    """Names as typed in the table and the status line's best run: CJK cut to its 20 cells with an ellipsis."""
    store = RunStore(tmp_path / "runs")
    for index, (run_id, name) in enumerate(NAMED.items()):
        write_run(store, run_id, RunConfig(name=name, lr=0.001 * (index + 1)), [96.0 + index * 0.4, 97.0 + index * 0.4])
    app = create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=lambda pilot: settled(pilot, 4))


def test_r_loads_every_select_of_the_form_at_80x24(snap_compare, tmp_path):
    """`r` on an mlp run (adam, cosine, fashion-mnist, tensorboard on): every select shows the run's value."""
    config = RunConfig(model="mlp", optimizer="adam", schedule="cosine", dataset="fashion-mnist", lr=0.0003, batch_size=256,
                       epochs=3, seed=7, train_size=6400, name="mlp adam cosine", tensorboard=True, device="cpu")
    write_run(RunStore(tmp_path / "runs"), "20261103-090000-c001-mlp", config, [90.0, 95.0, 96.5])
    app = create_app(runs_dir=tmp_path / "runs", device_probe=fixed_devices, warm=False)

    async def run_before(pilot):
        await settled(pilot, 1)
        await pilot.press("r")
        for field in pilot.app.query("Input"):
            field.cursor_blink = False
        pilot.app.clear_notifications()  # the "loaded …" toast goes after a few seconds: not in the picture
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


HEADLESS = "20261101-100000-a008-headless"


@pytest.fixture
def live_writer(tmp_path):
    """The seed's runs and one training in "another process" (this one holds its log's lock), after its first epoch."""
    store = RunStore(tmp_path / "runs")
    _write(store, SEED_RUNS)
    writer = write_run(store, HEADLESS, RunConfig(name="headless", lr=0.003, epochs=3), [99.5], live=True)
    writer.append(BatchLogged(HEADLESS, 2, 400, 1338, 0.05, 16000.0, 12.0, 0.003))
    yield tmp_path / "runs"
    writer.close()


def test_a_descending_sort_during_a_live_run_at_120x40(snap_compare, live_writer):
    """Sorted by final accuracy, descending: the live headless run (99.50 after epoch 1) on top; the
    status line follows it though this dashboard did not start it; the form open beside the charts."""
    app = create_app(runs_dir=live_writer, device_probe=fixed_devices, warm=False)

    async def run_before(pilot):
        await settled(pilot, 6)
        table = pilot.app.dashboard.table
        table.focus()
        table.move_cursor(row=0, column=1 + table.column_titles().index("final%"))
        await pilot.press("s", "s")
        pilot.app.clear_notifications()  # "sorted by …" toasts go after two seconds: not in the picture
        await pilot.pause(0.5)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
