"""The runner: a process of its own that trains runs and records them in the run store.

Nothing else trains: the executor (core.execution.executor) starts `python -m core.execution.runner`,
which imports torch, says it is ready on stdout (one JSON line, with the devices it sees) and
then reads jobs, one JSON line each, on stdin (the protocol: core.execution.jobs).

It trains each line's runs, then reads the next line; at end of file it exits (the executor has
no more jobs for its slot). Each run's events go to its folder (the store is the one bus
between runner and executor). Once a run's folder exists, stderr goes to its `runner.log`.
With `--ray ADDRESS` it trains nothing itself: core.execution.ray_driver runs each job as a Ray
task and records its events here.

In here the trainer works in a thread and the main thread handles signals: SIGINT, SIGTERM and
SIGHUP stop after the current batch and train nothing more; SIGUSR1 (core.execution.control,
the dashboard's `x`) stops only the current run, for the reason its stop request gives. The
dashboard starts runners in a session of their own, so a dropped SSH connection never reaches
them; a CLI command starts them `--attached`: in its process group, dying with it. A run whose
folder cannot be written ends the runner, after one JSON line on stdout saying why
({"last_words": event}): the executor reads it, since no run store can.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Callable

from core.config import RunConfig
from core.execution.control import STOP_REQUEST_FILE, STOP_SIGNAL, read_stop_request
from core.execution.jobs import JobError, job_lines, say
from core.events import END_KINDS, Event, RunFailed
from core.training.stop import StopRequest
from core.runstore.store import RUNNER_LOG, RunStore, is_live


class StopSignals:
    """Signal handlers of a process that trains; `current` is the cancel event of the run training now."""

    def __init__(self, announce: Callable[[str], None] | None = None) -> None:
        self.current = StopRequest()
        self.received: list[int] = []  # SIGINT/SIGTERM/SIGHUP: the process is asked to end
        self.folder: Path | None = None  # the run training now, where a stop request is read
        self.busy = False  # False while a runner waits for its job: a terminating signal ends it at once
        self.announce = announce
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            signal.signal(getattr(signal, name), self._on_terminate)
        signal.signal(STOP_SIGNAL, self._on_stop_request)

    def next_run(self) -> StopRequest:
        """A fresh cancel event for the next run (a terminating signal carries over)."""
        self.folder = None
        self.current = StopRequest()
        if self.received:
            self.current.stop(f"{signal.Signals(self.received[0]).name} received")
        return self.current

    def _on_terminate(self, signum, _frame) -> None:
        if not self.busy:
            raise SystemExit(128 + signum)
        if self.received:  # a second Ctrl+C: give up waiting for the batch, cleanly
            if self.announce:
                self.announce(f"{signal.Signals(signum).name} again: aborted (the log keeps every finished epoch; the checkpoint the last one)")
            try:
                sys.stdout.flush()
            except (OSError, ValueError):
                pass
            os._exit(128 + signum)
        self.received.append(signum)
        name = signal.Signals(signum).name
        self.current.stop(f"{name} received")
        if self.announce:
            self.announce(f"\n{name}: stopping after the current batch (Ctrl+C again to abort)")

    def _on_stop_request(self, _signum, _frame) -> None:
        if self.folder is not None and not (self.folder / STOP_REQUEST_FILE).exists():
            return  # meant for the run before (it ended as the request was sent): this one was not asked
        self.current.stop(*read_stop_request(self.folder))


def run_job(
    store: RunStore,
    run_id: str,
    config: RunConfig,
    signals: StopSignals,
    *,
    data_dir: str | Path | None = None,
    emit: Callable[[Event], None] | None = None,
    on_folder: Callable[[Path], None] | None = None,
) -> str | None:
    """Train and record one run in a worker thread while this (main) thread keeps handling signals.

    Returns the run's end event (RunFinished, RunStopped, RunFailed), or None.
    """
    from core.execution.session import recorded_run, wait_politely  # torch: imported by the caller already, or now
    from core.training.trainer import start_in_thread

    cancel = signals.current
    ended: list[Event] = []

    def opened(folder: Path) -> None:
        signals.folder = folder
        if on_folder is not None:
            on_folder(folder)

    def handle(event: Event) -> None:
        if event.kind in END_KINDS:
            ended.append(event)
        if emit is not None:
            emit(event)

    events = recorded_run(config, run_id, store=store, cancel=cancel, data_dir=data_dir, on_folder=opened)
    signals.busy = True
    try:
        wait_politely(start_in_thread(events, handle))
    finally:
        signals.busy = False
    return ended[-1] if ended else None


def _die_with_parent() -> None:
    """SIGKILL when the process that started us ends (Linux prctl PR_SET_PDEATHSIG), however it ends:
    a run of `mnist-tui train` must not go on training unseen after a kill -9 of the command."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return  # not Linux: the command's Ctrl+C still reaches us (same process group)
    if os.getppid() == 1:  # it died before the prctl
        os._exit(1)


def _log_into(folder: Path, warm_log: Path | None) -> None:
    """From now on stderr goes to the run's runner.log (with what the warm log held so far)."""
    log = folder / RUNNER_LOG
    if warm_log is not None and warm_log.is_file():
        try:
            shutil.copyfile(warm_log, log)
            warm_log.unlink()
            warm_log.parent.rmdir()  # the launcher's folder of logs, once empty (its dashboard may be gone)
        except OSError:
            pass
    sys.stderr.flush()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.execution.runner", description="Train the runs of one job read from stdin.")
    parser.add_argument("--ray", metavar="ADDRESS", help="run the jobs as Ray tasks on the cluster at ADDRESS (core.execution.ray_driver)")
    parser.add_argument("--runs-per-device", type=int, default=1, help="with --ray: each task takes 1/N of a GPU")
    parser.add_argument("--log", type=Path, help="the file stderr goes to until the first run's folder exists")
    parser.add_argument("--attached", action="store_true",
                        help="started by a CLI command: stderr stays that command's, and the runner dies with it (kill -9 included)")
    args = parser.parse_args(argv)
    signals = StopSignals()  # before the slow imports: a stop request must never kill it mid-import
    if args.attached:
        _die_with_parent()
    if args.ray:
        from core.execution.ray_driver import serve

        return serve(args.ray, args.runs_per_device, args.log)
    try:
        import core.training.trainer  # noqa: F401 (torch, torchvision, the trainer: the seconds a warm runner saves)
        from core.training.devices import available_devices

        devices = [[d.label, d.spec] for d in available_devices()]
    except Exception as problem:
        import traceback

        traceback.print_exc()
        say({"ready": False, "error": f"{type(problem).__name__}: {problem}"})
        return 1
    say({"ready": True, "pid": os.getpid(), "devices": devices})
    warm_log = args.log
    try:
        for job in job_lines():
            store = RunStore(job["runs_dir"])
            while any(is_live(store.root / run_id) for run_id in job["after"]):
                time.sleep(0.5)  # still honoured; the executor no longer sends it (a slot's runner trains its share in order)
            for run_id, config in job["jobs"]:
                if signals.received:
                    break
                end = run_job(store, run_id, config, signals, data_dir=job["data_dir"], on_folder=None if args.attached else lambda f: _log_into(f, warm_log))
                warm_log = None
                signals.next_run()
                if isinstance(end, RunFailed) and end.error_type == "StoreError":
                    # Its log could not be written (an unwritable or vanished runs folder): the next run
                    # would fare no better. Our last words go to stdout for whoever started us (the
                    # executor reads them once we have exited), then we exit as a runner that died.
                    print(f"mnist-tui runner: {run_id}: {end.message}", file=sys.stderr, flush=True)
                    say({"last_words": end.to_dict()})
                    return 1
            if signals.received:
                break
    except JobError as bad:
        print(f"mnist-tui runner: {bad}", file=sys.stderr)
        return 2
    return 128 + signals.received[0] if signals.received else 0


if __name__ == "__main__":
    sys.exit(main())
