"""`mnist-tui search`: an Optuna search whose trials are runs, pruned by the median rule after an
epoch, kept in a journal that survives SIGKILL, reproducible from its seed; bad ranges refused.

Every search here trains real MNIST subsets on the CPU through the real CLI (runner processes,
the run store); the study is read back with Optuna itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.runstore.results import load_records
from core.runstore.store import RunStore
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(300)

SMALL = ["--train-size", "1000", "--test-size", "500", "--device", "cpu"]


def search(runs_dir: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", "search", "--runs-dir", str(runs_dir), *args],
                          capture_output=True, text=True, timeout=timeout)


def load_study(runs_dir: Path, name: str):
    import optuna

    from core.search.study import open_storage

    return optuna.load_study(study_name=name, storage=open_storage(runs_dir, name))


def summary(runs_dir: Path, name: str) -> dict:
    return json.loads((runs_dir / ".studies" / f"{name}.json").read_text())


def test_a_six_trial_search_prunes_a_trial_after_an_epoch_and_says_why(runs_dir):
    """Seed 10 draws two good learning rates first, then 1.8e-4 and 3.7e-5: those fall below the
    median of the completed trials after epoch 1 and stop there, their checkpoint kept."""
    result = search(runs_dir, "--lr", "1e-5:1e-1:log", "--trials", "6", "--epochs", "2", "--seed", "10", "--batch-size", "16",
                    "--pruner-startup", "2", "--study", "prune-me", *SMALL)
    assert result.returncode == 0, result.stderr[-2000:]
    records, _ = load_records(RunStore(runs_dir))
    assert len(records) == 6 and {r.config.sweep for r in records} == {"prune-me"}
    pruned = [r for r in records if r.status == "pruned"]
    assert pruned, [(r.config.lr, r.status, r.accuracies) for r in records]
    for record in pruned:
        assert record.last_epoch == 1 and set(record.accuracies) == {1}
        assert record.reason.startswith(f"pruned after epoch 1: {record.accuracies[1] * 100:.2f}% is below the median ")
        assert "completed trials at that epoch (median pruner)" in record.reason
        assert record.checkpoint and Path(record.checkpoint).is_file()
    completed = [r for r in records if r.status == "done"]
    median = sorted(r.accuracies[1] for r in completed)  # the pruned ones were below what completed before them
    assert all(p.accuracies[1] < median[-1] for p in pruned)
    study = load_study(runs_dir, "prune-me")
    states = sorted(t.state.name for t in study.trials)
    assert states.count("PRUNED") == len(pruned) and states.count("COMPLETE") == 6 - len(pruned)
    assert {t.user_attrs["run_id"] for t in study.trials} == {r.run_id for r in records}
    # the end: the table says why, the best trial and its command
    assert "pruned after epoch 1" in result.stdout and "best: trial " in result.stdout and "train it again: mnist-tui train --lr" in result.stdout
    assert summary(runs_dir, "prune-me")["state"] == "finished"
    listing = subprocess.run([sys.executable, "-m", "tui", "runs", "--runs-dir", str(runs_dir)], capture_output=True, text=True, timeout=60)
    assert "pruned" in listing.stdout


def test_a_search_killed_with_sigkill_continues_with_study_and_counts_no_trial_twice(runs_dir, tmp_path):
    args = ["--lr", "1e-3:1e-1:log", "--trials", "3", "--epochs", "3", "--seed", "4", "--pruner", "none", "--study", "killed", *SMALL]
    log = open(tmp_path / "first.log", "w")
    first = subprocess.Popen([sys.executable, "-m", "tui", "search", "--runs-dir", str(runs_dir), *args], stdout=log, stderr=subprocess.STDOUT)
    try:
        def second_trial_trains() -> bool:
            try:
                rows = summary(runs_dir, "killed")["trials"]
            except (OSError, ValueError):
                return False
            running = [r for r in rows if r["state"] == "running" and r["run_id"]]
            if not (any(r["state"] == "complete" for r in rows) and running):
                return False
            events = runs_dir / running[0]["run_id"] / "events.jsonl"
            return events.exists() and b'"epoch_ended"' in events.read_bytes()

        wait_until(second_trial_trains, 200, "the second trial's first epoch")
    finally:
        first.kill()  # SIGKILL: no handler runs; its runners die with it (PR_SET_PDEATHSIG)
        first.wait(timeout=30)
    rows = summary(runs_dir, "killed")["trials"]
    killed = next(r for r in rows if r["state"] == "running")
    wait_until(lambda: not _live(runs_dir / killed["run_id"]), 30, "the killed trial's runner to go")

    again = search(runs_dir, "--study", "killed")
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"trial {killed['number']} was interrupted" in again.stdout and "its parameters run again" in again.stdout
    study = load_study(runs_dir, "killed")
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    interrupted = [t for t in study.trials if t.state.name == "FAIL"]
    assert len(complete) == 3 and len(interrupted) == 1 and interrupted[0].user_attrs["interrupted"]
    assert len({t.number for t in complete}) == 3 and killed["number"] not in {t.number for t in complete}
    assert interrupted[0].params in [t.params for t in complete]  # its parameters trained again, once
    records, _ = load_records(RunStore(runs_dir))
    statuses = sorted(r.status for r in records)
    assert statuses == ["done", "done", "done", "interrupted"]
    assert {t.user_attrs["run_id"] for t in complete} == {r.run_id for r in records if r.status == "done"}
    assert summary(runs_dir, "killed")["state"] == "finished"


def _live(folder: Path) -> bool:
    from core.runstore.liveness import is_live

    return is_live(folder)


def test_the_same_seed_samples_the_same_parameters(tmp_path):
    def sampled(runs_dir: Path, seed: str) -> list[dict]:
        result = search(runs_dir, "--lr", "1e-4:1e-1:log", "--batch-size", "32,64,128", "--optimizer", "sgd,adam", "--trials", "3",
                        "--epochs", "1", "--seed", seed, "--pruner", "none", "--study", "s", "--train-size", "256", "--test-size", "200",
                        "--device", "cpu")
        assert result.returncode == 0, result.stderr[-2000:]
        return [row["params"] for row in summary(runs_dir, "s")["trials"]]

    first, second, other = sampled(tmp_path / "a", "7"), sampled(tmp_path / "b", "7"), sampled(tmp_path / "c", "8")
    assert first == second and len(first) == 3
    assert first != other


@pytest.mark.parametrize("args,words", [
    (["--lr", "1e-1:1e-4"], "--lr: the range's low end 0.1 must be below its high end 0.0001"),
    (["--lr", "abc"], "--lr: must be a number, got 'abc'"),
    (["--lr", "0:1e-1:log"], "--lr: a log range must lie above 0"),
    (["--momentum", "0:0.9:log"], "--momentum: a log range must lie above 0"),
    (["--lr", "1e-3:1e-1:ln"], "--lr: a range is low:high or low:high:log"),
    (["--optimizer", "sgd,rmsprop"], "--optimizer: 'rmsprop': must be one of sgd, adam"),
    (["--epochs", "1,2", "--lr", "1e-3:1e-1"], "--epochs: takes one value in a search"),
    (["--batch-size", "64,128", "--train-size", "100"], "--batch-size: 128: must be at most the training set size (100)"),
    (["--epochs", "2"], "--lr: a search needs a range or a list to vary"),
    (["--lr", "1e-3:1e-1", "--trials", "0"], "--trials: must be a whole number from 1 to 10000"),
    (["--lr", "1e-3:1e-1", "--timeout", "5x"], "--timeout: give seconds, or minutes and hours"),
    (["--lr", "1e-3:1e-1", "--parallel", "0"], "--parallel: must be a whole number from 1 to 64"),
    (["--lr", "1e-3:1e-1", "--pruner", "asha"], "--pruner: must be one of median, halving, hyperband, none"),
    (["--lr", "1e-3:1e-1", "--study", "my study"], "--study: a study name is 1-80 letters"),
    (["--study", "nothing-here"], "--study: there is no study nothing-here"),
    (["--study", "nothing-here", "--epochs", "1"], "--study: there is no study nothing-here"),  # a typo, not "--lr: needs a range"
    (["--lr", "1e-3:1e-1", "--sampler", "grid"], "--sampler: must be one of tpe, random"),
    (["--lr", "1e-3:1e-1", "--resume", "/nonexistent/checkpoint.pt"], "--resume: /nonexistent/checkpoint.pt does not exist"),
])
def test_bad_input_is_refused_naming_the_flag(runs_dir, args, words):
    result = search(runs_dir, *args, timeout=60)
    assert result.returncode == 2 and words in result.stderr, result.stderr
    assert not any(runs_dir.glob("2*")), "a refused search recorded a run"


def test_a_continued_study_keeps_its_ranges(runs_dir):
    first = search(runs_dir, "--lr", "1e-3:1e-1:log", "--trials", "1", "--epochs", "1", "--study", "keep", "--pruner", "none",
                   "--train-size", "256", "--test-size", "200", "--device", "cpu")
    assert first.returncode == 0, first.stderr[-2000:]
    other = search(runs_dir, "--lr", "1e-4:1e-2:log", "--study", "keep", "--epochs", "1", timeout=60)
    assert other.returncode == 2 and "--study: keep searches lr 0.001..0.1 (log); a continued study keeps its ranges" in other.stderr
    fixed = search(runs_dir, "--study", "keep", "--test-size", "500", timeout=60)
    assert fixed.returncode == 2 and "--test-size: study keep keeps the configuration it was started with" in fixed.stderr
    pruner = search(runs_dir, "--study", "keep", "--pruner", "median", timeout=60)
    assert pruner.returncode == 2 and "--pruner: study keep uses none; a continued study keeps it" in pruner.stderr
    more = search(runs_dir, "--study", "keep", "--trials", "2")
    assert more.returncode == 0, more.stderr[-2000:]
    assert [r["state"] for r in summary(runs_dir, "keep")["trials"]] == ["complete", "complete"]
    again = search(runs_dir, "--study", "keep")  # the new count was kept in the study: nothing left to train
    assert again.returncode == 0 and "study keep: 2 trials (2 done before)" in again.stdout
    assert len(summary(runs_dir, "keep")["trials"]) == 2
