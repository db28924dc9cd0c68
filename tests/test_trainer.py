"""The training engine on real MNIST subsets: accuracy, determinism, stopping, resuming, failing."""

import threading

import pytest
import torch

from core.training.checkpoint import CheckpointError, load_checkpoint
from core.config import RunConfig
from core.events import BatchLogged, EpochEnded, RunFailed, RunFinished, RunStarted, RunStopped
from core.training.trainer import run_events

SMALL = RunConfig(train_size=1280, test_size=500, epochs=1, log_every=5, lr=0.01)


def kinds(events):
    """The kinds of the events a user reads (device reports come with time, not with progress)."""
    return [e.kind for e in events if e.kind != "device_sampled"]


def test_one_epoch_on_19200_digits_reaches_94_percent(data_dir):
    config = RunConfig(lr=0.01, batch_size=64, epochs=1, train_size=19_200)
    events = list(run_events(config, "acc", data_dir=data_dir))
    started, *_, epoch, finished = [e for e in events if e.kind != "device_sampled"]  # one may follow the epoch's end
    assert isinstance(started, RunStarted) and started.test_size == 10_000 and started.batches_per_epoch == 300
    assert isinstance(epoch, EpochEnded) and isinstance(finished, RunFinished)
    assert [e.batch for e in events if isinstance(e, BatchLogged)] == [100, 200, 300]
    assert epoch.accuracy >= 0.94, epoch
    assert finished.final_accuracy == epoch.accuracy


def test_a_seed_makes_two_cpu_runs_identical(data_dir):
    first = [e for e in run_events(SMALL, "a", data_dir=data_dir) if isinstance(e, (BatchLogged, EpochEnded))]
    second = [e for e in run_events(SMALL, "a", data_dir=data_dir) if isinstance(e, (BatchLogged, EpochEnded))]
    assert [e.loss for e in first if isinstance(e, BatchLogged)] == [e.loss for e in second if isinstance(e, BatchLogged)]
    assert first[-1].accuracy == second[-1].accuracy
    other = [e for e in run_events(SMALL.with_values(seed=2), "b", data_dir=data_dir) if isinstance(e, BatchLogged)]
    assert [e.loss for e in other] != [e.loss for e in first if isinstance(e, BatchLogged)]


def test_loss_window_and_steps(data_dir):
    config = SMALL.with_values(epochs=2)
    logged = [e for e in run_events(config, "w", data_dir=data_dir) if isinstance(e, BatchLogged)]
    assert [(e.epoch, e.batch, e.step) for e in logged[:5]] == [(1, 5, 5), (1, 10, 10), (1, 15, 15), (1, 20, 20), (2, 5, 25)]
    assert all(e.samples_per_sec > 0 and e.lr == 0.01 for e in logged)
    assert logged[0].loss > logged[-1].loss  # it learns


def test_stop_ends_the_run_within_one_batch(data_dir, tmp_path):
    cancel = threading.Event()
    seen = []
    for event in run_events(SMALL.with_values(log_every=3), "s", cancel=cancel, data_dir=data_dir, checkpoint_path=tmp_path / "c.pt"):
        seen.append(event)
        if isinstance(event, BatchLogged):
            cancel.set()  # the user pressed stop right after batch 3
    assert kinds(seen) == ["run_started", "batch_logged", "run_stopped"]
    stopped = seen[-1]
    assert isinstance(stopped, RunStopped) and (stopped.epoch, stopped.batch) == (1, 3)
    assert load_checkpoint(stopped.checkpoint)["epoch"] == 0  # saved, with no finished epoch yet


def test_resume_starts_from_the_saved_weights(data_dir, tmp_path):
    checkpoint = tmp_path / "net.pth"
    *_, finished = run_events(SMALL, "r1", data_dir=data_dir, checkpoint_path=checkpoint)
    saved = load_checkpoint(checkpoint)
    assert saved["accuracy"] == finished.final_accuracy and saved["epoch"] == 1
    assert saved["config"]["lr"] == 0.01 and saved["format"] == "mnist-tui-checkpoint"
    events = list(run_events(SMALL.with_values(resume=str(checkpoint)), "r2", data_dir=data_dir))
    started = events[0]
    assert isinstance(started, RunStarted)
    assert started.start_accuracy == finished.final_accuracy and started.start_epoch == 1
    assert [e.epoch for e in events if isinstance(e, EpochEnded)] == [2]


def test_resume_refuses_another_models_checkpoint(data_dir, tmp_path):
    checkpoint = tmp_path / "net.pth"
    list(run_events(SMALL, "m1", data_dir=data_dir, checkpoint_path=checkpoint))
    *_, failed = run_events(SMALL.with_values(model="mlp", resume=str(checkpoint)), "m2", data_dir=data_dir)
    assert isinstance(failed, RunFailed) and "holds a cnn network" in failed.message


def test_a_huge_learning_rate_fails_as_nan(data_dir):
    config = RunConfig(train_size=640, test_size=100, epochs=1, log_every=2, lr=10, momentum=0.99)
    events = list(run_events(config, "nan", data_dir=data_dir))
    failed = events[-1]
    assert isinstance(failed, RunFailed) and failed.error_type == "NonFiniteLoss"
    assert "loss became" in failed.message and "try a lower learning rate" in failed.message


def test_missing_data_is_a_failed_run_not_a_crash(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])
    *_, failed = run_events(SMALL, "d", data_dir=tmp_path / "nothing")
    assert isinstance(failed, RunFailed) and failed.error_type == "DataError" and "MNIST/raw" in failed.message


def test_out_of_memory_is_reported_with_a_suggestion(data_dir, monkeypatch):
    import core.training.trainer as trainer

    def exploding_forward(self, x):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(trainer.torch.nn.Module, "__call__", exploding_forward)
    *_, failed = run_events(SMALL, "oom", data_dir=data_dir)
    assert isinstance(failed, RunFailed) and "smaller batch size" in failed.message
    assert "lower --runs-per-device" in failed.message  # runs packed onto one GPU are the first suspect


def test_checkpoints_refuse_other_files_and_code(tmp_path):
    not_torch = tmp_path / "notes.txt"
    not_torch.write_text("hello")
    with pytest.raises(CheckpointError, match="not a loadable mnist-tui checkpoint"):
        load_checkpoint(not_torch)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, plain)
    with pytest.raises(CheckpointError, match="not an mnist-tui checkpoint"):
        load_checkpoint(plain)

    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pt"
    torch.save({"format": "mnist-tui-checkpoint", "x": Payload()}, evil)
    with pytest.raises(CheckpointError, match="holds pickled Python objects"):
        load_checkpoint(evil)
