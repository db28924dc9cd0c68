"""Sweeps: grid expansion and validation, a headless 2x2 sweep, parallel runs on two device slots."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.config import ConfigError, RunConfig
from core.runstore.results import RunRecord, load_records
from core.runstore.store import RunStore
from core.comparison.sweep import comparison_table, expand_grid, grid_size, parse_devices, split_values


def test_the_grid_is_every_combination_lr_outermost():
    configs = expand_grid({"lr": "0.01, 0.001,0.0001", "batch_size": "64,128", "epochs": "5"}, "sweep-x")
    assert [(c.lr, c.batch_size) for c in configs] == [
        (0.01, 64), (0.01, 128), (0.001, 64), (0.001, 128), (0.0001, 64), (0.0001, 128)]
    assert all(c.epochs == 5 and c.sweep == "sweep-x" for c in configs)
    assert grid_size({"lr": "0.01,0.001", "optimizer": "sgd,adam", "model": "cnn,mlp"}) == 8


@pytest.mark.parametrize(
    "values,field,words",
    [
        ({"lr": "0.01,abc"}, "lr", "'abc': must be a number"),
        ({"lr": "0.01,,0.1"}, "lr", "empty value"),
        ({"batch_size": "64,0"}, "batch_size", "'0': must be between 1"),
        ({"optimizer": "sgd,rmsprop"}, "optimizer", "'rmsprop': must be one of"),
        ({"lr": ",".join(str(0.001 * i) for i in range(1, 21)), "batch_size": ",".join(str(i) for i in range(1, 12))}, "lr", "at most 200"),
        ({"lr": "0.01", "epochs": "0"}, "epochs", ">= 1"),
    ],
)
def test_each_value_is_validated_like_the_single_run_form(values, field, words):
    with pytest.raises(ConfigError) as caught:
        expand_grid(values)
    assert caught.value.field == field and words in caught.value.message


def test_duplicates_collapse():
    assert split_values("lr", "0.01, 0.01 ,0.1") == ["0.01", "0.1"]


def test_devices():
    available = ["cuda:0", "cuda:1", "cpu"]
    assert parse_devices("all", available) == ["cuda:0", "cuda:1"]
    assert parse_devices("all", ["cpu"]) == ["cpu"]
    assert parse_devices("cuda:1, cuda:0", available) == ["cuda:1", "cuda:0"]
    assert parse_devices("cpu,cpu", available) == ["cpu", "cpu"]
    with pytest.raises(ConfigError, match="cuda:2 is not on this machine"):
        parse_devices("cuda:2", available)


def test_a_2x2_headless_sweep_stores_4_runs_and_prints_their_table(runs_dir):
    result = subprocess.run(
        [sys.executable, "-m", "tui", "sweep", "--lr", "0.05,0.01", "--batch-size", "32,64", "--train-size", "640",
         "--test-size", "300", "--epochs", "2", "--log-every", "10", "--runs-dir", str(runs_dir)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "160"},
    )
    assert result.returncode == 0, result.stderr
    records, _ = load_records(RunStore(runs_dir))
    assert len(records) == 4 and all(r.status == "done" for r in records)
    assert len({r.config.sweep for r in records}) == 1
    table_rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert len(table_rows) == 4
    for row, record in zip(table_rows, records):
        cells = [cell.strip() for cell in row.strip("│").split("│")]
        assert cells[1:3] == [f"{record.config.lr:g}", str(record.config.batch_size)]
        assert cells[5:7] == [f"{record.accuracies[1] * 100:.2f}", f"{record.accuracies[2] * 100:.2f}"]
    best = max(records, key=lambda r: r.best)
    assert f"best: {best.label} at {best.best * 100:.2f}%" in result.stdout


def test_bad_sweep_flags_exit_2():
    result = subprocess.run([sys.executable, "-m", "tui", "sweep", "--lr", "0.1,x"], capture_output=True, text=True)
    assert result.returncode == 2 and "--lr: 'x': must be a number" in result.stderr


def test_comparison_table_has_the_seeds_shape():
    records = []
    for lr, accuracies in [(0.01, [0.98, 0.99]), (0.001, [0.97])]:
        record = RunRecord("r", RunConfig(lr=lr), status="done")
        record.accuracies = dict(enumerate(accuracies, start=1))
        records.append(record)
    header, rows = comparison_table(records)
    assert header == ["#", "lr", "batch", "opt", "model", "ep 1", "ep 2", "best", "status"]
    assert rows[0] == ["1", "0.01", "64", "sgd", "cnn", "98.00", "99.00", "99.00", "done"]
    assert rows[1][5:8] == ["97.00", "", "97.00"]


def test_a_sweep_printed_into_a_file_shows_every_number_whole(runs_dir):
    """Under nohup with output to a file, the closing table is as wide as it needs: no `98.…`, no `0.0…`."""
    import re
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "tui", "sweep", "--lr", "0.001,0.0001", "--train-size", "640", "--test-size", "200",
         "--epochs", "2", "--log-every", "5", "--name", "a long name that would crowd an 80-column table out",
         "--runs-dir", str(runs_dir)],
        capture_output=True, text=True, timeout=240, env={k: v for k, v in __import__("os").environ.items() if k != "COLUMNS"},
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout[result.stdout.index("test accuracy (%) after each epoch"):]
    assert "…" not in table
    rows = [line for line in table.splitlines() if re.match(r"│ [12] ", line)]
    assert len(rows) == 2 and "0.0001" in rows[1] and "0.001" in rows[0]
    assert all(len(re.findall(r"\b\d{1,3}\.\d\d\b", row)) == 3 for row in rows)  # ep 1, ep 2 and best, whole
