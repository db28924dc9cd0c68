"""The headless CLI as a user runs it: a real subprocess, its printed lines, exit codes and signals."""

import json
import re
import signal
import subprocess
import sys

import pytest

from core.training.checkpoint import load_checkpoint

SMALL = ["--train-size", "640", "--test-size", "500", "--epochs", "2", "--log-every", "5", "--lr", "0.01"]


def mnist_tui(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=300, **kwargs)


def test_train_prints_the_seeds_lines(runs_dir):
    result = mnist_tui("train", *SMALL, "--runs-dir", str(runs_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    loss_lines = [l for l in lines if l.startswith("[")]
    assert [l.split("]")[0] for l in loss_lines] == [f"[{e}, {b}" for e in (1, 2) for b in (5, 10)]
    assert all(re.fullmatch(r"\[\d, \d+\] loss: \d\.\d{3}", l) for l in loss_lines)
    epoch_lines = [l for l in lines if l.startswith("epoch ")]
    assert len(epoch_lines) == 2
    assert re.fullmatch(r"epoch 1: test accuracy \d+\.\d\d% \(test loss \d\.\d{4}, \d+\.\d s\)", epoch_lines[0])
    (run,) = list(runs_dir.iterdir())
    assert load_checkpoint(run / "checkpoint.pt")["epoch"] == 2


def test_json_prints_one_event_per_line(runs_dir):
    result = mnist_tui("train", *SMALL, "--epochs", "1", "--json", "--runs-dir", str(runs_dir))
    assert result.returncode == 0, result.stderr
    every = [json.loads(line) for line in result.stdout.splitlines()]
    assert every[1]["event"] == "device_sampled"  # at the start, then every 5 s (a slow machine: after the epoch too)
    events = [e for e in every if e["event"] != "device_sampled"]
    assert [e["event"] for e in events] == ["run_started", "batch_logged", "batch_logged", "epoch_ended", "run_finished"]
    assert events[3]["accuracy"] == events[4]["final_accuracy"]
    assert 0 < events[3]["accuracy"] <= 1


@pytest.mark.parametrize(
    "flags,words",
    [
        (["--lr", "fast"], "--lr: must be a number"),
        (["--batch-size", "0"], "--batch-size: must be between 1"),
        (["--epochs", "0"], "--epochs: must be >= 1"),
        (["--model", "vgg"], "--model: must be one of cnn, mlp"),
        (["--train-size", "10", "--batch-size", "64"], "--batch-size: must be at most the training set size"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(flags, words):
    result = mnist_tui("train", *flags)
    assert result.returncode == 2
    assert words in result.stderr and "Traceback" not in result.stderr


def test_a_failed_run_exits_1_with_its_reason(tmp_path, runs_dir):
    bogus = tmp_path / "net.pth"
    bogus.write_text("not weights")
    result = mnist_tui("train", *SMALL, "--resume", str(bogus), "--runs-dir", str(runs_dir))
    assert result.returncode == 1
    assert "failed:" in result.stdout and "not a loadable mnist-tui checkpoint" in result.stdout


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGHUP, 129), (signal.SIGTERM, 143)])
def test_signals_stop_after_the_current_batch_and_save(runs_dir, signum, code):
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "train", "--train-size", "6400", "--epochs", "3", "--log-every", "2", "--runs-dir", str(runs_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    for line in process.stdout:  # wait until training is really under way
        if line.startswith("[1, 2]"):
            break
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    assert "stopped at epoch 1" in out
    (run,) = list(runs_dir.iterdir())
    last = json.loads((run / "events.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "run_stopped" and last["checkpoint"]
    assert last["reason"] == f"{signal.Signals(signum).name} received"
    assert load_checkpoint(last["checkpoint"])["format"] == "mnist-tui-checkpoint"


def test_store_flags_before_the_subcommand_are_used(tmp_path):
    """`mnist-tui --runs-dir R runs` reads R, as `mnist-tui runs --runs-dir R` does (it read ./runs)."""
    missing = tmp_path / "nowhere"
    for args in (["--runs-dir", str(missing), "runs"], ["runs", "--runs-dir", str(missing)]):
        result = subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and str(missing) in result.stderr

