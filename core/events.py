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
    torch_version: str = ""  # torch.__version__ of the process that trained ("" in logs from before it was kept)
    node: str = ""  # the Ray node that trains it ("" for a run on this machine's runner)


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
    """The device and the runner process as the runner sees them, every few seconds (the dashboard never queries them)."""

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
    # The runner process itself (None in logs from before they were kept):
    cpu_percent: float | None = None  # its CPU time since the last sample over the wall time, % of one core (200 = two cores)
    runner_memory: int | None = None  # its resident set, bytes


@dataclass(frozen=True)
class CompileStatus(Event):
    """torch.compile's one-time compile of the training step: started, done, or failed (then eager)."""

    kind: ClassVar[str] = "compile_status"
    state: str  # "compiling", "compiled" or "failed"
    seconds: float  # how long it took (0 while compiling)
    message: str = ""  # the mode, or why it failed


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
    # A search's pruner stopped it after this epoch (core.search): its status is "pruned", the
    # checkpoint is that epoch's, and the reason gives the rule ("pruned after epoch 2: 96.10% is below ...").
    pruned_after: int | None = None


@dataclass(frozen=True)
class RunFailed(Event):
    kind: ClassVar[str] = "run_failed"
    error_type: str  # "DataError", "NonFiniteLoss", "OutOfMemoryError"...
    message: str  # what went wrong and what to do, for a person
    seconds: float = 0.0
    # What the trainer knew when it failed, so a run that never started still says where it ran
    # ("" when unknown, and in logs from before these were kept; run_started's, when logged, win).
    device: str = ""
    device_name: str = ""
    torch_version: str = ""


@dataclass(frozen=True)
class RunResumed(Event):
    """A Ray run goes on elsewhere: the node training it was lost; it continues on `node` from the
    checkpoint of epoch `from_epoch - 1`. What was logged of epoch `from_epoch` and later is
    superseded (no epoch counts twice)."""

    kind: ClassVar[str] = "run_resumed"
    from_epoch: int  # the first epoch trained again (the checkpoint is of the one before)
    node: str  # where it goes on
    lost_node: str  # where it was
    reason: str  # "resumed on <node> after <node> was lost during epoch 3"
    device: str = ""  # on the new node
    device_name: str = ""
    elapsed: float = 0.0  # seconds since the run started


@dataclass(frozen=True)
class RunInterrupted(Event):
    """The run cannot go on and nothing failed in it: the Ray cluster it trained on went away.
    Its log keeps every finished epoch; its checkpoint, the last one that arrived."""

    kind: ClassVar[str] = "run_interrupted"
    last_epoch: int  # the last epoch that ended (0: none)
    seconds: float
    reason: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (RunStarted, BatchLogged, EpochEnded, DeviceSampled, CompileStatus, RunFinished, RunStopped, RunFailed, RunResumed, RunInterrupted)
}
END_KINDS = ("run_finished", "run_stopped", "run_failed", "run_interrupted")


MAX_EPOCH = 2_000  # epochs a run (resumes included) may count: 1,000 a run, and a resume or so
MAX_BATCHES = 60_000  # batches an epoch may have (60,000 images at batch size 1)
MAX_TEXT = 4_096  # characters of a text field (messages, names)

# Bounds of the numeric fields, checked on every read: a hand-edited or corrupt log cannot make
# the dashboard build 100,000 epoch columns or divide by a string.
_RANGES: dict[str, tuple[float, float]] = {
    "epoch": (1, MAX_EPOCH),
    "from_epoch": (1, MAX_EPOCH),
    "pruned_after": (1, MAX_EPOCH),
    "last_epoch": (0, MAX_EPOCH),
    "start_epoch": (0, MAX_EPOCH),
    "batch": (0, MAX_BATCHES),
    "batches_per_epoch": (1, MAX_BATCHES),
    "step": (0, MAX_EPOCH * MAX_BATCHES),
    "train_size": (0, 10_000_000),
    "test_size": (0, 10_000_000),
    "parameters": (0, 10**12),
    "accuracy": (0, 1),
    "start_accuracy": (0, 1),
    "final_accuracy": (0, 1),
    "best_accuracy": (0, 1),
    "utilization": (0, 100),
}
_CHOICES = {"state": ("compiling", "compiled", "failed")}
_MAY_BE_NONFINITE = {"loss", "test_loss", "train_loss"}  # a diverging run logs what it saw
_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "dict": (dict,)}


def _check_field(kind: str, name: str, annotation: str, value: Any) -> None:
    """Raise ValueError unless `value` has the field's type and lies in its range."""
    optional = annotation.endswith("| None")
    if value is None:
        if optional:
            return
        raise ValueError(f"{kind}.{name} is null")
    base = annotation.replace("| None", "").strip()
    if isinstance(value, bool) or not isinstance(value, _TYPES[base]):
        raise ValueError(f"{kind}.{name} must be {base}, got {type(value).__name__} {str(value)[:40]!r}")
    if base == "str" and len(value) > MAX_TEXT:
        raise ValueError(f"{kind}.{name} is longer than {MAX_TEXT} characters")
    if name in _CHOICES and value not in _CHOICES[name]:
        raise ValueError(f"{kind}.{name} must be one of {', '.join(_CHOICES[name])}")
    if base in ("int", "float"):
        if value != value or value in (float("inf"), float("-inf")):
            if name in _MAY_BE_NONFINITE:
                return
            raise ValueError(f"{kind}.{name} is not a finite number")
        low, high = _RANGES.get(name, (0, float("inf")) if name != "lr" else (0, 1e6))
        if not low <= value <= high:
            raise ValueError(f"{kind}.{name} = {value} is outside {low:g}..{high:g}")


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Inverse of `to_dict`, checked: raises ValueError on an unknown kind, a missing field, or a
    field of the wrong type or out of range (every read of the run store goes through here)."""
    if not isinstance(data, Mapping):
        raise ValueError("an event must be a JSON object")
    cls = EVENT_TYPES.get(data.get("event")) if isinstance(data.get("event"), str) else None
    if cls is None:
        raise ValueError(f"unknown event {str(data.get('event'))[:40]!r}")
    known = {f.name: f for f in fields(cls)}
    values = {k: v for k, v in data.items() if k in known}
    for name, field in known.items():
        if name in values:
            _check_field(cls.kind, name, str(field.type), values[name])
    try:
        return cls(**values)
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
            f"run {event.run_id}: {event.config.get('model', '?')} on {event.device} ({event.device_name})"
            f"{' on node ' + event.node if event.node else ''}, "
            f"{event.parameters:,} parameters, {event.train_size:,} train / {event.test_size:,} test images{resumed}"
        )
    if isinstance(event, RunFinished):
        saved = f"; weights saved to {event.checkpoint}" if event.checkpoint else ""
        return (
            f"finished in {event.seconds:.1f} s: final accuracy {event.final_accuracy * 100:.2f}%, "
            f"best {event.best_accuracy * 100:.2f}%{saved}"
        )
    if isinstance(event, RunStopped) and event.pruned_after:
        kept = f"; the weights of epoch {event.pruned_after} are in {event.checkpoint}" if event.checkpoint else ""
        return f"{event.reason}{kept}"
    if isinstance(event, RunStopped):
        saved = f"; weights saved to {event.checkpoint}" if event.checkpoint else ""
        return f"stopped at epoch {event.epoch}, batch {event.batch} ({event.reason}){saved}"
    if isinstance(event, RunFailed):
        return f"failed: {event.message}"
    if isinstance(event, RunResumed):
        return f"{event.reason}; epoch {event.from_epoch} trains again there"
    if isinstance(event, RunInterrupted):
        return f"interrupted: {event.reason}"
    if isinstance(event, CompileStatus):
        if event.state == "compiling":
            return f"compiling the training step ({event.message})…"
        if event.state == "compiled":
            return f"compiled in {event.seconds:.1f} s ({event.message})"
        return f"warning: torch.compile failed after {event.seconds:.1f} s, training eager instead: {event.message}"
    return None
