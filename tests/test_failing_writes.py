"""Writes the disk refuses, damaged checkpoints and broken optional parts: each a one-line
message naming the file or part and what to do, with every result computed kept (issue 16)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from core.checkpoint import SaveError, save_checkpoint
from core.config import RunConfig
from core.models import build_model
from core.trainer import make_optimizer

REPO = Path(__file__).resolve().parents[1]
MNIST_TUI = [sys.executable, "-m", "tui"]
SMALL = ["--train-size", "1000", "--test-size", "500"]


def events_of(runs_dir: Path) -> list[dict]:
    (folder,) = runs_dir.iterdir()
    return [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]


def leftover_temp_files(folder: Path) -> list[str]:
    return [path.name for path in folder.rglob("*.tmp")]


# ----- item 4: a write that fails with space left loses nothing computed ------------------------
def test_a_file_size_limit_fails_the_run_after_logging_the_epoch_and_leaves_no_temp_file(runs_dir):
    # bash's ulimit -f counts KiB: 4 MiB, below the cnn's checkpoint (weights and momentum, ~18 MB).
    command = " ".join([*MNIST_TUI, "train", "--epochs", "2", *SMALL, "--runs-dir", str(runs_dir)])
    result = subprocess.run(["bash", "-c", f"ulimit -f 4096; exec {command}"], capture_output=True, text=True, timeout=240, cwd=REPO)
    assert result.returncode == 1, result.stderr
    events = events_of(runs_dir)
    assert [e["event"] for e in events if e["event"] != "device_sampled"] == ["run_started", "epoch_ended", "run_failed"]
    epoch, failed = events[-2], events[-1]
    assert epoch["epoch"] == 1 and 0 <= epoch["accuracy"] <= 1
    assert "file too large" in failed["message"] and "checkpoint.pt" in failed["message"]
    assert "ulimit -f" in failed["message"] and "results up to epoch 1" in failed["message"]
    assert "\n" not in failed["message"] and "inline_container" not in result.stdout + result.stderr
    assert f"failed: {failed['message']}" in result.stdout
    assert leftover_temp_files(runs_dir) == []


def _raise(code: int):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return refuse


@pytest.mark.parametrize(
    "code, where, words, advice",
    [
        (errno.EDQUOT, "fsync", "disk quota exceeded", "larger one"),  # NFS reports a quota at fsync or close
        (errno.ENOSPC, "fsync", "no space left", "free some space"),
        (errno.EROFS, "mkstemp", "read-only", "remount it read-write"),  # a remount refuses the open
        (errno.EACCES, "mkstemp", "permission denied", "make the folder writable"),
    ],
)
def test_a_refused_checkpoint_write_says_which_file_why_and_what_to_do(tmp_path, monkeypatch, code, where, words, advice):
    config = RunConfig(model="mlp")
    model = build_model("mlp")
    target = tmp_path / "checkpoint.pt"
    monkeypatch.setattr(*((os, "fsync") if where == "fsync" else (tempfile, "mkstemp")), _raise(code))
    with pytest.raises(SaveError) as refused:
        save_checkpoint(target, model=model, optimizer=make_optimizer(model, config), config=config.to_dict(), epoch=1, accuracy=0.5)
    message = str(refused.value)
    assert str(target) in message and words in message and advice in message and "--runs-dir" in message
    assert "\n" not in message and "Errno" not in message
    assert list(tmp_path.iterdir()) == []  # no temp file, no half a checkpoint
