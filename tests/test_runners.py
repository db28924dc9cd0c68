"""Runs train in runner processes of their own; the dashboard is a window onto them.

Real processes, real MNIST subsets on the CPU, every wait bounded.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time

import pytest

from core.config import RunConfig
from core.execution.control import ControlError, request_stop
from core.execution.jobs import JobError, parse_job
from core.events import BatchLogged, RunStarted
from core.runstore.follow import fold, poll_runs
from core.runstore.results import RunRecord
from core.runstore.liveness import this_process
from core.runstore.store import RunStore
from tests.test_dashboard import make_app, start, table, wait_for
from tests.waiting import wait_until

SMALL_RUN = RunConfig(train_size=3200, test_size=500, epochs=1, log_every=5, lr=0.01, name="small")


def events_of(runs_dir, run_id):
    path = runs_dir / run_id / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def ended(runs_dir, run_id):
    events = events_of(runs_dir, run_id)
    return events[-1] if events and events[-1]["event"] in ("run_finished", "run_stopped", "run_failed") else None


# ----- the dashboard in a real terminal ----------------------------------------------------------
def _dashboard_in_a_pty(runs_dir, stdin_pipe=False):
    """The real `mnist-tui` in a pseudo-terminal; returns (pid, terminal fd, stdin pipe write end or None)."""
    read_end, write_end = os.pipe() if stdin_pipe else (None, None)
    pid, terminal = pty.fork()
    if pid == 0:  # the child
        if read_end is not None:
            os.dup2(read_end, 0)
            os.close(write_end)
        os.environ.update(COLUMNS="80", LINES="24", TERM="xterm-256color")
        os.execv(sys.executable, [sys.executable, "-m", "tui", "--runs-dir", str(runs_dir)])
    if read_end is not None:
        os.close(read_end)
    os.set_blocking(terminal, False)
    return pid, terminal, write_end


def child_states(pid):
    """{child pid: ps state} of `pid`'s children (a state starting with Z: defunct, not yet reaped)."""
    out = subprocess.run(["ps", "-o", "pid=,stat=", "--ppid", str(pid)], capture_output=True, text=True, timeout=10).stdout
    return {int(p): s for p, s in (line.split()[:2] for line in out.splitlines() if line.strip())}


def _drain(terminal, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.read(terminal, 65536)
        except (BlockingIOError, OSError):
            time.sleep(0.05)  # nothing to read yet: poll again until the deadline


def _exit_time(pid, timeout):
    """Seconds until the process exits (fails past `timeout`)."""
    t0 = time.monotonic()
    wait_until(lambda: os.waitpid(pid, os.WNOHANG)[0] == pid, timeout, "the dashboard to exit", poll_s=0.02)
    return time.monotonic() - t0


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _stored_small_run(runs_dir):
    """A stored run whose configuration `r` loads into the form (so the dashboard trains a small run)."""
    RunStore(runs_dir).create("20260101-000000-00000-small", SMALL_RUN).close()


def _started_runs(runs_dir):
    return sorted(p.name for p in runs_dir.iterdir() if p.name != "20260101-000000-00000-small" and (p / "events.jsonl").exists())


def test_sighup_with_the_terminal_closed_exits_within_2s_and_the_run_and_queue_train_on(runs_dir):
    _stored_small_run(runs_dir)
    pid, terminal, _ = _dashboard_in_a_pty(runs_dir)
    try:
        _drain(terminal, 4)  # the first frame and the history
        for keys in (b"r", b"\r", b"r", b"\r"):  # run the stored config again, twice: one trains, one queues
            os.write(terminal, keys)
            _drain(terminal, 0.7)
        first = wait_until(lambda: _started_runs(runs_dir), 60, "a run to start")[0]
        wait_until(lambda: any(e["event"] == "batch_logged" for e in events_of(runs_dir, first)), 60, "a logged batch")
        os.close(terminal)  # the connection drops: the terminal side goes away...
        terminal = None
        os.kill(pid, signal.SIGHUP)  # ...and the kernel hangs up the session
        assert _exit_time(pid, 10) < 2.0
        runs = wait_until(lambda: len(_started_runs(runs_dir)) == 2 and _started_runs(runs_dir), 60, "the queued run to start")
        for run_id in runs:
            last = wait_until(lambda: ended(runs_dir, run_id), 120, f"{run_id} to end")
            assert last["event"] == "run_finished", last
    finally:
        _kill(pid)
        if terminal is not None:
            os.close(terminal)


def test_a_dashboard_whose_input_reaches_end_of_file_exits(runs_dir):
    pid, terminal, stdin = _dashboard_in_a_pty(runs_dir, stdin_pipe=True)
    try:
        _drain(terminal, 3)
        os.close(stdin)  # end of file on its input, and no SIGHUP
        t0 = time.monotonic()
        deadline = t0 + 10
        while os.waitpid(pid, os.WNOHANG)[0] != pid:
            assert time.monotonic() < deadline, "the dashboard did not exit at end of input"
            _drain(terminal, 0.05)
        assert time.monotonic() - t0 < 2.0
    finally:
        _kill(pid)
        os.close(terminal)


# ----- controlling and following runs --------------------------------------------------------------
def _headless(runs_dir, *flags):
    return subprocess.Popen(
        [sys.executable, "-m", "tui", "train", "--runs-dir", str(runs_dir), *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


async def test_x_stops_a_run_that_a_headless_train_started(runs_dir):
    process = _headless(runs_dir, "--train-size", "19200", "--epochs", "3", "--log-every", "2", "--name", "headless")
    try:
        app = make_app(runs_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: any(r.status == "running" and r.losses for r in app.state.records.values()), timeout=60)
            (record,) = app.state.records.values()
            table(app).focus()
            table(app).move_cursor(row=0, column=1)
            await pilot.press("x")
            await wait_for(pilot, lambda: record.status == "stopped", timeout=60)
            assert record.message == "stopped by the user (x in the dashboard)"
        assert process.wait(timeout=60) == 130
    finally:
        process.kill()


async def test_reopening_the_dashboard_shows_its_run_still_updating(runs_dir):
    first = make_app(runs_dir)
    async with first.run_test(size=(80, 24)) as pilot:
        await start(pilot, first, train_size="9600", epochs="2", log_every="2", name="outlives")
        (record,) = first.state.records.values()
        await wait_for(pilot, lambda: record.last_batch is not None, timeout=60)
        await pilot.press("escape", "q", "k")  # keep it training
        await wait_for(pilot, lambda: not first.is_running, timeout=30)
    second = make_app(runs_dir)
    async with second.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: record.run_id in second.state.records, timeout=30)
        again = second.state.records[record.run_id]
        seen = len(again.losses)
        await wait_for(pilot, lambda: len(again.losses) > seen + 2, timeout=60)  # it updates live
        await wait_for(pilot, lambda: again.status == "done", timeout=120)
    assert sorted(again.accuracies) == [1, 2]


async def test_enter_hands_the_run_to_the_warm_runner_and_warms_the_next(runs_dir):
    app = make_app(runs_dir, warm=True)
    async with app.run_test(size=(80, 24)) as pilot:
        launcher = app.executor.launcher
        await wait_for(pilot, lambda: launcher.spare is not None, timeout=10)
        warm = launcher.spare
        await start(pilot, app, epochs="1", name="warm start")
        (record,) = app.state.records.values()
        assert launcher.by_run[record.run_id] is warm
        assert launcher.spare is None  # no torch import competes with the run for the CPU...
        await wait_for(pilot, lambda: record.status == "done", timeout=120)
        assert launcher.spare is not None and launcher.spare is not warm  # ...the next warms up once it ends
        # The runner that trained it exits; the open dashboard reaps it (ps shows no <defunct> child).
        await wait_for(pilot, lambda: warm.pid not in child_states(os.getpid()), timeout=30)
        assert json.loads((runs_dir / record.run_id / "runner.json").read_text())["pid"] == warm.pid != os.getpid()
        spare = launcher.spare
    assert wait_until(lambda: spare.exit_code() is not None, 30, "the spare warm runner to exit with the dashboard") is not None


async def test_a_runner_killed_with_sigkill_shows_interrupted_and_the_next_queued_run_starts(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app, train_size="19200", epochs="3", log_every="2", name="doomed")
        await start(pilot, app, train_size="640", epochs="1", name="next")
        doomed, following = app.state.records.values()
        await wait_for(pilot, lambda: doomed.last_batch is not None, timeout=60)
        app.executor.launcher.by_run[doomed.run_id].process.kill()  # as the kernel's OOM killer would
        await wait_for(pilot, lambda: doomed.status == "interrupted", timeout=30)
        assert "killed by SIGKILL" in doomed.message
        await wait_for(pilot, lambda: following.status == "done", timeout=120)


async def test_a_runner_whose_import_fails_shows_as_failed_with_its_message(runs_dir, tmp_path, monkeypatch):
    broken = tmp_path / "broken" / "torch"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('this torch install is broken (test)')\n")
    monkeypatch.setenv("PYTHONPATH", str(broken.parent))  # the runners' torch; the dashboard never imports it
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app, epochs="1", name="no torch")
        (record,) = app.state.records.values()
        await wait_for(pilot, lambda: record.status == "failed", timeout=60)
        assert "this torch install is broken (test)" in record.message
        assert "exited with code 1" in record.message
    assert events_of(runs_dir, record.run_id)[-1]["error_type"] == "RunnerDied"  # recorded, not just shown


async def test_every_logged_loss_reaches_the_record_exactly_once(runs_dir):
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, app, train_size="6400", epochs="2", log_every="1")  # 200 events, read while written
        (record,) = app.state.records.values()
        await wait_for(pilot, lambda: record.status == "done", timeout=120)
    logged = [e for e in events_of(runs_dir, record.run_id) if e["event"] == "batch_logged"]
    assert len(logged) == len(record.losses) == 200
    assert [loss for _, loss in record.losses] == [e["loss"] for e in logged]


def test_reads_racing_a_torn_writer_fold_every_event_once(tmp_path):
    """A writer that flushes half lines; the follower reads all the while: no event twice, none lost."""
    store = RunStore(tmp_path)
    config = RunConfig()
    writer = store.create("race", config)
    writer.append(RunStarted("race", config.to_dict(), "cpu", "cpu", 1, 100, 10, 1000, 0.0))
    total = 3000

    def write():
        handle = open(tmp_path / "race" / "events.jsonl", "a", encoding="utf-8")
        for step in range(1, total + 1):
            line = json.dumps(BatchLogged("race", 1, step, step, step / total, 1.0, 0.0, 0.1).to_dict()) + "\n"
            handle.write(line[:17])
            handle.flush()
            handle.write(line[17:])
            handle.flush()
        handle.close()

    record = RunRecord("race", config, status="running")
    thread = threading.Thread(target=write)
    thread.start()
    deadline = time.monotonic() + 60
    while thread.is_alive() or len(record.losses) < total:
        assert time.monotonic() < deadline, f"only {len(record.losses)} of {total} events folded"
        for update in poll_runs(store, {"race": (record.log_offset, config)}, {"race"}, {}):
            fold(record, update)
    assert [round(loss * total) for _, loss in record.losses] == list(range(1, total + 1))
    writer.close()


# ----- the runner and its control, directly --------------------------------------------------------
@pytest.mark.parametrize(
    "line,words",
    [
        ("not json", "not JSON"),
        ('{"jobs": []}', "runs_dir"),
        ('{"runs_dir": "r", "jobs": [{"run_id": "../escape", "config": {}}]}', "no valid run_id"),
        ('{"runs_dir": "r", "jobs": [{"run_id": "a", "config": {"lr": -1}}]}', "bad config"),
        ('{"runs_dir": "r", "jobs": [], "after": ["/etc"]}', "after"),
    ],
)
def test_a_bad_job_line_is_refused_with_its_reason(line, words):
    with pytest.raises(JobError, match=words):
        parse_job(line)


def test_a_stop_never_reaches_a_process_that_reused_the_runs_id(tmp_path):
    store = RunStore(tmp_path)
    writer = store.create("reused", RunConfig())  # this process holds the lock...
    info = this_process()
    (tmp_path / "reused" / "runner.json").write_text(json.dumps({**info, "start_time": (info["start_time"] or 0) + 1}))
    with pytest.raises(ControlError, match="is gone"):  # ...but started at another time: not the run's writer
        request_stop(tmp_path / "reused", "test")
    writer.close()
    (tmp_path / "reused" / "runner.json").write_text(json.dumps(info))
    with pytest.raises(ControlError, match="not training any more"):  # the lock is free: the run has ended
        request_stop(tmp_path / "reused", "test")


def test_a_parallel_headless_sweep_trains_each_slot_in_a_runner_process(runs_dir):
    result = subprocess.run(
        [sys.executable, "-m", "tui", "sweep", "--lr", "0.01,0.02", "--train-size", "640", "--test-size", "200",
         "--epochs", "1", "--log-every", "5", "--devices", "cpu,cpu", "--runs-dir", str(runs_dir)],
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr
    folders = sorted(runs_dir.iterdir())
    assert len(folders) == 2 and all(ended(runs_dir, f.name)["event"] == "run_finished" for f in folders)
    pids = {json.loads((f / "runner.json").read_text())["pid"] for f in folders}
    assert len(pids) == 2  # two runner processes, neither of them the CLI itself
    assert "best:" in result.stdout


def test_the_dashboard_process_never_imports_torch_while_its_run_trains(runs_dir):
    """Devices come from the warm runner, training from runners: the dashboard stays torch-free."""
    code = (
        "import asyncio, sys\n"
        "from core.config import RunConfig\n"
        "from tui.app import create_app\n"
        "async def main():\n"
        "    app = create_app(runs_dir=sys.argv[1])\n"
        "    async with app.run_test(size=(80, 24)) as pilot:\n"
        "        (run_id,) = app.dashboard.start_sweep([RunConfig(train_size=640, test_size=200, epochs=1, log_every=5)])\n"
        "        for _ in range(1200):\n"
        "            if app.state.records[run_id].finished and app.query_one('#form').query_one('#f-device').value != 'loading':\n"
        "                break\n"
        "            await pilot.pause(0.1)\n"
        "        print(app.state.records[run_id].status, 'torch' in sys.modules)\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(runs_dir)], capture_output=True, text=True, timeout=180)
    assert result.stdout.split()[-2:] == ["done", "False"], result.stdout + result.stderr
