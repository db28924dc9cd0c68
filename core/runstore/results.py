"""A run's results as the user compares them: built by replaying its events.

The dashboard's table and charts, the CSV export and `mnist-tui runs` all read RunRecords, so
a run looks the same live, after a restart (replayed from its event log) and in a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from core.config import RunConfig
from core.events import (
    END_KINDS, BatchLogged, CompileStatus, DeviceSampled, EpochEnded, Event, RunFailed, RunFinished, RunInterrupted, RunResumed, RunStarted, RunStopped,
)
from core.runstore.store import id_time

# queued and running are live states; the rest are final. "pruned": a search's pruner stopped it
# after an epoch (core.search). "interrupted": the log just ends
# (the process was killed); "unreadable": the run folder could not be read.
STATUSES = ("queued", "running", "done", "stopped", "pruned", "failed", "interrupted", "unreadable")
WITH_A_REASON = ("failed", "stopped", "pruned", "interrupted", "unreadable")  # the statuses that say why (RunRecord.reason)


def interrupted_reason(record: "RunRecord", last_lines: str = "") -> str:
    """Why a run whose log just ends ended, as far as anyone can tell: its process stopped writing
    without a last event (killed, out of memory, the machine went down)."""
    when = f"after epoch {record.last_epoch}" if record.accuracies else "before its first epoch ended"
    if record.last_batch is not None and record.last_batch.epoch > record.last_epoch:
        when += f" (last logged: epoch {record.last_batch.epoch}, batch {record.last_batch.batch})"
    said = f"; its runner.log ends: {last_lines}" if last_lines else ""
    return f"its process ended without a last word (killed?) {when}{said}"


class BatchPoint(NamedTuple):
    """One batch_logged window, as the charts read it (a tuple: a run keeps thousands)."""

    x: float  # epochs trained, fractional (step / batches per epoch)
    seconds: float  # since the run started
    step: int  # batches since the run began training
    loss: float  # mean training loss over the window
    lr: float  # learning rate in force for its last batch
    samples_per_sec: float


@dataclass
class RunRecord:
    run_id: str
    config: RunConfig
    status: str = "queued"
    accuracies: dict[int, float] = field(default_factory=dict)  # epoch -> test accuracy 0..1
    test_losses: dict[int, float] = field(default_factory=dict)  # epoch -> mean test loss
    train_losses: dict[int, float] = field(default_factory=dict)  # epoch -> mean training loss over the epoch
    losses: list[tuple[float, float]] = field(default_factory=list)  # (x in epochs, mean loss)
    batch_points: list[BatchPoint] = field(default_factory=list)  # every batch_logged window
    epoch_seconds: dict[int, float] = field(default_factory=dict)  # epoch -> seconds since the start when it ended
    samples: list[DeviceSampled] = field(default_factory=list)  # every device_sampled event, in order
    batches_per_epoch: int | None = None
    start_epoch: int = 0  # epochs the resumed checkpoint had already trained
    seconds: float | None = None  # wall time so far / in all
    device: str = ""
    device_name: str = ""
    message: str = ""  # why it failed or stopped
    last_batch: BatchLogged | None = None
    checkpoint: str | None = None
    started_at: float | None = None
    log_offset: int = 0  # bytes of the stored event log already folded in (for live watching)
    device_stats: DeviceSampled | None = None  # the runner's latest report on its device
    compiling: bool = False  # torch.compile is compiling the training step now
    torch_version: str = ""  # of the process that trained it
    images: tuple[int, int] | None = None  # (train, test) images it actually used
    node: str = ""  # the Ray node training it ("" on this machine's runners)
    ended: bool = False  # its log has an end event (run_finished, _stopped, _failed, _interrupted)

    @property
    def label(self) -> str:
        return self.config.label

    @property
    def reason(self) -> str:
        """Why it ended, for a failed, stopped, interrupted or unreadable run ("" otherwise)."""
        return self.message if self.status in WITH_A_REASON else ""

    @property
    def best(self) -> float | None:
        return max(self.accuracies.values()) if self.accuracies else None

    @property
    def final(self) -> float | None:
        return self.accuracies[max(self.accuracies)] if self.accuracies else None

    @property
    def last_epoch(self) -> int:
        return max(self.accuracies, default=self.start_epoch)

    @property
    def where(self) -> str:
        """"cuda:0 (NVIDIA H100 80GB HBM3)", and " on node gpu-7" for a Ray run ("" before it started)."""
        device = f"{self.device} ({self.device_name})" if self.device_name else self.device
        return device + (f" on node {self.node}" if self.node and device else "")

    @property
    def finished(self) -> bool:
        return self.status not in ("queued", "running")

    def apply(self, event: Event) -> None:
        """Fold one event into the record (events arrive in the order the run emitted them)."""
        self.ended = self.ended or event.kind in END_KINDS
        if isinstance(event, RunStarted):
            self.status = "running"
            self.batches_per_epoch = event.batches_per_epoch
            self.start_epoch = event.start_epoch
            self.device, self.device_name = event.device, event.device_name
            self.started_at = event.started_at
            self.torch_version = event.torch_version
            self.images = (event.train_size, event.test_size)
            self.node = event.node
        elif isinstance(event, BatchLogged):
            per_epoch = self.batches_per_epoch or 1
            self.losses.append((event.step / per_epoch, event.loss))
            self.batch_points.append(BatchPoint(event.step / per_epoch, event.elapsed, event.step, event.loss, event.lr, event.samples_per_sec))
            self.last_batch = event
            self.seconds = event.elapsed
        elif isinstance(event, EpochEnded):
            self.accuracies[event.epoch] = event.accuracy
            self.test_losses[event.epoch] = event.test_loss
            self.train_losses[event.epoch] = event.train_loss
            self.epoch_seconds[event.epoch] = event.elapsed
            self.seconds = event.elapsed
        elif isinstance(event, DeviceSampled):
            self.device_stats = event
            self.samples.append(event)
        elif isinstance(event, CompileStatus):
            self.compiling = event.state == "compiling"
        elif isinstance(event, RunFinished):
            self.status, self.seconds, self.checkpoint = "done", event.seconds, event.checkpoint
        elif isinstance(event, RunStopped):
            self.status = "pruned" if event.pruned_after else "stopped"
            self.seconds, self.checkpoint = event.seconds, event.checkpoint
            self.message = event.reason
        elif isinstance(event, RunResumed):  # epochs from from_epoch on train again: what was logged of them goes
            self._forget_from(event.from_epoch)
            self.node, self.message = event.node, event.reason
            self.device, self.device_name = event.device or self.device, event.device_name or self.device_name
        elif isinstance(event, RunInterrupted):
            self.status, self.seconds, self.message = "interrupted", event.seconds, event.reason
        elif isinstance(event, RunFailed):
            self.status, self.message = "failed", event.message
            self.seconds = event.seconds or self.seconds
            # A run that failed before run_started still says where it was to run.
            self.device = self.device or event.device
            self.device_name = self.device_name or event.device_name
            self.torch_version = self.torch_version or event.torch_version

    def _forget_from(self, epoch: int) -> None:
        for table in (self.accuracies, self.test_losses, self.train_losses, self.epoch_seconds):
            for stale in [e for e in table if e >= epoch]:
                del table[stale]
        first_x = epoch - 1  # x of a batch point is epochs trained: epoch k's points lie past k - 1
        self.losses = [p for p in self.losses if p[0] <= first_x]
        self.batch_points = [p for p in self.batch_points if p.x <= first_x]
        if self.last_batch is not None and self.last_batch.epoch >= epoch:
            self.last_batch = None

    @classmethod
    def from_stored(cls, stored) -> "RunRecord":
        """A record for a run read back from the store (a core.runstore.store.StoredRun)."""
        if stored.unreadable or stored.config is None:
            return cls(stored.run_id, RunConfig(name=stored.run_id), status="unreadable", message=stored.unreadable or "")
        record = cls.replay(stored.run_id, stored.config, stored.events, live=stored.live)
        record.log_offset = stored.log_offset
        if record.status == "interrupted" and not record.ended:
            from core.execution.launcher import tail  # a runner's stderr (a crash trace) says more when it said anything
            from core.runstore.store import RUNNER_LOG

            if last := tail(stored.path / RUNNER_LOG):
                record.message = interrupted_reason(record, last)
        return record

    @classmethod
    def replay(cls, run_id: str, config: RunConfig, events: list[Event], *, live: bool = False) -> "RunRecord":
        """Rebuild a record from a stored log; one that just ends is `interrupted` unless `live`."""
        record = cls(run_id, config, status="running" if live else "interrupted")
        for event in events:
            record.apply(event)
        if record.status == "running" and not live:
            record.status = "interrupted"
            record.message = record.message or interrupted_reason(record)
        return record


def load_records(store) -> tuple[list[RunRecord], list[str]]:
    """Every stored run as a record, in start order, and the warnings met reading them (an unreadable run's reason too)."""
    records, warnings, started = [], [], {}
    for stored in store.load_all():
        record = RunRecord.from_stored(stored)
        records.append(record)
        # When it started: as its log says, else as its id says, else when its config was written.
        started[stored.run_id] = next(t for t in (record.started_at, id_time(stored.run_id), stored.created) if t is not None)
        warnings += [f"{stored.run_id}: {w}" for w in stored.warnings]
        if stored.unreadable:
            warnings.append(f"{stored.run_id}: unreadable: {stored.unreadable}")
    # In start order, whatever the folder names say (ids of older versions were stamped in local time).
    records.sort(key=lambda r: (started[r.run_id], r.run_id))
    return records, warnings
