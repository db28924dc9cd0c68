"""The dashboard's shared state without Textual: the runs in view (sweep, filter, hidden), their
colours, and what one read of the run store changes (what the screen then draws and says)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.comparison.run_filter import parse_filter
from core.config import RunConfig
from core.events import EpochEnded, RunFailed, RunStarted
from core.runstore.follow import RunUpdate
from core.runstore.results import RunRecord
from tui.dashboard_state import DashboardState

pytestmark = pytest.mark.timeout(90)
REPO = Path(__file__).resolve().parents[1]


def state_with(*runs: tuple[str, dict]) -> DashboardState:
    state = DashboardState()
    for run_id, fields in runs:
        state.add(RunRecord(run_id, RunConfig(**fields), status="done"))
    return state


def started(run_id: str, config: RunConfig) -> RunStarted:
    return RunStarted(run_id, config=config.to_dict(), device="cpu", device_name="cpu", parameters=10, train_size=640, test_size=200,
                      batches_per_epoch=10, started_at=1.0)


def test_the_state_loads_no_textual():
    code = "import sys, tui.dashboard_state; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'torch')))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


def test_colours_are_given_in_the_order_runs_are_seen_and_kept_after_one_goes():
    state = state_with(("a", {}), ("b", {}), ("c", {}))
    assert [state.color(r) for r in "abc"] == [0, 1, 2]
    state.forget("b")
    state.add(RunRecord("d", RunConfig()))
    assert state.color("c") == 2 and state.color("d") == 3  # no colour is handed out twice


def test_the_view_is_the_sweep_then_the_filter_and_g_says_what_it_shows():
    state = state_with(("a", {"sweep": "lr sweep", "lr": 0.1}), ("b", {"sweep": "lr sweep", "lr": 0.01}), ("c", {"lr": 0.01}))
    assert state.cycle_view() == "showing lr sweep (2 runs)"
    assert [r.run_id for r in state.view_records()] == ["a", "b"]
    state.run_filter = parse_filter("lr<0.05")
    assert [r.run_id for r in state.visible_records()] == ["b"]
    assert state.filter_note().plain == "filter lr<0.05 · 1 of 2 runs · esc clears"
    assert state.view_title() == "lr sweep, filter lr<0.05"
    assert state.cycle_view() == "showing all runs (2 runs)"  # back to every run; the filter still holds
    assert [r.run_id for r in state.visible_records()] == ["b", "c"]
    assert state_with(("x", {})).cycle_view() == "no sweeps yet: showing all runs"


def test_space_hides_runs_from_the_charts_and_again_shows_them():
    state = state_with(("a", {}), ("b", {}), ("c", {}))
    state.toggle_hidden(("a", "b"))
    assert [r.run_id for r in state.charted_records()] == ["c"] and len(state.visible_records()) == 3
    state.toggle_hidden(("a",))
    assert [r.run_id for r in state.charted_records()] == ["a", "c"]


def test_a_read_of_the_store_folds_in_new_runs_points_ends_and_vanished_folders():
    config = RunConfig(name="first", epochs=2)
    state = DashboardState()
    state.add(RunRecord("r1", config, status="running"))
    state.add(RunRecord("gone", RunConfig(name="old"), status="done"))
    found = RunRecord("r2", RunConfig(name="elsewhere"), status="failed", message="loss became NaN")

    folded = state.fold([
        RunUpdate("r1", events=[started("r1", config)], offset=100),
        RunUpdate("r2", record=found),
        RunUpdate("gone", vanished=True),
    ])
    assert set(state.records) == {"r1", "r2"} and state.color("r2") == 2
    assert folded.reshaped and [record.run_id for record, _ in folded.forgotten] == ["gone"]
    assert any("elsewhere" in line.plain and "loss became NaN" in line.plain for line in folded.log)  # why r2 ended

    points = state.fold([RunUpdate("r1", events=[EpochEnded("r1", epoch=1, accuracy=0.91, test_loss=0.3, train_loss=0.4, seconds=2.0, elapsed=2.0)],
                                   offset=200, from_offset=100)])
    assert not points.reshaped and points.dirty == {"r1"} and state.records["r1"].accuracies == {1: 0.91}

    ended = state.fold([RunUpdate("r1", events=[RunFailed("r1", "RuntimeError", "CUDA out of memory")], offset=300, from_offset=200, live=False)])
    assert ended.reshaped and ended.finished == ["r1"] and state.records["r1"].status == "failed"
    assert ("first failed: CUDA out of memory", "error") in ended.notices


def test_a_stale_read_changes_nothing():
    state = DashboardState()
    state.add(RunRecord("r1", RunConfig(), status="running", log_offset=500))
    folded = state.fold([RunUpdate("r1", events=[EpochEnded("r1", 1, 0.9, 0.3, 0.4, 2.0, 2.0)], offset=300, from_offset=0)])
    assert not folded.reshaped and state.records["r1"].accuracies == {}
