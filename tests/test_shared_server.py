"""A runs folder on a shared GPU server: another user's folders, FIFOs and sockets where files
belong, NFS without working locks, folders deleted or moved from outside, users in other time
zones. Nothing there may hide, hang or lose a run (issue 16, items 1-3 and 8).

Real files and processes; "another user" is root with its file capabilities dropped (setpriv),
so a folder of mode 700 owned by nobody is as closed to it as to a normal user.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from core.config import RunConfig
from core.events import EpochEnded, RunFinished, RunStarted
from core.runstore.liveness import RUNNER_FILE, STALE_AFTER_S, is_live
from core.runstore.results import load_records
from core.runstore.store import RunStore, StoreError, new_run_id, read_run
from tests.test_dashboard import make_app, table, wait_for
from tests.waiting import wait_until

SETPRIV = shutil.which("setpriv")
AS_A_USER = [SETPRIV, "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]
needs_setpriv = pytest.mark.skipif(SETPRIV is None or os.geteuid() != 0, reason="needs root and setpriv to play another user")
CLI = [sys.executable, "-m", "tui"]


def finished_run(runs_dir, run_id, name="good", accuracy=0.97):
    config = RunConfig(name=name, epochs=1)
    writer = RunStore(runs_dir).create(run_id, config)
    writer.append(RunStarted(run_id, config.to_dict(), "cpu", "cpu", 1000, 640, 200, 10, time.time()))
    writer.append(EpochEnded(run_id, 1, accuracy, 0.1, 0.2, 1.0, 1.0))
    writer.append(RunFinished(run_id, accuracy, accuracy, 1.0, None))
    writer.close()
    return runs_dir / run_id


def hostile_runs_folder(runs_dir):
    """One good run beside every kind of bad entry; returns {run id: words its reason must hold}."""
    good = finished_run(runs_dir, "20260101-000001-000-00000001-good")
    os.mkfifo(good / "predictions-epoch-1.pt")  # `show` and `i` read these: skipped, never waited on
    theirs = finished_run(runs_dir, "20260101-000002-000-00000002-theirs", "theirs")
    for path in (theirs, *theirs.iterdir()):
        os.chown(path, 65534, 65534)
    theirs.chmod(0o700)  # another user's run, closed to us
    fifo_config = runs_dir / "20260101-000003-000-00000003-fifo-config"
    fifo_config.mkdir()
    os.mkfifo(fifo_config / "config.json")  # a plain open() of it waits for a writer forever
    fifo_log = finished_run(runs_dir, "20260101-000004-000-00000004-fifo-log", "fifo log")
    (fifo_log / "events.jsonl").unlink()
    os.mkfifo(fifo_log / "events.jsonl")
    sock = runs_dir / "20260101-000005-000-00000005-socket"
    sock.mkdir()
    here = os.getcwd()
    os.chdir(sock)  # a socket's path must fit in 108 bytes: bind it by its relative name
    try:
        server = socket.socket(socket.AF_UNIX)
        server.bind("config.json")
        server.close()
    finally:
        os.chdir(here)
    for folder in (fifo_config, fifo_log, sock):  # old enough not to count as a run being made
        os.utime(folder, (time.time() - 3600,) * 2)
    return {
        "20260101-000002-000-00000002-theirs": "permission denied",
        "20260101-000003-000-00000003-fifo-config": "FIFO",
        "20260101-000004-000-00000004-fifo-log": "FIFO",
        "20260101-000005-000-00000005-socket": "socket",
    }


@needs_setpriv
def test_runs_export_and_show_list_every_readable_run_and_name_each_bad_entry(runs_dir):
    """`runs`, `export` and `show` as a normal user: no traceback, no hang; the good run listed and
    exported, each bad entry an unreadable row with its reason and a warning naming it."""
    bad = hostile_runs_folder(runs_dir)
    runs = subprocess.run([*AS_A_USER, *CLI, "runs", "--runs-dir", str(runs_dir)], capture_output=True, text=True, timeout=60)
    assert runs.returncode == 0, runs.stderr
    assert "Traceback" not in runs.stderr
    assert "20260101-000001-000-00000001-good" in runs.stdout.replace("\n", "")
    assert runs.stdout.count("unreadable:") == len(bad)  # the status, then its reason
    for run_id, words in bad.items():
        assert any(run_id in line and words in line for line in runs.stderr.splitlines()), (run_id, runs.stderr)

    export = subprocess.run([*AS_A_USER, *CLI, "export", "-", "--runs-dir", str(runs_dir)], capture_output=True, text=True, timeout=60)
    assert export.returncode == 0, export.stderr
    rows = {row["run_id"]: row for row in csv.DictReader(io.StringIO(export.stdout))}
    assert rows["20260101-000001-000-00000001-good"]["final_accuracy"] == "0.97"
    for run_id, words in bad.items():
        assert rows[run_id]["status"] == "unreadable" and words in rows[run_id]["reason"]

    show = subprocess.run([*AS_A_USER, *CLI, "show", "fifo-config", "--runs-dir", str(runs_dir)], capture_output=True, text=True, timeout=60)
    assert show.returncode == 1 and "unreadable" in show.stderr and "FIFO" in show.stderr
    show = subprocess.run([*AS_A_USER, *CLI, "show", "good", "--runs-dir", str(runs_dir)], capture_output=True, text=True, timeout=60)
    assert show.returncode == 0 and "no stored predictions" in show.stdout


DASHBOARD_AS_A_USER = """
import asyncio, json, sys, time
from core.config import RunConfig
from core.events import RunStarted
from core.runstore.store import RunStore
from tests.test_dashboard import make_app, wait_for

async def main(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.dashboard.history_loaded, timeout=20)
        first = {i: [r.status, r.message] for i, r in app.state.records.items()}
        writer = RunStore(runs_dir).create("20260101-000009-000-00000009-new", RunConfig(name="new"))
        writer.append(RunStarted("20260101-000009-000-00000009-new", RunConfig(name="new").to_dict(), "cpu", "cpu", 1, 640, 200, 10, time.time()))
        t0 = time.monotonic()
        await wait_for(pilot, lambda: "20260101-000009-000-00000009-new" in app.state.records, timeout=10)
        print(json.dumps({"first": first, "new_after_s": time.monotonic() - t0,
                          "new": app.state.records["20260101-000009-000-00000009-new"].status}))
        writer.close()

asyncio.run(main(sys.argv[1]))
"""


@needs_setpriv
def test_the_dashboard_lists_every_readable_run_shows_bad_ones_as_unreadable_and_follows_new_runs(runs_dir):
    bad = hostile_runs_folder(runs_dir)
    t0 = time.monotonic()
    shown = subprocess.run([*AS_A_USER, sys.executable, "-c", DASHBOARD_AS_A_USER, str(runs_dir)],
                           capture_output=True, text=True, timeout=90, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert time.monotonic() - t0 < 60  # and it quit: nothing hung on a FIFO
    result = json.loads(shown.stdout.strip().splitlines()[-1])
    assert result["first"]["20260101-000001-000-00000001-good"] == ["done", ""]
    for run_id, words in bad.items():
        status, message = result["first"][run_id]
        assert status == "unreadable" and words in message, (run_id, status, message)
    assert result["new"] == "running" and result["new_after_s"] < 2


# ----- 2. liveness where locks do not work -------------------------------------------------------
def no_locks(*_args, **_kwargs):
    raise OSError(errno.ENOLCK, "No locks available")


NO_LOCKS_SITE = (  # sitecustomize: every Python process started with it on its path, the runners included
    "import errno, fcntl\n"
    "def no_locks(*a, **k): raise OSError(errno.ENOLCK, 'No locks available')\n"
    "fcntl.flock = no_locks  # NFS without a lock daemon\n"
)


async def test_without_working_locks_a_training_run_shows_live_cannot_be_deleted_and_x_stops_it(runs_dir, tmp_path, monkeypatch):
    """flock raises ENOLCK in the writer and in the dashboard: the run still counts as live (its
    runner is alive), `d` refuses, `x` is offered and stops it; the writer said it could not lock."""
    site = tmp_path / "no-locks"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_LOCKS_SITE)
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "train", "--runs-dir", str(runs_dir), "--train-size", "19200",
         "--test-size", "500", "--epochs", "3", "--log-every", "2", "--name", "nolock"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(site)},
    )
    monkeypatch.setattr(fcntl, "flock", no_locks)
    try:
        app = make_app(runs_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: any(r.status == "running" and r.losses for r in app.state.records.values()), timeout=60)
            (record,) = app.state.records.values()
            folder = runs_dir / record.run_id
            assert is_live(folder) and read_run(folder).live
            with pytest.raises(StoreError, match="still training"):
                RunStore(runs_dir).delete(record.run_id)
            assert app.dashboard.check_action("stop", ()) is True
            table(app).focus()
            table(app).move_cursor(row=0, column=1)
            await pilot.press("x")
            await wait_for(pilot, lambda: record.status == "stopped", timeout=60)
        assert process.wait(timeout=60) == 130
        assert "cannot lock" in process.stderr.read()
        wait_until(lambda: not is_live(folder), 10, "the run to count as over")
        RunStore(runs_dir).delete(record.run_id)  # over now: deleting is allowed
        assert not folder.exists()
    finally:
        process.kill()
        process.wait(timeout=10)


def test_a_run_written_from_another_host_lives_while_its_log_is_fresh(runs_dir):
    """NFS with local_lock: another host's lock is invisible here; its log's heartbeat tells."""
    folder = finished_run(runs_dir, "20260101-000001-000-00000001-elsewhere")
    events = folder / "events.jsonl"
    lines = events.read_text().splitlines()
    events.write_text("\n".join(lines[:2]) + "\n")  # still training: started, one epoch
    (folder / RUNNER_FILE).write_text(json.dumps({"pid": 4242, "host": "gpu-node-7", "start_time": 1}))
    (record,), _ = load_records(RunStore(runs_dir))
    assert record.status == "running"
    with pytest.raises(StoreError, match="still training"):
        RunStore(runs_dir).delete(folder.name)
    old = time.time() - STALE_AFTER_S - 5
    os.utime(events, (old, old))  # no heartbeat for over a minute: that host's run is over
    (record,), _ = load_records(RunStore(runs_dir))
    assert record.status == "interrupted"
    RunStore(runs_dir).delete(folder.name)


def test_a_writer_that_cannot_lock_says_so_and_a_folder_it_cannot_make_is_not_left_behind(runs_dir, monkeypatch, capsys):
    monkeypatch.setattr(fcntl, "flock", no_locks)
    writer = RunStore(runs_dir).create("20260101-000001-000-00000001-nolock", RunConfig())
    assert "cannot lock" in writer.lock_warning and "file system" in writer.lock_warning
    assert "cannot lock" in capsys.readouterr().err
    assert is_live(writer.folder)  # its runner (this process) is alive
    writer.close()
    assert not is_live(writer.folder)  # closed: runner.json says it ended
    monkeypatch.setattr("core.runstore.store.atomic_write", _raises(errno.EDQUOT))
    with pytest.raises(StoreError, match="disk quota exceeded"):
        RunStore(runs_dir).create("20260101-000002-000-00000002-quota", RunConfig())
    assert not (runs_dir / "20260101-000002-000-00000002-quota").exists()


def _raises(number):
    def atomic_write(*_args, **_kwargs):
        raise OSError(number, os.strerror(number))

    return atomic_write


# ----- 3. folders that vanish or move ------------------------------------------------------------
async def test_a_run_folder_deleted_from_outside_leaves_the_dashboard_within_2s(runs_dir):
    finished_run(runs_dir, "20260101-000001-000-00000001-keep", "keep")
    gone = finished_run(runs_dir, "20260101-000002-000-00000002-gone", "gone")
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.state.records) == 2, timeout=20)
        await pilot.pause(0.5)  # one listing has seen both folders
        shutil.rmtree(gone)
        t0 = time.monotonic()
        await wait_for(pilot, lambda: len(app.state.records) == 1, timeout=10)
        assert time.monotonic() - t0 < 2.0
        assert table(app).row_count == 1 and list(app.state.records) == ["20260101-000001-000-00000001-keep"]


async def test_a_run_folder_renamed_while_it_trains_stops_its_writer_with_the_reason_and_leaves_no_ghost(runs_dir):
    process = subprocess.Popen(
        [*CLI, "train", "--runs-dir", str(runs_dir), "--train-size", "19200", "--test-size", "500", "--epochs", "3",
         "--log-every", "2", "--name", "moved"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        app = make_app(runs_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: any(r.status == "running" and r.losses for r in app.state.records.values()), timeout=60)
            (old_id,) = app.state.records
            (runs_dir / old_id).rename(runs_dir / "renamed-by-hand")
            assert process.wait(timeout=60) == 1  # it noticed at its next write and stopped
            await wait_for(pilot, lambda: list(app.state.records) == ["renamed-by-hand"] and app.state.records["renamed-by-hand"].status == "failed", timeout=10)
            message = app.state.records["renamed-by-hand"].message
        assert "was moved or deleted while the run trained" in message and "training stopped at epoch 1, batch" in message
        assert "FileNotFoundError" not in process.stderr.read()
        assert not list((runs_dir / "renamed-by-hand").glob("*.tmp"))
    finally:
        process.kill()
        process.wait(timeout=10)


# ----- 8. time zones ----------------------------------------------------------------------------
def test_runs_started_under_two_time_zones_list_in_start_order(runs_dir, monkeypatch):
    """Ids are stamped in UTC; listings order by start time even for ids stamped in local time."""
    now = time.time()
    ids = []
    for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14, then UTC-11 a second later
        monkeypatch.setenv("TZ", tz)
        time.tzset()
        ids.append(new_run_id(RunConfig(name=tz.split("/")[1]), now + len(ids)))
    monkeypatch.delenv("TZ")
    time.tzset()
    assert ids == sorted(ids) and ids[0].startswith(time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)))
    # Two runs of an older version, stamped in local time: the later one's folder name sorts first.
    late, early = "20260101-000000-000-00000001-later", "20260101-090000-000-00000002-earlier"
    finished_run(runs_dir, late, "later")
    finished_run(runs_dir, early, "earlier")
    for run_id, started in ((early, now - 60), (late, now)):
        lines = (runs_dir / run_id / "events.jsonl").read_text().splitlines()
        first = json.loads(lines[0])
        first["started_at"] = started
        (runs_dir / run_id / "events.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    records, _ = load_records(RunStore(runs_dir))
    assert [r.run_id for r in records] == [early, late]
    listed = subprocess.run([*CLI, "runs", "--runs-dir", str(runs_dir)], capture_output=True, text=True, timeout=60).stdout
    assert listed.index("earlier") < listed.index("later")
