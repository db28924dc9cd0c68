"""--compile: the training step through torch.compile, checked against eager on the CPU (gcc builds it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from core.training.checkpoint import load_checkpoint
from core.config import RunConfig
from core.training.trainer import run_events

SMALL = RunConfig(train_size=1280, test_size=1000, epochs=1, log_every=5, lr=0.01)


def test_compiled_training_matches_eager_step_for_step_and_in_accuracy(tmp_path, data_dir):
    result = subprocess.run(
        [sys.executable, "-m", "tui", "train", "--compile", "--json", "--train-size", "1280", "--test-size", "1000",
         "--epochs", "1", "--log-every", "5", "--lr", "0.01", "--runs-dir", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=280,
    )
    assert result.returncode == 0, result.stderr
    compiled = [json.loads(line) for line in result.stdout.splitlines()]
    states = [e["state"] for e in compiled if e["event"] == "compile_status"]
    assert states == ["compiling", "compiled"]  # a one-time compile, reported with its seconds
    eager = list(run_events(SMALL, "eager", data_dir=data_dir, checkpoint_path=tmp_path / "eager.pt"))
    eager_losses = [e.loss for e in eager if e.kind == "batch_logged"]
    compiled_losses = [e["loss"] for e in compiled if e["event"] == "batch_logged"]
    # Float tolerance: fused kernels sum in another order, and SGD carries the difference on.
    assert compiled_losses[0] == pytest.approx(eager_losses[0], rel=1e-4)
    assert compiled_losses == pytest.approx(eager_losses, rel=1e-2)
    assert abs(compiled[-1]["final_accuracy"] - eager[-1].final_accuracy) * 100 <= 0.5
    (folder,) = (tmp_path / "runs").iterdir()
    weights, reference = load_checkpoint(folder / "checkpoint.pt")["state_dict"], load_checkpoint(tmp_path / "eager.pt")["state_dict"]
    names = [name for name, tensor in reference.items() if tensor.is_floating_point()]
    ours, theirs = (torch.cat([state[name].flatten().float() for name in names]) for state in (weights, reference))
    assert (ours - theirs).norm() <= 1e-2 * theirs.norm()  # all weights together (a bias under BatchNorm is noise)


def test_a_compile_that_fails_falls_back_to_eager_with_a_warning(data_dir, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler here (test)")

    monkeypatch.setattr(torch, "compile", broken)
    events = list(run_events(SMALL.with_values(compile=True), "fallback", data_dir=data_dir))
    failed = [e for e in events if e.kind == "compile_status"][-1]
    assert failed.state == "failed" and "no C++ compiler here" in failed.message
    assert events[-1].kind == "run_finished"
    eager = [e.loss for e in run_events(SMALL, "eager", data_dir=data_dir) if e.kind == "batch_logged"]
    assert [e.loss for e in events if e.kind == "batch_logged"] == pytest.approx(eager, rel=1e-6)
    assert "training eager instead" in capsys.readouterr().err
