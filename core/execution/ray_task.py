"""What a Ray node runs for one job: the trainer, its events and files streamed back as they come.

`train_task` is a Ray generator task (Ray's streaming generators: each `yield` reaches the driver
as soon as it is made; https://docs.ray.io/en/latest/ray-core/ray-generator.html). It yields
plain dicts, in this order:

    {"node_id": "...", "folder": "/tmp/mnist-tui-ray-..."}    first (the driver names the node)
    {"file": "checkpoint.pt", "data": b"..."}   a file of the run's folder that is new or changed
    {"event": {...}}                            an event (core.events, as to_dict() gives it)

The node trains into a temporary folder; every file there that changed (the checkpoint after
each epoch, the stored predictions, TensorBoard files) is sent within half a second, and always
before the next event, so the driver has an epoch's checkpoint once the next event arrives.
Stopping: the driver's StopBoard actor holds a reason; the task asks it every half second and
the trainer stops after its batch, as a local runner does on `x`.
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterator

RESUME_FILE = "resume-from.pt"  # the checkpoint a resumed task starts from (never sent back)
POLL_S = 0.5


def changed_files(folder: Path, seen: dict[str, tuple]) -> list[str]:
    """Paths (relative, /-separated) of the complete files in `folder` that are new or changed
    since `seen` (updated). Temporary files (a leading dot: core.runstore.atomic) are skipped:
    every file the trainer writes is renamed into place whole."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.name.startswith(".") or path.name == RESUME_FILE:
            continue
        try:
            stat = path.stat()
        except OSError:
            continue  # replaced meanwhile: the next look finds the new one
        if not path.is_file():
            continue
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        relative = path.relative_to(folder).as_posix()
        if seen.get(relative) != key:
            seen[relative] = key
            found.append(relative)
    return found


def train_task(job: dict, board) -> Iterator[dict]:
    """Train one run on this node. `job`: {"run_id", "config" (RunConfig.to_dict()), "data_dir",
    "resume_bytes" (a checkpoint to start from, or None), "schedule_origin" (or None)};
    `board`: the driver's StopBoard actor handle."""
    import ray

    from core.config import RunConfig
    from core.training.stop import StopRequest
    from core.training.trainer import run_events

    run_id = job["run_id"]
    node_id = ray.get_runtime_context().get_node_id()
    # Under Ray's temp folder when it has its own (a node lost mid-run cannot clean up after itself).
    folder = Path(tempfile.mkdtemp(prefix="mnist-tui-ray-", dir=os.environ.get("RAY_TMPDIR") or None))
    yield {"node": True, "node_id": node_id, "folder": str(folder)}
    config = RunConfig.from_dict(job["config"])
    if job.get("resume_bytes") is not None:
        (folder / RESUME_FILE).write_bytes(job["resume_bytes"])
        config = config.with_values(resume=str(folder / RESUME_FILE))
    data_dir = job.get("data_dir") if job.get("data_dir") and Path(job["data_dir"]).is_dir() else None  # else the node's own
    cancel, done = StopRequest(), threading.Event()
    events = run_events(config, run_id, cancel=cancel, data_dir=data_dir, checkpoint_path=folder / "checkpoint.pt",
                        run_dir=folder, schedule_origin=job.get("schedule_origin"))
    produced: queue.Queue = queue.Queue()

    def train() -> None:
        try:
            for event in events:
                produced.put(event)
        finally:
            produced.put(None)

    def watch_board() -> None:
        while not done.wait(POLL_S):
            try:
                request = ray.get(board.request.remote(run_id), timeout=30)
            except Exception:  # the board is being restarted; were the driver gone, Ray would end this task
                continue
            if request:
                cancel.stop(*request)
                return

    threads = [threading.Thread(target=train, name=f"train-{run_id}", daemon=True),
               threading.Thread(target=watch_board, name=f"board-{run_id}", daemon=True)]
    for thread in threads:
        thread.start()
    seen: dict[str, tuple] = {}
    try:
        while True:
            try:
                event = produced.get(timeout=POLL_S)
            except queue.Empty:
                event = False  # nothing new: look for files all the same
            for relative in changed_files(folder, seen):
                try:
                    data = (folder / relative).read_bytes()
                except OSError:
                    continue
                yield {"file": relative, "data": data}
            if event is None:
                return
            if event is not False:
                yield {"event": event.to_dict()}
    finally:  # finished, or the driver let go of us: stop training, leave nothing behind
        cancel.stop(cancel.reason if cancel.is_set() else "the driver stopped reading")
        done.set()
        threads[0].join(60)
        shutil.rmtree(folder, ignore_errors=True)
