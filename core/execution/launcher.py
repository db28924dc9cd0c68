"""Starting runner processes (core.execution.runner) for the executor: one per device slot, one spare.

Importing torch takes seconds, so a slot keeps its runner for its next job, and the dashboard
keeps a spare started ahead of need: it has imported torch and waits for its job on stdin.
The dashboard's runners start in a session of their own with stdin, stdout and stderr of their
own, so closing the dashboard or its terminal leaves them training. Nothing here imports torch.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

from core.config import RunConfig
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
def spawn(command: list[str], **popen_kwargs) -> subprocess.Popen:
    """Start a process from the spawner thread, at the usual priority (not the dashboard UI's lowered one)."""
    return _SPAWNER.submit(subprocess.Popen, command, **popen_kwargs).result()


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
    """One runner process, as the process that started it sees it. It trains the jobs handed to
    it one after another and exits at end of file on its stdin (`release`)."""

    def __init__(self, log_dir: Path, python: str = sys.executable, *, new_session: bool = True, extra_args: Iterable[str] = ()) -> None:
        self.log_path = log_dir / f"runner-{os.getpid()}-{next(_numbers)}-{secrets.token_hex(3)}.log"
        command = [python, "-m", "core.execution.runner", "--log", str(self.log_path), *extra_args] + ([] if new_session else ["--attached"])
        self.attached = not new_session
        if not self.attached or extra_args:  # (made again: a runner that moved its log away removes it once empty)
            log_dir.mkdir(mode=0o700, exist_ok=True)
        log = None if self.attached else open(self.log_path, "ab")  # a CLI command's runner writes to its terminal
        try:
            self.process = _SPAWNER.submit(
                subprocess.Popen,
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                # The dashboard's runners: no SIGHUP, no Ctrl+C from its terminal. The CLI's stay in
                # its process group: Ctrl+C at the terminal reaches them as it reaches the CLI.
                start_new_session=new_session,
                close_fds=True,
            ).result()
        finally:
            if log is not None:
                log.close()
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
        if message.get("ready") is False and message.get("error"):
            self._ready_error = str(message["error"])[:4096]  # why its runs will fail
        return message

    def hand(self, job: dict) -> bool:
        """Give the runner a job line; False if it has died (its exit is noticed and recorded later)."""
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode("utf-8"))
            self.process.stdin.flush()
        except (OSError, ValueError):
            return False
        return True

    def hand_jobs(self, runs_dir: Path, data_dir: str | os.PathLike | None, jobs: list[tuple[str, RunConfig]]) -> bool:
        """Give it runs to train one after another (the job line core.execution.runner reads), with absolute paths."""
        runs_dir = Path(runs_dir).absolute()
        self.run_folders += [runs_dir / run_id for run_id, _ in jobs]
        return self.hand({
            "runs_dir": str(runs_dir),
            "data_dir": str(Path(data_dir).absolute()) if data_dir else None,
            "jobs": [{"run_id": run_id, "config": config.to_dict()} for run_id, config in jobs],
        })

    def last_words(self) -> str:
        """Once it has exited: the message of the failure it could not record in the run store
        (it says so on stdout before exiting; its run folder is gone or unwritable), else ""."""
        if self.exit_code() is None or self.process.stdout is None or self.process.stdout.closed:
            return ""
        try:
            lines = self.process.stdout.read(65_536).decode("utf-8", "replace").splitlines()
        except (OSError, ValueError):
            return ""
        for line in reversed(lines):
            try:
                said = json.loads(line)
            except ValueError:
                continue
            if isinstance(said, dict) and isinstance(said.get("last_words"), dict):
                self._last_words = str(said["last_words"].get("message", ""))[:4096]
            elif isinstance(said, dict) and said.get("ready") is False and said.get("error"):
                self._ready_error = str(said["error"])[:4096]  # it never started (a Ray cluster it could not reach)
        return getattr(self, "_last_words", "")

    def start_error(self) -> str:
        """Once it has exited: why it never became ready (a broken torch, a Ray cluster it could
        not reach), with how it ended, else ""."""
        self.last_words()  # reads what is left on its stdout
        if not getattr(self, "_ready_error", ""):
            return ""
        return f"its runner process {describe_exit(self.exit_code() or 0)}: {self._ready_error}"

    def log_tail(self) -> str:
        """The last lines it wrote: its run's runner.log once it has one, else its first log."""
        for folder in reversed(self.run_folders):
            if (folder / RUNNER_LOG).is_file():
                return tail(folder / RUNNER_LOG)
        return tail(self.log_path)

    def release_input(self) -> None:
        """No more jobs: it exits once the ones it has are trained."""
        try:
            self.process.stdin.close()
        except OSError:
            pass

    def release(self) -> None:
        """Let it go: a warm runner sees end of file and exits; a busy one trains on, then exits."""
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass


class Launcher:
    """This process's runners: one per device slot (kept for the slot's next job) and one spare, warm."""

    def __init__(self, runs_dir: Path, data_dir: str | os.PathLike | None = None, python: str = sys.executable, warm: bool = True,
                 *, new_session: bool = True, extra_args: Iterable[str] = ()) -> None:
        self.keep_warm = warm  # False: a runner starts when a slot first needs one (its first seconds import torch)
        self.runs_dir = Path(runs_dir).absolute()
        self.data_dir = data_dir  # made absolute in each job line (runners may not share our cwd forever)
        self.python = python
        self.new_session = new_session
        self.extra_args = list(extra_args)
        self._log_dir: Path | None = None  # made when a runner first needs a log (a CLI's plain runners never do)
        self.spare: Runner | None = None  # warm: torch imported, no slot yet
        self.first: Runner | None = None  # its ready line tells which devices there are
        self.ready_message: dict | None = None  # that line: devices, and a Ray driver's cluster
        self.by_slot: dict[str, Runner] = {}
        self.by_run: dict[str, Runner] = {}
        self.configs: dict[str, RunConfig] = {}

    def _new_runner(self) -> Runner:
        return Runner(self.log_dir, self.python, new_session=self.new_session, extra_args=self.extra_args)

    @property
    def log_dir(self) -> Path:
        """Where runners log until their run's folder exists (a CLI's plain runners write to its
        terminal and need none: it is never made for them)."""
        if self._log_dir is None:
            self._log_dir = Path(tempfile.gettempdir()) / f"mnist-tui-runners-{os.getpid()}-{secrets.token_hex(4)}"
        return self._log_dir

    def warm_up(self) -> None:
        if self.keep_warm and not _alive(self.spare):
            self.spare = self._new_runner()
            self.first = self.first or self.spare

    def devices(self) -> list[tuple[str, str]]:
        """(label, spec) of every device, as the first runner sees them (blocks: call it in a thread)."""
        if self.first is None:
            self.first = self._new_runner()
            self.spare = self.spare or self.first
        message = self.ready_message = self.ready_message or self.first.ready()
        if not message.get("ready"):
            raise RuntimeError(message.get("error", "the runner did not start"))
        return [(str(label), str(spec)) for label, spec in message.get("devices", [])]

    def launch(self, slot: str, jobs: Iterable[tuple[str, RunConfig]]) -> Runner:
        """Hand runs (trained one after another) to the slot's runner: the one it had, else the spare, else a new one."""
        jobs = list(jobs)
        runner = self.by_slot.get(slot)
        if not _alive(runner):
            runner = self.spare if _alive(self.spare) else self._new_runner()
            self.spare = None if runner is self.spare else self.spare
            self.by_slot[slot] = runner
        if not runner.hand_jobs(self.runs_dir, self.data_dir, jobs):
            runner.process.wait()  # it died between the check and the write: its runs fail as runner deaths
        for run_id, config in jobs:
            self.by_run[run_id] = runner
            self.configs[run_id] = config
        return runner

    def release_slot(self, slot: str) -> None:
        """The slot has nothing more to train: its runner exits once its run has ended."""
        runner = self.by_slot.pop(slot, None)
        if runner is not None:
            runner.release()

    def reap(self) -> None:
        """Collect the runners that have exited, so none stays a <defunct> child of an open dashboard."""
        for runner in {*self.by_slot.values(), *self.by_run.values(), self.spare, self.first} - {None}:
            runner.exit_code()  # Popen.poll: waits for the child if it has ended, at once otherwise

    def close(self, wait_s: float = 0.0) -> None:
        """Leaving: the spare exits; each slot's runner trains what it was handed, then exits.
        `wait_s`: wait that long for them (the CLI, whose runs have ended, waits for their exit)."""
        spare = self.spare
        if spare is not None:
            spare.release()  # it exits once its imports are done and it reads end of file
            spare.log_path.unlink(missing_ok=True)
            self.spare = None
        runners = set(self.by_slot.values()) | ({spare} if spare is not None and spare.attached else set())
        for runner in runners:
            runner.release()
        deadline = time.monotonic() + wait_s
        for runner in runners:
            try:
                runner.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                break
        if wait_s:  # a CLI's runners still there after the wait (a cluster that never answered): end them
            for runner in runners:
                if runner.attached and runner.exit_code() is None:
                    runner.process.terminate()
                    try:
                        runner.process.wait(5)
                    except subprocess.TimeoutExpired:
                        runner.process.kill()
        if self._log_dir is None:
            return
        try:
            self.log_dir.rmdir()  # empty once every runner moved its log into its run's folder
        except OSError:
            pass  # a runner still starting keeps its first log there until its run's folder exists


def _alive(runner: Runner | None) -> bool:
    return runner is not None and runner.exit_code() is None
