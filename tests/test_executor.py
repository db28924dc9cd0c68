"""The one executor: device slots, several runs per device, cancelling, and the CLI on top of it.

Real runner processes train real MNIST subsets on the CPU; how many trained at once is read
from the runs' own clocks (each run's start and end in the run store), not from the executor.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.comparison.sweep import expand_grid
from core.execution.executor import Executor, device_slots
from core.execution.run_queue import slot_device
from core.config import RunConfig
from core.runstore.results import load_records
from core.runstore.store import RunStore
from core.training.stop import StopRequest

pytestmark = pytest.mark.timeout(240)


def most_at_once(records) -> int:
    """The largest number of runs whose [start, end] wall-clock intervals overlap."""
    edges = []
    for r in records:
        edges += [(r.started_at, 1), (r.started_at + r.seconds, -1)]
    peak = now = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        now += step
        peak = max(peak, now)
    return peak


def test_slots_per_device():
    assert device_slots(None, 1) is None  # plain runs: one after another
    assert device_slots(["cpu"], 1) is None
    assert device_slots(["cuda:0", "cuda:1"], 2) == ("cuda:0#0", "cuda:0#1", "cuda:1#2", "cuda:1#3")
    assert device_slots(None, 3) == ("#0", "#1", "#2")
    assert slot_device("#1", RunConfig(device="cpu")) == "cpu" and slot_device("cuda:1#3", RunConfig()) == "cuda:1"


def _train(tmp_path, data_dir, configs, **executor_args) -> tuple[list, list]:
    store = RunStore(tmp_path / "runs")
    executor = Executor(store, data_dir, warm=False, new_session=False, **executor_args.pop("executor", {}))
    events = []
    try:
        executor.submit(configs, **executor_args)
        executor.drive(events.append, StopRequest())
    finally:
        executor.close(wait_s=30)
    records, _ = load_records(store)
    return records, events


def test_two_runs_per_device_train_two_at_once_and_never_three(tmp_path, data_dir):
    configs = expand_grid({"lr": "0.01,0.02,0.03", "train_size": "1280", "test_size": "200", "epochs": "2", "log_every": "5"}, "sweep-p")
    records, events = _train(tmp_path, data_dir, configs, devices=["cpu"], runs_per_device=2)
    assert sorted(r.config.lr for r in records) == [0.01, 0.02, 0.03]
    assert all(r.status == "done" and sorted(r.accuracies) == [1, 2] for r in records)
    assert most_at_once(records) == 2
    # Every event the store holds reached the caller, in each run's order.
    assert [e.kind for e in events].count("run_finished") == 3
    # Two slots: two runner processes, each kept for its slot's next run (three runs, two pids).
    pids = {(tmp_path / "runs" / r.run_id / "runner.json").read_text() for r in records}
    assert len({__import__("json").loads(p)["pid"] for p in pids}) == 2


def test_one_slot_trains_one_run_at_a_time_in_one_runner(tmp_path, data_dir):
    configs = expand_grid({"lr": "0.01,0.02", "train_size": "640", "test_size": "200", "epochs": "1", "log_every": "5"}, "sweep-s")
    records, _ = _train(tmp_path, data_dir, configs)
    assert most_at_once(records) == 1 and all(r.status == "done" for r in records)
    pids = {__import__("json").loads((tmp_path / "runs" / r.run_id / "runner.json").read_text())["pid"] for r in records}
    assert len(pids) == 1  # the slot's runner imported torch once and trained both


def test_cancel_stops_the_run_in_flight_and_starts_no_more(tmp_path, data_dir):
    configs = expand_grid({"lr": "0.01,0.02,0.03", "train_size": "6400", "test_size": "200", "epochs": "3", "log_every": "2"})
    store = RunStore(tmp_path / "runs")
    executor = Executor(store, data_dir, warm=False, new_session=False)
    cancel, seen = StopRequest(), []

    def on_event(event):
        seen.append(event)
        if event.kind == "batch_logged":
            cancel.stop("enough (the test)")

    try:
        executor.submit(configs)
        executor.drive(on_event, cancel)
    finally:
        executor.close(wait_s=30)
    kinds = [e.kind for e in seen if e.kind != "device_sampled"]
    assert kinds[0] == "run_started" and kinds[-1] == "run_stopped" and set(kinds[1:-1]) == {"batch_logged"}
    assert seen[-1].reason == "enough (the test)"
    assert len(store.run_ids()) == 1  # the other two never started


def test_runs_per_device_flag_is_checked_and_named(runs_dir):
    for bad in ("0", "two", "17", "-1"):
        result = subprocess.run([sys.executable, "-m", "tui", "sweep", "--lr", "0.1", "--runs-per-device", bad, "--runs-dir", str(runs_dir)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "--runs-per-device: must be a whole number from 1 to 16" in result.stderr, result.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
