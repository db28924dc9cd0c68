"""Starting runner processes (core.execution.runner) for the dashboard, one kept warm.

Importing torch takes seconds, so the dashboard keeps one runner started ahead of need: it has
imported torch and waits for its job on stdin. `launch` hands the job to it and starts the next
warm one. Runners start in a session of their own with stdin, stdout and stderr of their own,
so closing the dashboard or its terminal leaves them training. Nothing here imports torch.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator

from core.config import RunConfig
from core.events import END_KINDS, Event, RunFailed, event_from_dict
from core.runstore.safe_read import read_bytes
from core.runstore.store import RUNNER_LOG

_numbers = itertools.count(1)
# Runners are started from this one thread: a child takes the scheduling priority of the thread
# that starts it, and the dashboard lowers its UI thread's (lower_thread_priority), not theirs.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mnist-tui-spawner")


def lower_thread_priority(niceness: int = 10) -> bool:
    """Let training have the CPU first: on a machine whose cores torch keeps busy (a CPU run), the
    calling thread (the dashboard's UI) runs when they wait. Linux niceness is per thread; runners
    started later from the spawner thread keep the usual priority. Start the spawner first."""
    _SPAWNER.submit(lambda: None).result()
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        return True
    except (AttributeError, OSError):
        return False
STARTED: list["Runner"] = []  # every runner this process started (tests stop the ones left over)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def tail(path: Path, lines: int = 4, limit: int = 16_384) -> str:
    """The last lines of a log, for a message (empty when there is none)."""
    try:
        text = read_bytes(path, limit, offset=None).decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


class Runner:
    """One runner process, as the process that started it sees it."""

    def __init__(self, log_dir: Path, python: str = sys.executable, print_events: bool = False) -> None:
        self.log_path = log_dir / f"runner-{os.getpid()}-{next(_numbers)}-{secrets.token_hex(3)}.log"
        with open(self.log_path, "ab") as log:
            self.process = _SPAWNER.submit(
                subprocess.Popen,
                [python, "-m", "core.execution.runner", "--log", str(self.log_path)] + (["--print-events"] if print_events else []),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # no SIGHUP, no Ctrl+C from the dashboard's terminal
                close_fds=True,
            ).result()
        self.run_folders: list[Path] = []  # the runs it was handed
        STARTED.append(self)

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        return self.process.poll()

    def ready(self) -> dict:
        """Block until the runner says it is ready: {"ready": true, "devices": [[label, spec]...]}."""
        try:
            line = self.process.stdout.readline()
            message = json.loads(line) if line.strip() else None
        except (OSError, ValueError):
            message = None
        if not isinstance(message, dict):
            self.process.wait()
            return {"ready": False, "error": f"the runner {describe_exit(self.process.returncode)}: {tail(self.log_path)}"}
        return message

    def hand(self, job: dict) -> bool:
        """Give the runner its job; False if it has died (its exit is noticed and recorded later)."""
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode("utf-8"))
            self.process.stdin.close()
        except (OSError, ValueError):
            return False
        return True

    def hand_jobs(self, runs_dir: Path, data_dir: str | os.PathLike | None, jobs: list[tuple[str, RunConfig]], after: Iterable[str] = ()) -> bool:
        """Give it runs to train one after another (the job line core.execution.runner reads), with absolute paths."""
        runs_dir = Path(runs_dir).absolute()
        self.run_folders = [runs_dir / run_id for run_id, _ in jobs]
        return self.hand({
            "runs_dir": str(runs_dir),
            "data_dir": str(Path(data_dir).absolute()) if data_dir else None,
            "jobs": [{"run_id": run_id, "config": config.to_dict()} for run_id, config in jobs],
            "after": list(after),
        })

    def log_tail(self) -> str:
        """The last lines it wrote: its run's runner.log once it has one, else its first log."""
        for folder in reversed(self.run_folders):
            if (folder / RUNNER_LOG).is_file():
                return tail(folder / RUNNER_LOG)
        return tail(self.log_path)

    def release(self) -> None:
        """Let it go: a warm runner sees end of file and exits; a busy one trains on."""
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass


def runner_events(
    config: RunConfig,
    run_id: str,
    runs_dir: Path,
    data_dir: str | os.PathLike | None,
    cancel: threading.Event,
    python: str = sys.executable,
) -> Iterator[Event]:
    """One run trained by a runner process of its own, its events as it prints them (a parallel sweep's slot).

    Setting `cancel` asks the runner to stop after its batch, with the cancel's reason.
    """
    log_dir = Path(tempfile.mkdtemp(prefix="mnist-tui-runner-"))
    runner = Runner(log_dir, python, print_events=True)
    runner.hand_jobs(runs_dir, data_dir, [(run_id, config)])

    def forward_cancel() -> None:
        while runner.exit_code() is None:
            if cancel.wait(0.2):
                from core.execution.control import ControlError, request_stop

                try:
                    request_stop(runner.run_folders[0], getattr(cancel, "reason", "stopped by the user"), pid=runner.pid)
                except ControlError:
                    pass
                return

    threading.Thread(target=forward_cancel, name=f"cancel-{run_id}", daemon=True).start()
    ended = False
    for line in runner.process.stdout:
        try:
            message = json.loads(line)
            event = event_from_dict(message) if isinstance(message, dict) and "event" in message else None
        except ValueError:
            continue
        if event is not None:
            ended = ended or event.kind in END_KINDS
            yield event
    runner.process.wait()
    if not ended:
        yield RunFailed(run_id, "RunnerDied", f"its runner process {describe_exit(runner.process.returncode)}: {runner.log_tail()}")
    shutil.rmtree(log_dir, ignore_errors=True)


class Launcher:
    """The dashboard's runners: one warm, and one per run it started."""

    def __init__(self, runs_dir: Path, data_dir: str | os.PathLike | None = None, python: str = sys.executable, warm: bool = True) -> None:
        self.keep_warm = warm  # False: each run gets a runner started for it (its first seconds import torch)
        self.runs_dir = Path(runs_dir).absolute()
        self.data_dir = data_dir  # made absolute in each job line (runners may not share our cwd forever)
        self.python = python
        self.log_dir = Path(tempfile.mkdtemp(prefix="mnist-tui-runners-"))
        self.warm: Runner | None = None
        self.first: Runner | None = None  # its ready line tells which devices there are
        self.by_run: dict[str, Runner] = {}

    def warm_up(self) -> None:
        if self.keep_warm and (self.warm is None or self.warm.exit_code() is not None):
            self.warm = Runner(self.log_dir, self.python)
            self.first = self.first or self.warm

    def devices(self) -> list[tuple[str, str]]:
        """(label, spec) of every device, as the first runner sees them (blocks: call it in a thread)."""
        if self.first is None:
            self.first = Runner(self.log_dir, self.python)
            self.warm = self.warm or self.first
        message = self.first.ready()
        if not message.get("ready"):
            raise RuntimeError(message.get("error", "the runner did not start"))
        return [(str(label), str(spec)) for label, spec in message.get("devices", [])]

    def launch(self, jobs: Iterable[tuple[str, RunConfig]], after: Iterable[str] = (), warm_next: bool = True) -> Runner:
        """Start runs (one after another) in the warm runner; a new one warms up for next time."""
        jobs = list(jobs)
        runner = self.warm if self.warm is not None and self.warm.exit_code() is None else Runner(self.log_dir, self.python)
        self.warm = None
        runner.hand_jobs(self.runs_dir, self.data_dir, jobs, after)
        for run_id, _ in jobs:
            self.by_run[run_id] = runner
        if warm_next:
            self.warm_up()
        return runner

    def reap(self) -> None:
        """Collect the runners that have exited, so none stays a <defunct> child of an open dashboard."""
        for runner in {*self.by_run.values(), self.warm, self.first} - {None}:
            runner.exit_code()  # Popen.poll: waits for the child if it has ended, at once otherwise

    def close(self) -> None:
        """The dashboard is leaving: the warm runner exits; runners with runs train on."""
        if self.warm is not None:
            self.warm.release()  # it exits once its imports are done and it reads end of file
            self.warm.log_path.unlink(missing_ok=True)
            self.warm = None
        for runner in set(self.by_run.values()):
            runner.release()
        try:
            self.log_dir.rmdir()  # empty once every runner moved its log into its run's folder
        except OSError:
            pass  # a runner still starting keeps its first log there until its run's folder exists
