"""Nothing a user ran is lost: kills, torn files, full disks, hostile files, and runs from other processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from core.training.checkpoint import load_checkpoint
from core.config import ConfigError, RunConfig, parse_config
from core.events import RunFailed
from core.runstore.results import load_records
from core.execution.session import recorded_run
from core.runstore.store import RunStore, StoreError, is_live, read_events, read_run
from tests.synthetic import write_seed_runs
from tests.waiting import wait_until

CLI = [sys.executable, "-m", "tui"]


def cli(*args, **kwargs):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, **kwargs)


def test_sigkill_after_the_first_epoch_leaves_an_interrupted_run_with_that_epoch(runs_dir):
    process = subprocess.Popen(
        [*CLI, "train", "--train-size", "1280", "--test-size", "500", "--epochs", "50", "--log-every", "5", "--lr", "0.01", "--runs-dir", str(runs_dir)],
        stdout=subprocess.PIPE, text=True,
    )
    for line in process.stdout:
        if line.startswith("epoch 1:"):
            break
    process.kill()
    process.wait()
    # Its runner dies with it (SIGKILL from the kernel, as the command's child): within seconds.
    (folder,) = runs_dir.iterdir()
    wait_until(lambda: not is_live(folder), 10, "the run's runner to die with the command")
    accuracy = line.split("test accuracy ")[1].split("%")[0]
    listing = cli("runs", "--runs-dir", str(runs_dir), env={**os.environ, "COLUMNS": "200"})
    assert listing.returncode == 0 and "interrupted" in listing.stdout
    exported = cli("export", "-", "--runs-dir", str(runs_dir))
    header, row = [line.split(",") for line in exported.stdout.splitlines()]
    assert row[header.index("status")] == "interrupted"
    assert f"{float(row[header.index('accuracy_ep1')]) * 100:.2f}" == accuracy
    assert row[header.index("accuracy_ep1")] == row[header.index("final_accuracy")] and row[header.index("final_epoch")] == "1"


def test_a_kill_while_saving_a_checkpoint_keeps_the_previous_one(tmp_path):
    """A real process killed halfway through its second checkpoint: the first one still loads.

    The writer is held, not raced: at its second save, with half of the bytes on disk and before
    the rename, it says so and waits to be killed. (A kill timed by a sleep missed the
    write, which takes milliseconds, in a parallel CI run.)
    """
    target = tmp_path / "checkpoint.pt"
    writer = (
        "import os, signal, sys, torch\n"
        "from core.training.checkpoint import save_checkpoint\n"
        "from core.training.models import build_model\n"
        "from core.training.trainer import make_optimizer\n"
        "from core.config import RunConfig\n"
        "config = RunConfig(); model = build_model('cnn'); optimizer = make_optimizer(model, config)\n"
        "real_fsync = os.fsync\n"
        "def held_fsync(fd):\n"
        "    if epoch == 2:  # the second save: keep half of its bytes and wait for the kill\n"
        "        os.ftruncate(fd, os.fstat(fd).st_size // 2)\n"
        "        print('mid-write', flush=True)\n"
        "        signal.pause()\n"
        "    real_fsync(fd)\n"
        "os.fsync = held_fsync\n"
        "for epoch in (1, 2):\n"
        "    save_checkpoint(sys.argv[1], model=model, optimizer=optimizer, config=config.to_dict(), epoch=epoch, accuracy=0.5)\n"
        "    print(epoch, flush=True)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", writer, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "1"  # one checkpoint is complete
        assert process.stdout.readline().strip() == "mid-write"
    finally:
        process.kill()
        process.wait()
    (leftover,) = tmp_path.glob(".checkpoint.pt.*.tmp")
    assert 0 < leftover.stat().st_size < target.stat().st_size  # the torn second checkpoint
    assert load_checkpoint(target)["epoch"] == 1  # the last complete checkpoint loads
    read_run(tmp_path)  # what the next start does: sweep the dead writer's temporary file
    assert list(tmp_path.glob(".*.tmp")) == []
    assert (target.stat().st_mode & 0o777) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_torn_last_line_is_skipped_at_every_cut(tmp_path):
    write_seed_runs(tmp_path)
    log = next(tmp_path.glob("*/events.jsonl")).read_bytes()
    lines = log.splitlines(keepends=True)
    whole, _ = read_events(log)
    start = len(log) - len(lines[-1])
    for cut in range(start, len(log) + 1):
        events, warnings = read_events(log[:cut])
        complete = cut >= len(log) - 1  # only the newline missing still parses
        assert len(events) == len(whole) - (0 if complete else 1)
        assert len(warnings) == (0 if complete or cut == start else 1)
        if warnings:
            assert "last line" in warnings[0]


def test_a_torn_log_and_an_unreadable_run_leave_the_others_intact(tmp_path):
    write_seed_runs(tmp_path)
    first, second, *_ = sorted(tmp_path.iterdir())
    log = first / "events.jsonl"
    log.write_bytes(log.read_bytes()[:-30])
    (second / "config.json").write_text("{not json")
    records, warnings = load_records(RunStore(tmp_path))
    statuses = [r.status for r in records]
    assert statuses == ["interrupted", "unreadable", "done", "done", "done"]
    assert records[0].accuracies and "cut off mid-write" in warnings[0]
    assert "config.json" in records[1].message
    listing = cli("runs", "--runs-dir", str(tmp_path), env={**os.environ, "COLUMNS": "200"})
    assert listing.returncode == 0 and "unreadable" in listing.stdout and "warning" in listing.stderr


def test_an_unwritable_runs_folder_fails_the_run_with_what_to_do(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    (event,) = list(recorded_run(RunConfig(), "r", store=RunStore(blocker / "runs")))
    assert isinstance(event, RunFailed) and "--runs-dir" in event.message and str(blocker) in event.message
    result = cli("train", "--train-size", "640", "--runs-dir", str(blocker / "runs"))
    assert result.returncode == 1 and "choose a writable folder" in result.stdout


def test_a_full_disk_mid_run_fails_it_with_the_reason(tmp_path, monkeypatch, data_dir):
    import core.runstore.store

    calls = {"n": 0}
    real_append = core.runstore.store.RunWriter.append

    def append(self, event):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real_append(self, event)

    monkeypatch.setattr(core.runstore.store.RunWriter, "append", append)
    config = RunConfig(train_size=640, test_size=100, log_every=2, epochs=1)
    events = list(recorded_run(config, "full", store=RunStore(tmp_path), data_dir=data_dir))
    assert events[-1].kind == "run_failed" and "no space left on the disk" in events[-1].message and "free some space" in events[-1].message
    logged = [json.loads(line)["event"] for line in (tmp_path / "full" / "events.jsonl").read_text().splitlines()]
    assert logged[-1] == "run_failed"  # the failure still reaches the log once the disk takes a line again


def test_export_refuses_to_overwrite_without_force_and_reports_bad_paths(tmp_path):
    write_seed_runs(tmp_path / "runs")
    target = tmp_path / "out.csv"
    first = cli("export", str(target), "--runs-dir", str(tmp_path / "runs"))
    assert first.returncode == 0 and target.read_text().count("\n") == 6
    again = cli("export", str(target), "--runs-dir", str(tmp_path / "runs"))
    assert again.returncode == 1 and "--force" in again.stderr
    assert cli("export", str(target), "--force", "--runs-dir", str(tmp_path / "runs")).returncode == 0
    bad = cli("export", str(tmp_path / "no" / "such" / "x.csv"), "--runs-dir", str(tmp_path / "runs"))
    assert bad.returncode == 1 and "cannot write" in bad.stderr


def test_deleting_a_live_run_is_refused(tmp_path):
    store = RunStore(tmp_path)
    writer = store.create("20260101-000000-0000-x", RunConfig())
    assert read_run(tmp_path / "20260101-000000-0000-x").live
    with pytest.raises(StoreError, match="still training"):
        store.delete("20260101-000000-0000-x")
    writer.close()
    assert not read_run(tmp_path / "20260101-000000-0000-x").live
    store.delete("20260101-000000-0000-x")
    assert store.run_ids() == []


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["lr", "batch_size", "epochs", "momentum", "weight_decay", "seed", "device", "model", "dataset", "optimizer", "train_size", "test_size", "log_every", "name"]), st.text(max_size=30)))
def test_the_config_parser_only_ever_raises_config_errors(values):
    try:
        config = parse_config(values)
    except ConfigError as error:
        assert error.field in values or error.field == "batch_size"
    else:
        assert config.lr > 0 and config.batch_size >= 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_the_event_log_reader_never_crashes(data):
    events, warnings = read_events(data)
    assert isinstance(events, list) and isinstance(warnings, list)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([b'{"event":"epoch_ended","run_id":"x","epoch":1,"accuracy":0.9,"test_loss":0.1,"train_loss":0.2,"seconds":1,"elapsed":1}', b"{", b"[]", b'{"event":"nope"}', b"\xff\xfe", b'{"event":"run_failed"}', b"null", b"1e999"]), max_size=10))
def test_mixed_good_and_bad_lines(lines):
    events, warnings = read_events(b"\n".join(lines))
    good = sum(line.startswith(b'{"event":"epoch_ended"') for line in lines)
    assert len(events) == good and len(warnings) == len([l for l in lines if l.strip()]) - good
