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

from core.training.checkpoint import SaveError, save_checkpoint
from core.config import RunConfig
from core.training.models import build_model
from core.training.trainer import make_optimizer

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
    epoch, failed = [e for e in events if e["event"] != "device_sampled"][-2:]  # a device sample may follow the epoch's end
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


# ----- item 6: damaged checkpoints are refused in one line --------------------------------------
@pytest.fixture(scope="module")
def sound_checkpoint(tmp_path_factory) -> Path:
    """A cnn checkpoint after one SGD step (momentum buffers filled), made without training."""
    import torch

    config = RunConfig()
    model = build_model("cnn")
    optimizer = make_optimizer(model, config)
    model(torch.zeros(2, 1, 28, 28)).sum().backward()
    optimizer.step()
    folder = tmp_path_factory.mktemp("checkpoints")
    return save_checkpoint(folder / "sound.pt", model=model, optimizer=optimizer, config=config.to_dict(), epoch=1, accuracy=0.5)


def _damage(sound: Path, target: Path, change) -> Path:
    import torch

    payload = torch.load(sound, weights_only=True)
    change(payload)
    torch.save(payload, target)
    return target


DAMAGES = {  # name: (how the file is damaged, the model the run trains, what the message must say)
    "cnn weights claiming mlp": (lambda p: p.update(model_name="mlp"), "mlp", "they are the cnn's"),
    "a missing tensor": (lambda p: p["state_dict"].pop("fc.1.weight"), "cnn", "missing fc.1.weight"),
    "a tensor of the wrong shape": (lambda p: p["state_dict"].update({"fc.5.bias": p["state_dict"]["fc.5.bias"][:3]}), "cnn", "fc.5.bias is [3], not [10]"),
    "an empty optimizer state": (lambda p: p.update(optimizer_state={}), "cnn", "SGD optimizer state does not fit ('param_groups' is missing"),
    "a momentum buffer of the wrong shape": (lambda p: p["optimizer_state"]["state"][0].update(momentum_buffer=p["optimizer_state"]["state"][0]["momentum_buffer"][:1, :1]), "cnn", "momentum_buffer of parameter 0 is [1, 1, 3, 3], not [16, 1, 3, 3]"),
    "a key with a newline": (lambda p: p["state_dict"].update({"fc.9\nweight": p["state_dict"]["fc.5.bias"]}), "cnn", "unexpected fc.9 weight"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_checkpoint_is_refused_in_one_line_saying_what_does_not_fit(sound_checkpoint, tmp_path, damage):
    from core.training.trainer import run_events

    change, model, expected = DAMAGES[damage]
    path = _damage(sound_checkpoint, tmp_path / "damaged.pt", change)
    config = RunConfig(model=model, resume=str(path), train_size=1000, test_size=500)
    *_, failed = run_events(config, "damaged")
    assert failed.kind == "run_failed" and failed.error_type == "CheckpointError", failed
    assert expected in failed.message and str(path) in failed.message and "resume from another checkpoint" in failed.message
    assert "\n" not in failed.message and "Error(s) in loading" not in failed.message


def test_train_resuming_a_damaged_checkpoint_exits_1_with_one_line(sound_checkpoint, tmp_path, runs_dir):
    change, _, expected = DAMAGES["a missing tensor"]
    path = _damage(sound_checkpoint, tmp_path / "damaged.pt", change)
    result = subprocess.run([*MNIST_TUI, "train", "--resume", str(path), *SMALL, "--runs-dir", str(runs_dir)],
                            capture_output=True, text=True, timeout=240, cwd=REPO)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (failed,) = [line for line in result.stdout.splitlines() if line.startswith("failed:")]
    assert expected in failed and str(path) in failed


# ----- item 7: optional parts that are installed but broken --------------------------------------
def _exported_row(runs_dir: Path) -> dict:
    """The run's row as `mnist-tui export -` writes it."""
    import csv
    import io

    from core.comparison.export import csv_text
    from core.runstore.results import load_records
    from core.runstore.store import RunStore

    records, _ = load_records(RunStore(runs_dir))
    (row,) = csv.DictReader(io.StringIO(csv_text(records)))
    return row


def test_a_broken_tensorboard_names_itself_and_the_fix_and_the_run_keeps_its_facts(runs_dir, tmp_path):
    import torch

    broken = tmp_path / "site" / "tensorboard"
    broken.mkdir(parents=True)  # installed, but fails on import as a numpy mismatch does
    (broken / "__init__.py").write_text("raise AttributeError(\"module 'numpy' has no attribute 'object'\")\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    result = subprocess.run([*MNIST_TUI, "train", "--tensorboard", "--epochs", "1", *SMALL, "--runs-dir", str(runs_dir)],
                            capture_output=True, text=True, timeout=240, cwd=REPO, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (failed,) = [line for line in result.stdout.splitlines() if line.startswith("failed:")]
    assert "TensorBoard" in failed and "AttributeError" in failed
    assert "pip install --force-reinstall tensorboard" in failed and "turn TensorBoard off" in failed
    kinds = [e["event"] for e in events_of(runs_dir)]
    assert kinds[0] == "run_started" and kinds[-1] == "run_failed"
    exported = subprocess.run([*MNIST_TUI, "export", "-", "--runs-dir", str(runs_dir)], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert exported.returncode == 0, exported.stderr
    row = _exported_row(runs_dir)
    assert row["status"] == "failed" and row["device"] == "cpu" and row["torch_version"] == torch.__version__
    assert row["train_images"] == "1000" and row["test_images"] == "500"
    assert f",{torch.__version__}," in exported.stdout


def test_a_run_that_fails_before_it_starts_still_records_its_device_and_torch(sound_checkpoint, tmp_path, runs_dir):
    import torch

    from core.execution.session import recorded_run
    from core.runstore.store import RunStore

    path = _damage(sound_checkpoint, tmp_path / "damaged.pt", DAMAGES["a missing tensor"][0])
    config = RunConfig(resume=str(path), train_size=1000, test_size=500)
    *_, failed = recorded_run(config, "20260101-000000-000-0000abcd-early", store=RunStore(runs_dir))
    assert [e["event"] for e in events_of(runs_dir)] == ["run_failed"]  # it never started
    assert (failed.device, failed.device_name, failed.torch_version) == ("cpu", "cpu", torch.__version__)
    row = _exported_row(runs_dir)
    assert row["device"] == "cpu" and row["device_name"] == "cpu" and row["torch_version"] == torch.__version__
    assert row["train_images"] == "" and row["lr"] == str(config.lr)  # not known: empty, never a default


def test_a_log_from_before_run_failed_knew_its_device_still_reads():
    from core.events import event_from_dict

    old = event_from_dict({"event": "run_failed", "run_id": "x", "error_type": "DataError", "message": "no data", "seconds": 1.0})
    assert (old.device, old.device_name, old.torch_version) == ("", "", "")
