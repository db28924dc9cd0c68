"""The Ray backend's driver: a runner process (`python -m core.execution.runner --ray ADDRESS`)
that trains nothing itself. Each job becomes a Ray task (core.execution.ray_task) on any node
with room; its events and files stream back and are recorded here, in this machine's run store,
exactly as a local runner records them, so the table, charts, export, inspect and `x` work alike.

- Placement: a run on the CPU asks Ray for 1/N of a CPU, a run on a GPU for 1/N of a GPU (N:
  --runs-per-device); Ray holds a task until a node has that free.
- A lost node (Ray says the task's node died) does not lose the run: it goes on from its last
  epoch's checkpoint on another node; a run_resumed event says where and why, and the epochs
  after that checkpoint are trained once more and counted once (core.runstore.results).
- A cluster that goes away ends its runs as interrupted, with that reason.
- `x` (a stop request in the run folder, then SIGUSR1 to this process) reaches the task through a
  small actor it asks every half second: the run stops after its batch.
Like every runner, it lives in a session of its own: it outlives the dashboard that started it.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import time
from pathlib import Path

from core.config import RunConfig
from core.events import END_KINDS, Event, RunFailed, RunInterrupted, RunResumed, RunStarted, event_from_dict
from core.execution.control import STOP_REQUEST_FILE, read_stop_request
from core.execution.jobs import JobError, job_lines, say, stdout_to_devnull
from core.execution.ray_connect import RayConnectError, cluster_devices, connect
from core.execution.session import record_events
from core.runstore.atomic import atomic_write
from core.runstore.store import RunStore, StoreError

MAX_RESUMES = 3  # a run whose nodes keep dying is failed after this many moves
CLUSTER_CHECK_S = 10.0  # how long a lost connection to the cluster may last before its runs are interrupted



class StopBoard:
    """Stop requests for the tasks of one driver (a Ray actor: the tasks ask it)."""

    def __init__(self) -> None:
        self.requests: dict[str, tuple[str, int | None]] = {}

    def stop(self, run_id: str, reason: str, pruned_after: int | None = None) -> None:
        self.requests[run_id] = (reason, pruned_after)

    def request(self, run_id: str) -> tuple[str, int | None] | None:
        """(reason, pruned_after) once the run is asked to stop, else None."""
        return self.requests.get(run_id)


class RayRun:
    """One run: its task, then (after a lost node) the task that goes on from its checkpoint."""

    def __init__(self, driver: "Driver", store: RunStore, run_id: str, config: RunConfig, data_dir: str | None) -> None:
        self.driver, self.store, self.run_id, self.config, self.data_dir = driver, store, run_id, config, data_dir
        self.folder = store.root / run_id
        self.node = self.node_id = ""
        self.node_folder = ""
        self.last_epoch = 0  # the last epoch whose end was logged
        self.checkpoint_epoch = 0  # the epoch of the checkpoint that reached the run folder
        self.elapsed = 0.0  # seconds since the run started, as last logged
        self.offset = 0.0  # added to a resumed task's clock (it starts from zero)
        self.resumes = 0
        self.lost_node = ""
        self.ended = False
        self.start_epoch = 0  # epochs its own starting checkpoint had (a user's --resume), from run_started
        self.target_epoch = config.epochs

    # ----- the thread -----------------------------------------------------------------------
    def run(self) -> None:
        try:
            writer = self.store.create(self.run_id, self.config)
        except StoreError as problem:
            print(f"mnist-tui ray driver: {self.run_id}: {problem}", file=sys.stderr)
            return
        try:
            for _ in record_events(writer, self.run_id, self.events()):
                pass
        finally:
            writer.close()

    def events(self):
        import ray
        from ray.exceptions import RayError

        while True:
            generator = self.driver.submit(self.job(), self.config)
            try:
                for ref in generator:
                    event = self.receive(ray.get(ref))
                    if event is not None:
                        yield event
                        if event.kind in END_KINDS:
                            self.ended = True
                            return
                reason = f"its Ray task on {self.node or 'a node'} ended without a last word"
                yield RunFailed(self.run_id, "RayTaskEnded", reason, self.elapsed)
                return
            except GeneratorExit:
                try:
                    ray.cancel(generator, force=True)
                except Exception:
                    pass
                raise
            except RayError as problem:
                lost = self.driver.node_lost(self.node_id, problem)
                if lost is None:  # the cluster itself is gone (or unreachable)
                    yield RunInterrupted(self.run_id, self.last_epoch, self.elapsed, self._cluster_gone(problem))
                    return
                if not lost or self.resumes >= MAX_RESUMES:
                    why = f"its Ray task failed on {self.node or 'a node'}: {_one_line(problem)}"
                    if lost:
                        why = f"{self.node} was lost during epoch {self.last_epoch + 1}, the {self.resumes + 1}th node this run lost; not resumed again"
                    yield RunFailed(self.run_id, type(problem).__name__, why, self.elapsed)
                    return
                self.resumes += 1
                self.lost_node = self.node
                self.offset = self.elapsed
                print(f"mnist-tui ray driver: {self.run_id}: {self.node} lost during epoch {self.last_epoch + 1} "
                      f"({type(problem).__name__}); resuming from epoch {self.checkpoint_epoch}'s checkpoint", file=sys.stderr)

    def job(self) -> dict:
        """The task's job: from the start, or from the checkpoint that reached the run folder."""
        config, resume_bytes, origin = self.config, None, None
        if self.resumes and self.checkpoint_epoch > self.start_epoch:  # an epoch of ours ended and its weights arrived
            resume_bytes = (self.folder / "checkpoint.pt").read_bytes()
            config = config.with_values(epochs=self.target_epoch - self.checkpoint_epoch)
            origin = self.start_epoch
        elif config.resume:
            resume_bytes = Path(config.resume).read_bytes()  # the user's checkpoint lives here, not on the node
        if config.device.startswith("cuda"):
            config = config.with_values(device="cuda")  # Ray gives the task its GPU (CUDA_VISIBLE_DEVICES)
        return {"run_id": self.run_id, "config": config.to_dict(), "data_dir": self.data_dir, "resume_bytes": resume_bytes,
                "schedule_origin": origin}

    # ----- what the task sends -----------------------------------------------------------
    def receive(self, item: dict) -> Event | None:
        if "node" in item:
            self.node_id, self.node_folder = item["node_id"], item["folder"]
            self.node = self.driver.node_name(self.node_id)
            return None
        if "file" in item:
            self._store_file(item["file"], item["data"])
            return None
        event = event_from_dict(item["event"])
        event = self._as_recorded(event)
        if event is None:
            return None
        self.elapsed = getattr(event, "elapsed", getattr(event, "seconds", self.elapsed))
        if event.kind == "epoch_ended":
            self.last_epoch = event.epoch
        return event

    def _as_recorded(self, event: Event) -> Event | None:
        """The event as this machine's run store keeps it: our paths, the node, one clock."""
        # `elapsed` counts from the run's start; so does an end event's `seconds` (an epoch's
        # `seconds` is its own length: it stays).
        field = "elapsed" if hasattr(event, "elapsed") else "seconds" if hasattr(event, "seconds") else None
        changes = {field: round(getattr(event, field) + self.offset, 3)} if self.offset and field else {}
        checkpoint = getattr(event, "checkpoint", None)
        if checkpoint and self.node_folder and checkpoint.startswith(self.node_folder):
            changes["checkpoint"] = str(self.folder) + checkpoint[len(self.node_folder):]
        if isinstance(event, RunStarted):
            if self.resumes:  # the run goes on: say where and why instead of starting it again
                from_epoch = self.checkpoint_epoch + 1
                reason = f"resumed on {self.node} after {self.lost_node} was lost during epoch {self.last_epoch + 1}"
                self.last_epoch = self.checkpoint_epoch
                return RunResumed(self.run_id, from_epoch, self.node, self.lost_node, reason, event.device, event.device_name, self.offset)
            self.start_epoch = self.checkpoint_epoch = self.last_epoch = event.start_epoch
            self.target_epoch = event.start_epoch + self.config.epochs
            changes["node"] = self.node
            changes["config"] = {**event.config, "resume": self.config.resume, "device": self.config.device}
        return dataclasses.replace(event, **changes) if changes else event

    def _store_file(self, relative: str, data: bytes) -> None:
        target = (self.folder / relative).resolve()
        if self.folder.resolve() not in target.parents:
            return  # a name that leaves the run folder is not ours to write
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(target, "wb") as handle:
            handle.write(data)
        if relative == "checkpoint.pt":
            self.checkpoint_epoch = self.last_epoch

    def _cluster_gone(self, problem: Exception) -> str:
        where = f"during epoch {self.last_epoch + 1}" if not self.ended else ""
        kept = f"; its checkpoint is of epoch {self.checkpoint_epoch}" if self.checkpoint_epoch else ""
        return f"the Ray cluster at {self.driver.cluster['address']} went away {where} ({_one_line(problem)}){kept}"

    # ----- stopping -------------------------------------------------------------------------
    def stop_requested(self) -> tuple[str, int | None]:
        """(reason, pruned_after) of a stop request in its folder (`x`, a search's pruner), or ("", None)."""
        return read_stop_request(self.folder, "") if (self.folder / STOP_REQUEST_FILE).exists() else ("", None)


class Driver:
    def __init__(self, address: str, runs_per_device: int, cluster: dict) -> None:
        import ray

        self.address, self.runs_per_device, self.cluster = address, runs_per_device, cluster
        from core.execution.ray_task import train_task

        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        # The board lives on our own node (the one this driver is attached to), so a lost worker
        # node does not take it along; should it die anyway, Ray starts it again.
        here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=True)
        self.board = ray.remote(StopBoard).options(num_cpus=0, max_restarts=-1, max_task_retries=-1, scheduling_strategy=here).remote()
        self.task = ray.remote(train_task)
        self.runs: dict[str, RayRun] = {}
        self.threads: list[threading.Thread] = []
        self.stopped: dict[str, str] = {}  # run id -> the reason its task was given
        self.stop_everything = ""  # SIGINT/SIGTERM/SIGHUP: every run stops
        self.wake = threading.Event()
        self.closing = False
        self.names: dict[str, str] = {}

    def submit(self, job: dict, config: RunConfig):
        share = 1.0 / self.runs_per_device
        on_gpu = config.device != "cpu" and self.cluster.get("GPU", 0) > 0
        resources = {"num_gpus": share, "num_cpus": 0} if on_gpu else {"num_cpus": share}
        # max_retries=0: a lost node is ours to handle, from the checkpoint (Ray would start over).
        return self.task.options(max_retries=0, **resources).remote(job, self.board)

    def start(self, store: RunStore, run_id: str, config: RunConfig, data_dir: str | None) -> None:
        run = RayRun(self, store, run_id, config, data_dir)
        self.runs[run_id] = run
        thread = threading.Thread(target=run.run, name=f"ray-{run_id}", daemon=True)
        self.threads.append(thread)
        thread.start()

    def nodes(self, timeout: float = CLUSTER_CHECK_S) -> dict[str, dict] | None:
        """Ray's node table by id, or None when the cluster does not answer within `timeout`
        (ray.nodes() hangs once the GCS is gone; Ray ends this process 60 s later)."""
        import ray

        answer: list = []
        asking = threading.Thread(target=lambda: answer.append(ray.nodes()), name="ray-nodes", daemon=True)
        asking.start()
        asking.join(timeout)
        return {node["NodeID"]: node for node in answer[0]} if answer else None

    def node_name(self, node_id: str) -> str:
        """The name a person knows the node by: the one it was started with (`ray start --node-name`),
        else its host name; with the start of its id where several nodes share a host."""
        if node_id not in self.names:
            nodes = self.nodes(5.0) or {}
            node = nodes.get(node_id, {})
            name = node.get("NodeName") or ""
            if not name or name == node.get("NodeManagerAddress"):
                host = node.get("NodeManagerHostname") or node.get("NodeManagerAddress") or "node"
                shared = sum(1 for n in nodes.values() if n.get("NodeManagerHostname") == host) > 1
                name = f"{host}:{node_id[:6]}" if shared or not node else host
            self.names[node_id] = name
        return self.names[node_id]

    def node_lost(self, node_id: str, problem: Exception) -> bool | None:
        """True: Ray says the task's node is dead; False: it lives (the task failed otherwise);
        None: the cluster is gone (it does not answer, or no node of it lives)."""
        nodes = self.nodes()
        if nodes is None or not any(n.get("Alive") for n in nodes.values()):
            return None
        node = nodes.get(node_id)
        return node is None or not node.get("Alive") or type(problem).__name__ == "NodeDiedError"

    def watch_stops(self) -> None:
        """Forward stop requests (`x`: a file in the run folder and SIGUSR1) to the tasks."""
        while not self.closing:
            self.wake.wait(0.5)
            self.wake.clear()
            for run_id, run in list(self.runs.items()):
                if run_id in self.stopped or run.ended:
                    continue
                reason, pruned_after = (self.stop_everything, None) if self.stop_everything else run.stop_requested()
                if reason:
                    self.stopped[run_id] = reason
                    try:
                        self.board.stop.remote(run_id, reason, pruned_after)
                    except Exception as problem:
                        print(f"mnist-tui ray driver: cannot ask {run_id} to stop: {problem}", file=sys.stderr)

    def stop_all(self, reason: str) -> None:
        self.stop_everything = self.stop_everything or reason
        self.wake.set()

    def busy(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)


def _one_line(problem: Exception) -> str:
    text = " ".join(str(problem).split())
    return text[:300] + ("…" if len(text) > 300 else "")


def serve(address: str, runs_per_device: int, warm_log: Path | None) -> int:
    """The driver's main: connect, say ready (with the cluster as its devices), then start every
    job line's runs at once (Ray places them) until end of file, and wait for them to end."""
    if warm_log is not None:  # Ray's own C++ logging writes to fd 2: never onto the user's terminal
        warm_log.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(warm_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 2)
        os.close(fd)
    try:
        cluster = connect(address)
    except RayConnectError as problem:
        if warm_log is not None:  # before saying so: the launcher removes its folder once we have
            _remove_log(warm_log)
        say({"ready": False, "error": str(problem)})
        return 1
    driver = Driver(address, runs_per_device, cluster)
    say({"ready": True, "pid": os.getpid(), "devices": cluster_devices(cluster), "ray": cluster})
    stdout_to_devnull()

    def terminate(signum, _frame) -> None:
        if driver.stop_everything:  # a second one: give up waiting for the batch
            os._exit(128 + signum)
        driver.stop_all(f"{signal.Signals(signum).name} received")

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), terminate)
    signal.signal(signal.SIGUSR1, lambda *_: driver.wake.set())
    threading.Thread(target=driver.watch_stops, name="stops", daemon=True).start()
    try:
        for job in job_lines():
            store = RunStore(job["runs_dir"])
            # The data folder this machine was given (--data-dir, else $MNIST_TUI_DATA): the node
            # reads it where that path exists there too, else its own.
            data_dir = job["data_dir"] or os.environ.get("MNIST_TUI_DATA") or None
            for run_id, config in job["jobs"]:
                driver.start(store, run_id, config, data_dir)
    except JobError as bad:  # no more jobs; the runs started train on
        print(f"mnist-tui ray driver: {bad}", file=sys.stderr)
    while driver.busy():
        time.sleep(0.2)
    driver.closing = True
    if warm_log is not None:
        _remove_log(warm_log)
    return 0


def _remove_log(log: Path) -> None:
    """Our log and, once empty, the launcher's folder of logs (the dashboard may have left before us)."""
    log.unlink(missing_ok=True)
    try:
        log.parent.rmdir()
    except OSError:
        pass
