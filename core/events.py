"""What a training run reports, as frozen dataclasses; and the seed's text lines for them.

Every event carries its run's id, serialises with `to_dict()` (an "event" key names its kind)
and comes back with `event_from_dict`, so the CLI's --json, the run store's event log and
the dashboard all speak the same records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Mapping


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"
    run_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **asdict(self)}


@dataclass(frozen=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    config: dict  # RunConfig.to_dict()
    device: str  # "cuda:0", "cpu"
    device_name: str  # "NVIDIA H100 80GB HBM3"
    parameters: int  # trainable parameter count
    train_size: int  # training images used
    test_size: int  # test images used
    batches_per_epoch: int
    started_at: float  # unix time at elapsed 0: an event happened at started_at + its elapsed
    start_epoch: int = 0  # epochs already trained by the checkpoint this run resumed from
    start_accuracy: float | None = None  # the resumed weights' test accuracy, measured before training


@dataclass(frozen=True)
class BatchLogged(Event):
    kind: ClassVar[str] = "batch_logged"
    epoch: int  # 1-based
    batch: int  # 1-based batch number within the epoch
    step: int  # global batch count since this run began training (resumed epochs included)
    loss: float  # mean training loss over the batches since the last report
    samples_per_sec: float  # training throughput over the same window
    elapsed: float  # seconds since the run started
    lr: float  # learning rate in force for the last batch


@dataclass(frozen=True)
class EpochEnded(Event):
    kind: ClassVar[str] = "epoch_ended"
    epoch: int
    accuracy: float  # test accuracy, fraction 0..1
    test_loss: float  # mean cross-entropy over the test set
    train_loss: float  # mean training loss over the epoch
    seconds: float  # this epoch's wall time, test pass included
    elapsed: float  # seconds since the run started


@dataclass(frozen=True)
class DeviceSampled(Event):
    """The device as the runner sees it, a few times a minute (the dashboard never queries it)."""

    kind: ClassVar[str] = "device_sampled"
    device: str  # "cuda:0", "cpu"
    name: str  # "NVIDIA H100 80GB HBM3", "cpu"
    memory_used: int | None  # bytes in use on the device (a GPU: by every process; the CPU: the machine)
    memory_total: int | None  # bytes the device has
    process_memory: int | None  # bytes this run holds (a GPU: allocated by torch; the CPU: resident set)
    utilization: float | None = None  # percent busy (a GPU, with nvidia-ml-py)
    temperature: float | None = None  # degrees Celsius (a GPU, with nvidia-ml-py)
    power: float | None = None  # watts (a GPU, with nvidia-ml-py)
    elapsed: float = 0.0  # seconds since the run started


@dataclass(frozen=True)
class RunFinished(Event):
    kind: ClassVar[str] = "run_finished"
    final_accuracy: float
    best_accuracy: float
    seconds: float
    checkpoint: str | None  # where the final weights are, when saved


@dataclass(frozen=True)
class RunStopped(Event):
    kind: ClassVar[str] = "run_stopped"
    epoch: int  # the epoch it was in
    batch: int  # the last batch it finished
    seconds: float
    checkpoint: str | None
    reason: str = "stopped by the user"


@dataclass(frozen=True)
class RunFailed(Event):
    kind: ClassVar[str] = "run_failed"
    error_type: str  # "DataError", "NonFiniteLoss", "OutOfMemoryError"...
    message: str  # what went wrong and what to do, for a person
    seconds: float = 0.0


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls for cls in (RunStarted, BatchLogged, EpochEnded, DeviceSampled, RunFinished, RunStopped, RunFailed)
}
END_KINDS = ("run_finished", "run_stopped", "run_failed")


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Inverse of `to_dict`; raises ValueError on an unknown kind or missing fields."""
    if not isinstance(data, Mapping):
        raise ValueError("an event must be a JSON object")
    cls = EVENT_TYPES.get(data.get("event"))  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown event {data.get('event')!r}")
    names = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError as missing:
        raise ValueError(f"malformed {cls.kind} event: {missing}") from None


def format_line(event: Event) -> str | None:
    """The seed's console line for an event (`[1, 100] loss: 0.613`), or None for silent ones."""
    if isinstance(event, BatchLogged):
        return f"[{event.epoch}, {event.batch}] loss: {event.loss:.3f}"
    if isinstance(event, EpochEnded):
        return (
            f"epoch {event.epoch}: test accuracy {event.accuracy * 100:.2f}% "
            f"(test loss {event.test_loss:.4f}, {event.seconds:.1f} s)"
        )
    if isinstance(event, RunStarted):
        resumed = ""
        if event.start_accuracy is not None:
            resumed = f", resumed after epoch {event.start_epoch} at {event.start_accuracy * 100:.2f}%"
        return (
            f"run {event.run_id}: {event.config['model']} on {event.device} ({event.device_name}), "
            f"{event.parameters:,} parameters, {event.train_size:,} train / {event.test_size:,} test images{resumed}"
        )
    if isinstance(event, RunFinished):
        saved = f"; weights saved to {event.checkpoint}" if event.checkpoint else ""
        return (
            f"finished in {event.seconds:.1f} s: final accuracy {event.final_accuracy * 100:.2f}%, "
            f"best {event.best_accuracy * 100:.2f}%{saved}"
        )
    if isinstance(event, RunStopped):
        saved = f"; weights saved to {event.checkpoint}" if event.checkpoint else ""
        return f"stopped at epoch {event.epoch}, batch {event.batch} ({event.reason}){saved}"
    if isinstance(event, RunFailed):
        return f"failed: {event.message}"
    return None
