"""Nothing a user types or a file holds can crash it, lose work or damage a file (issue 10)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import stat
import string
import subprocess
import sys
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from textual.widgets import Input, Static

from core.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from core.config import RunConfig
from core.training.data import DataError, load_split
from core.events import EpochEnded, RunFailed, RunStarted
from core.comparison.export import ExportRefused, csv_text, write_csv
from core.runstore.results import load_records
from core.runstore.store import RunStore, new_run_id, read_run
from tests.synthetic import SEED_RUNS, write_seed_runs
from tests.test_dashboard import make_app, table, wait_for
from tui.cli import records as cli_records
from tui.cli.common import UsageError

CLI = [sys.executable, "-m", "tui"]
NASTY = ["[", "]", "[/]", "[/", "\\", "[bold red]x", "x[/bold]", "🤖🔥", "é\u0301", "a" * 500, string.printable.strip()]


def run_cli(*args, **kwargs):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, **kwargs)


def _stored(runs_dir, run_id, config, *events, live=False):
    writer = RunStore(runs_dir).create(run_id, config)
    for event in events:
        writer.append(event)
    if not live:
        writer.close()
    return writer


# ----- 1. user text is never markup ------------------------------------------------------------
async def test_typing_markup_and_odd_text_into_every_field_shows_it_literally(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("n")
        await pilot.press("ctrl+a", "ctrl+k", "[", "/")  # the reported crash: `[` then `/` in the learning rate
        await pilot.pause()
        assert "[/" in str(app.query_one("#e-lr", Static).render())
        for field in app.query(Input):
            for text in NASTY:
                field.value = text
                await pilot.pause()
                assert field.value == text  # kept as typed
        for text in ("[bold red]x", "x[/bold]", "[/]"):  # a number field quotes what it got, as typed
            app.query_one("#f-lr", Input).value = text
            await pilot.pause()
            assert repr(text) in str(app.query_one("#e-lr", Static).render())
        app.query_one("#f-name", Input).value = "[/]"  # and a run may be named so
        await pilot.pause()
        assert str(app.query_one("#e-name", Static).render()) == ""
        assert app.is_running


async def test_runs_named_like_markup_show_literally_everywhere(runs_dir):
    names = ["[/]", "[bold red]x", "x[/bold]", "[link=file:///etc]y"]
    for i, name in enumerate(names):
        config = RunConfig(name=name, lr=0.01)
        _stored(runs_dir, f"20260101-00000{i}-000-0000abcd-n{i}", config,
                RunStarted("x", config.to_dict(), "cpu", "cpu", 1, 10, 10, 1, 0.0), EpochEnded("x", 1, 0.5, 1.0, 1.0, 1.0, 1.0))
    app = make_app(runs_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.state.records) == len(names))
        assert sorted(row[0] for row in table(app).row_texts()) == sorted(names)
        table(app).focus()
        table(app).move_cursor(row=0, column=1)
        for key in ("p", "escape", "i", "escape", "d", "n"):  # pivot, inspect, delete (cancelled)
            await pilot.press(key)
            await pilot.pause(0.2)
        assert app.is_running and len(app.state.records) == len(names)
    for name in names:
        shown = run_cli("show", name[:3] if name != "[/]" else "n0", "--runs-dir", str(runs_dir), env={**os.environ, "COLUMNS": "200"})
        assert "Traceback" not in shown.stderr
    listing = run_cli("runs", "--runs-dir", str(runs_dir), env={**os.environ, "COLUMNS": "250"})
    assert listing.returncode == 0 and "Traceback" not in listing.stderr


def test_a_resume_path_with_markup_is_listed_literally(runs_dir, tmp_path):
    config = RunConfig(resume=str(tmp_path / "[/]net.pth"))
    _stored(runs_dir, "20260101-000000-000-0000abcd-r", config, RunFailed("r", "CheckpointError", f"checkpoint {config.resume} does not exist"))
    listing = run_cli("runs", "--runs-dir", str(runs_dir), env={**os.environ, "COLUMNS": "300"})
    assert listing.returncode == 0, listing.stderr
    assert "[/]net.pth" in listing.stdout


# ----- 2 and 3. every field of every event is checked; absurd numbers are refused --------------
BAD_LINES = [
    '{"event":"epoch_ended","run_id":"x","epoch":3,"accuracy":"x","test_loss":0.1,"train_loss":0.1,"seconds":1,"elapsed":1}',
    '{"event":"batch_logged","run_id":"x","epoch":1,"batch":5,"step":"5","loss":0.1,"samples_per_sec":1,"elapsed":1,"lr":0.1}',
    '{"event":"epoch_ended","run_id":"x","epoch":"3","accuracy":0.9,"test_loss":0.1,"train_loss":0.1,"seconds":1,"elapsed":1}',
    '{"event":"run_started","run_id":"x","config":{},"device":"cpu","device_name":"cpu","parameters":1,"train_size":1,"test_size":1,"batches_per_epoch":"x","started_at":0}',
    '{"event":"epoch_ended","run_id":"x","epoch":100000,"accuracy":0.9,"test_loss":0.1,"train_loss":0.1,"seconds":1,"elapsed":1}',
    '{"event":"epoch_ended","run_id":"x","epoch":1,"accuracy":7,"test_loss":0.1,"train_loss":0.1,"seconds":1,"elapsed":1}',
]


@pytest.mark.parametrize("bad", BAD_LINES)
def test_a_mistyped_event_line_is_skipped_with_a_warning_and_every_run_still_lists(runs_dir, bad):
    write_seed_runs(runs_dir)
    with open(runs_dir / SEED_RUNS[0][0] / "events.jsonl", "a") as log:
        log.write(bad + "\n")
    for command in (["runs"], ["export", "-"], ["show", SEED_RUNS[0][0]]):
        result = run_cli(*command, "--runs-dir", str(runs_dir), env={**os.environ, "COLUMNS": "250"})
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert "events.jsonl" in result.stderr and "line" in result.stderr  # the warning names the file and line
    exported = run_cli("export", "-", "--runs-dir", str(runs_dir)).stdout
    assert all(run_id in exported for run_id, *_ in SEED_RUNS)


async def test_a_bad_line_appended_while_the_dashboard_watches_is_skipped(runs_dir):
    config = RunConfig(epochs=3)
    writer = _stored(runs_dir, "20260101-000000-000-0000abcd-live", config,
                     RunStarted("live", config.to_dict(), "cpu", "cpu", 1, 10, 10, 1, 0.0), live=True)
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.state.records and next(iter(app.state.records.values())).status == "running")
        log = runs_dir / "20260101-000000-000-0000abcd-live" / "events.jsonl"
        with open(log, "a") as handle:
            handle.write(BAD_LINES[4] + "\n")  # epoch 100,000: would build that many columns
        writer.append(EpochEnded("live", 1, 0.91, 0.3, 0.3, 1.0, 1.0))
        (record,) = app.state.records.values()
        await wait_for(pilot, lambda: record.accuracies == {1: 0.91})
        assert len(table(app).column_titles()) < 30
    writer.close()


def test_a_checkpoint_claiming_a_million_epochs_is_refused(tmp_path):
    import torch

    from core.training.models import build_model
    from core.training.trainer import make_optimizer

    config = RunConfig()
    model = build_model("cnn")
    path = save_checkpoint(tmp_path / "c.pt", model=model, optimizer=make_optimizer(model, config), config=config.to_dict(), epoch=1, accuracy=0.5)
    payload = torch.load(path, weights_only=True)
    payload["epoch"] = 1_000_000
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="'epoch' must be a whole number from 0 to 2000"):
        load_checkpoint(path)
    del payload["state_dict"]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="'state_dict' is missing") as refused:
        load_checkpoint(path)
    assert "KeyError" not in str(refused.value)


def test_a_pickled_object_is_refused_without_advice_to_unpickle_it(tmp_path):
    import torch

    path = tmp_path / "net.pth"
    torch.save({"model": argparse.Namespace(a=1)}, path)  # a pickled Python object, not weights
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(path)
    assert "weights_only" not in str(refused.value) and "pickled Python objects" in str(refused.value)


# ----- 4. export writes only to a regular file or a new path -----------------------------------
def test_export_refuses_a_character_device_and_a_fifo_and_leaves_them_be(runs_dir, tmp_path):
    write_seed_runs(runs_dir)
    device = tmp_path / "full"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # as /dev/full
    except PermissionError:
        pytest.skip("making a device node needs root")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target, kind in ((device, "character device"), (fifo, "FIFO")):
        for force in ([], ["--force"]):
            result = run_cli("export", str(target), *force, "--runs-dir", str(runs_dir))
            assert result.returncode == 2 and kind in result.stderr and "Traceback" not in result.stderr
        with pytest.raises(ExportRefused, match=kind):
            write_csv(target, [], overwrite=True)  # what the dashboard's dialog calls
    assert stat.S_ISCHR(os.stat(device).st_mode) and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_export_to_stdout_that_is_closed_or_full_says_so(runs_dir):
    write_seed_runs(runs_dir)
    closed = subprocess.run(f"{sys.executable} -m tui export - --runs-dir {runs_dir} >&-", shell=True, capture_output=True, text=True, timeout=120)
    full = subprocess.run(f"{sys.executable} -m tui export - --runs-dir {runs_dir} > /dev/full", shell=True, capture_output=True, text=True, timeout=120)
    for result in (closed, full):
        assert result.returncode == 1 and "cannot write to standard output" in result.stderr
        assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


def test_export_of_an_empty_name_or_a_missing_runs_folder_says_what_is_wrong(tmp_path):
    empty = run_cli("export", "", "--runs-dir", str(tmp_path))
    assert empty.returncode == 2 and "give a file name" in empty.stderr
    missing = run_cli("export", str(tmp_path / "x.csv"), "--runs-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr and not (tmp_path / "x.csv").exists()


def test_an_unreadable_run_exports_with_empty_hyperparameter_cells(runs_dir):
    write_seed_runs(runs_dir)
    broken = runs_dir / "20261101-100000-000-0000abcd-broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    records, _ = load_records(RunStore(runs_dir))
    header, *rows = [line.split(",") for line in csv_text(records).splitlines()]
    (row,) = [r for r in rows if r[header.index("run_id")] == broken.name]
    assert row[header.index("status")] == "unreadable"
    assert row[header.index("lr")] == row[header.index("batch_size")] == row[header.index("model")] == row[header.index("seed")] == ""


# ----- 5. a crash mid-run leaves the last finished epoch to resume from ------------------------
def test_kill_9_during_epoch_3_leaves_epoch_2_that_resumes_at_its_accuracy(runs_dir):
    process = subprocess.Popen(
        [*CLI, "train", "--train-size", "3200", "--test-size", "1000", "--epochs", "6", "--log-every", "5", "--lr", "0.01",
         "--runs-dir", str(runs_dir), "--json"],
        stdout=subprocess.PIPE, text=True,
    )
    accuracy = None
    for line in process.stdout:
        event = json.loads(line)
        if event["event"] == "epoch_ended" and event["epoch"] == 2:
            accuracy = event["accuracy"]
        if event["event"] == "batch_logged" and event["epoch"] == 3:
            break
    process.kill()
    process.wait(timeout=30)
    (folder,) = runs_dir.iterdir()
    saved = load_checkpoint(folder / "checkpoint.pt")
    assert saved["epoch"] == 2 and saved["accuracy"] == accuracy
    assert load_checkpoint(folder / "best.pt")["accuracy"] == max(accuracy, saved["accuracy"])
    resumed = run_cli("train", "--resume", str(folder / "checkpoint.pt"), "--train-size", "3200", "--test-size", "1000",
                      "--epochs", "1", "--lr", "0.01", "--json", "--runs-dir", str(runs_dir))
    started = json.loads(resumed.stdout.splitlines()[0])
    assert started["start_epoch"] == 2 and started["start_accuracy"] == pytest.approx(accuracy, abs=1e-9)


def test_a_disk_too_full_for_the_checkpoint_says_so_before_writing(tmp_path, monkeypatch):
    from core.training.models import build_model
    from core.training.trainer import make_optimizer

    config = RunConfig()
    model = build_model("mlp")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 4096, 4096))
    with pytest.raises(CheckpointError, match="not enough disk space.*MiB are free"):
        save_checkpoint(tmp_path / "c.pt", model=model, optimizer=make_optimizer(model, config), config=config.to_dict(), epoch=3, accuracy=0.5)
    assert list(tmp_path.iterdir()) == []


# ----- 6. reading runs never deletes what it should not -----------------------------------------
def test_reading_runs_leaves_live_runs_foreign_files_and_links_alone(runs_dir, tmp_path):
    config = RunConfig()
    writer = _stored(runs_dir, "20260101-000000-000-0000abcd-live", config, live=True)
    live_temp = writer.folder / ".checkpoint.pt.999999.abc.tmp"  # a dead pid, but the run is live
    live_temp.write_text("x")
    done = _stored(runs_dir, "20260101-000001-000-0000abcd-done", config).folder
    stale = done / ".checkpoint.pt.999999.abc.tmp"
    stale.write_text("x")
    foreign = done / ".notes.tmp"
    foreign.write_text("mine")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / ".checkpoint.pt.999999.abc.tmp").write_text("x")
    (outside / "config.json").write_text(json.dumps(config.to_dict()))
    (runs_dir / "20260101-000002-000-0000abcd-link").symlink_to(outside)
    for command in (["runs"], ["show", "done"]):
        run_cli(*command, "--runs-dir", str(runs_dir))
    read_run(done)
    assert live_temp.exists() and foreign.exists() and not stale.exists()
    assert (outside / ".checkpoint.pt.999999.abc.tmp").exists()
    assert "link" not in " ".join(RunStore(runs_dir).run_ids())
    writer.close()


# ----- 7. run ids never collide ----------------------------------------------------------------
def test_ten_thousand_ids_made_at_once_are_distinct():
    config = RunConfig()
    ids = [new_run_id(config, now=1_800_000_000.0) for _ in range(10_000)]  # one millisecond
    assert len(set(ids)) == 10_000


# ----- 8. rougher edges ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_resume_from_a_missing_path_or_a_folder_exits_2_and_writes_nothing(runs_dir, tmp_path, kind):
    target = tmp_path / "nonexistent" if kind == "missing" else tmp_path
    result = run_cli("train", "--resume", str(target), "--runs-dir", str(runs_dir))
    assert result.returncode == 2 and "--resume:" in result.stderr and "Traceback" not in result.stderr
    assert not runs_dir.exists()


def test_a_second_ctrl_c_exits_130_cleanly(runs_dir):
    process = subprocess.Popen(
        [*CLI, "train", "--train-size", "19200", "--epochs", "3", "--log-every", "2", "--runs-dir", str(runs_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    for line in process.stdout:
        if line.startswith("[1, 2]"):
            break
    process.send_signal(signal.SIGINT)
    for line in process.stderr:  # the first was heard: it stops after the batch...
        if "stopping after the current batch" in line:
            break
    process.send_signal(signal.SIGINT)  # ...and a second one gives up waiting
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err and "aborted" in err


def test_a_truncated_mnist_file_says_how_to_fix_it(tmp_path, data_dir):
    import torch

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        os.symlink(data_dir / "MNIST" / "raw" / name, raw / name)
    (raw / "t10k-images-idx3-ubyte").unlink()
    (raw / "t10k-images-idx3-ubyte").write_bytes((data_dir / "MNIST" / "raw" / "t10k-images-idx3-ubyte").read_bytes()[:100_000])
    with pytest.raises(DataError, match="copy the originals there again") as broken:
        load_split("mnist", tmp_path, False, torch.device("cpu"))
    assert str(raw) in str(broken.value)


# ----- the property: random and mutated files never break reading --------------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)


def _cli_output(command, args) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            command(args)
        except UsageError:
            pass
    return out.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(["epoch", "accuracy", "step", "loss", "batch", "batches_per_epoch", "event", "run_id", "config", "elapsed", "lr"]),
    value=JSON_VALUES,
    config_field=st.sampled_from(["lr", "batch_size", "epochs", "name", "resume", "model", "seed"]),
    config_value=JSON_VALUES,
    garbage=st.binary(max_size=200),
)
def test_random_and_mutated_logs_and_configs_never_break_runs_export_show_or_the_history(tmp_path_factory, field, value, config_field, config_value, garbage):
    runs_dir = tmp_path_factory.mktemp("runs")
    write_seed_runs(runs_dir)
    folders = sorted(runs_dir.iterdir())
    log = folders[0] / "events.jsonl"
    lines = log.read_text().splitlines()
    mutated = json.loads(lines[-2])
    mutated[field] = value
    lines[-2] = json.dumps(mutated)
    log.write_bytes(("\n".join(lines) + "\n").encode() + garbage)
    config = json.loads((folders[1] / "config.json").read_text())
    config[config_field] = config_value
    (folders[1] / "config.json").write_text(json.dumps(config))
    untouched = [f.name for f in folders[2:]]

    records, _ = load_records(RunStore(runs_dir))  # the dashboard's history load
    assert {r.run_id for r in records} == {f.name for f in folders}
    args = argparse.Namespace(runs_dir=str(runs_dir), data_dir=None, path="-", force=False, groups=False, run=untouched[0], epoch=None, digits=0)
    with mock.patch.dict(os.environ, {"COLUMNS": "250"}):  # wide enough that no run id is folded
        listing = _cli_output(cli_records.runs_command, args)
        exported = _cli_output(cli_records.export_command, args)
        shown = _cli_output(cli_records.show_command, args)
    for run_id in untouched:
        assert run_id in listing and run_id in exported
    assert untouched[0] in shown
    shutil.rmtree(runs_dir)
