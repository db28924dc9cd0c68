"""Repeats over seeds, the report reproduced, and the export as a full record: real runs, real CLI."""

from __future__ import annotations

import csv
import io
import statistics
import subprocess
import sys

import pytest

from core.config import FIELD_NAMES
from core.comparison.export import csv_text, parse_run_row, run_values
from core.comparison.groups import Spread, group_runs
from core.comparison.report import outside, reproduce_configs
from core.runstore.results import load_records
from core.runstore.store import RunStore
from core.comparison.sweep import expand_grid
from tests.numbers import assert_spread

CLI = [sys.executable, "-m", "tui"]
SMALL = ["--train-size", "640", "--test-size", "500", "--log-every", "5"]


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """Output to a pipe, as under nohup into a file."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def two_seed_sweep(tmp_path_factory):
    """lr 0.01 and 0.05, seeds 1 and 2, 2 epochs: four real runs, and the sweep's printed output."""
    runs_dir = tmp_path_factory.mktemp("two-seeds")
    result = cli("sweep", "--lr", "0.01,0.05", "--seed", "1,2", "--epochs", "2", *SMALL, "--runs-dir", str(runs_dir))
    assert result.returncode == 0, result.stderr
    records, warnings = load_records(RunStore(runs_dir))
    assert len(records) == 4 and not warnings
    return runs_dir, result.stdout, records


def test_a_seed_list_repeats_the_whole_grid_once_per_seed():
    configs = expand_grid({"lr": "0.01,0.001", "seed": "1, 2,3"}, "sweep-x")
    assert [(c.seed, c.lr) for c in configs] == [(s, lr) for s in (1, 2, 3) for lr in (0.01, 0.001)]


def test_a_two_seed_sweep_prints_mean_and_std_of_its_runs_computed_by_hand(two_seed_sweep):
    _, stdout, records = two_seed_sweep
    assert "mean ± standard deviation over the seeds" in stdout
    for lr in (0.01, 0.05):
        runs = [r for r in records if r.config.lr == lr]
        assert sorted(r.config.seed for r in runs) == [1, 2]
        expected = [[r.accuracies[epoch] * 100 for r in runs] for epoch in (1, 2)] + [[r.best * 100 for r in runs]]
        (line,) = [line for line in stdout.splitlines() if "± " in line and "│" in line and line.split("│")[1].strip() == f"{lr:g}"]
        for cell, values in zip(line.split("│")[-4:-1], expected):
            assert_spread(cell, values)


def test_the_csv_holds_every_field_and_a_row_read_back_equals_the_runs_record(two_seed_sweep):
    runs_dir, _, records = two_seed_sweep
    result = cli("export", "-", "--runs-dir", str(runs_dir))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert set(FIELD_NAMES) - {"device"} <= set(rows[0]) and {"device_requested", "device", "device_name"} <= set(rows[0])
    for column in ("status", "reason", "started_at", "seconds", "torch_version", "best_accuracy", "final_accuracy",
                   "accuracy_ep1", "test_loss_ep1", "accuracy_ep2", "test_loss_ep2"):
        assert column in rows[0]
    by_id = {r.run_id: r for r in records}
    for row in rows:
        record = by_id[row["run_id"]]
        assert parse_run_row(row) == run_values(record)
        assert parse_run_row(row)["accuracy_ep2"] == record.accuracies[2] and parse_run_row(row)["seed"] == record.config.seed
        assert row["torch_version"].startswith("2.") and row["device"] == "cpu" and row["reason"] == ""


def test_a_grouped_export_has_one_row_per_configuration(two_seed_sweep):
    runs_dir, _, records = two_seed_sweep
    result = cli("export", "-", "--groups", "--runs-dir", str(runs_dir))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted(float(row["lr"]) for row in rows) == [0.01, 0.05]
    for row in rows:
        runs = [r for r in records if r.config.lr == float(row["lr"])]
        values = [r.accuracies[1] for r in runs]
        assert row["n"] == row["accuracy_ep1_n"] == "2" and row["seeds"] == "1 2"
        assert float(row["accuracy_ep1_mean"]) == pytest.approx(statistics.mean(values), abs=1e-12)
        assert float(row["accuracy_ep1_std"]) == pytest.approx(statistics.stdev(values), abs=1e-12)
        assert float(row["accuracy_ep1_min"]) == min(values) and float(row["accuracy_ep1_max"]) == max(values)


def test_cells_that_did_not_happen_are_empty(two_seed_sweep):
    _, _, records = two_seed_sweep
    short = records[0]
    short.accuracies.pop(2)
    short.test_losses.pop(2)
    row = next(csv.DictReader(io.StringIO(csv_text([short, records[1]]))))
    assert row["accuracy_ep2"] == row["test_loss_ep2"] == "" and row["accuracy_ep1"] != ""


def test_spread_and_the_reports_truncated_percent():
    spread = Spread.of([0.9812, 0.9790])
    assert spread.n == 2
    assert_spread(spread.percent(), [98.12, 97.90])
    assert Spread.of([0.5]).percent() == "50.00" and Spread.of([]) is None
    assert not outside(98, 0.9801, 0.9850) and not outside(98, 0.9700, 0.9800)  # 98 means 98.00-98.99
    assert outside(98, 0.9900, 0.9950) and outside(99, 0.9700, 0.9899)
    configs = reproduce_configs([1, 2])
    assert len(configs) == 10 and len({(c.lr, c.batch_size) for c in configs}) == 5 and configs[0].epochs == 5
    assert len(group_runs([])) == 0


def test_reproduce_prints_both_report_tables_beside_ours(tmp_path):
    result = cli("reproduce", "--epochs", "1", "--train-size", "1920", "--test-size", "1000", "--seeds", "1,2", "--runs-dir", str(tmp_path), timeout=290)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "by learning rate, batch size 64" in out and "by batch size, learning rate 0.001" in out
    records, _ = load_records(RunStore(tmp_path))
    assert len(records) == 10 and all(r.status == "done" for r in records)
    rows = {}
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 4 and cells[1] == "2":
            rows.setdefault(cells[0], []).append(cells)
    lr_rows = [rows[v][0] for v in ("0.01", "0.001", "0.0001")]
    assert [row[2] for row in lr_rows] == ["98", "97", "88"]  # the report's epoch-1 column
    assert [row[2] for row in (rows["32"][0], rows["64"][0], rows["128"][0])] == ["98", "97", "96"]
    for lr, row in zip((0.01, 0.001, 0.0001), lr_rows):
        values = [r.accuracies[1] * 100 for r in records if r.config.lr == lr and r.config.batch_size == 64]
        assert_spread(row[3], values)
        low, high = min(values), max(values)
        assert row[3].endswith("*") == (high < int(row[2]) or low >= int(row[2]) + 1)


@pytest.mark.parametrize(
    "flags,words",
    [
        (["--seeds", "1,x"], "--seeds: 'x': must be a whole number"),
        (["--seeds", ",".join(map(str, range(50)))], "--seeds: 50 seeds make 250 runs; at most 200"),
        (["--epochs", "0"], "--epochs: must be >= 1, got 0"),
        (["--train-size", "70000"], "--train-size: must be between 1 and 60,000"),
        (["--model", "[bold]rnn"], "--model: must be one of cnn, mlp; got '[bold]rnn'"),
    ],
)
def test_reproduce_refuses_a_bad_flag_naming_it_and_trains_nothing(flags, words, tmp_path):
    result = cli("reproduce", *flags, "--runs-dir", str(tmp_path / "runs"), timeout=60)
    assert result.returncode == 2 and words in result.stderr, result.stderr
    assert not (tmp_path / "runs").exists()
