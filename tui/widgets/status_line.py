"""One line: the current run, its epoch progress, speed, ETA and device; or what is idle."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from core.results import RunRecord

BAR_WIDTH = 8


def progress_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def eta_seconds(record: RunRecord) -> float | None:
    """Time left, from the last window's speed: the batches still to train at that rate."""
    batch = record.last_batch
    per_epoch = record.batches_per_epoch
    if batch is None or not per_epoch or batch.samples_per_sec <= 0:
        return None
    total = (record.start_epoch + record.config.epochs) * per_epoch
    batches_per_s = batch.samples_per_sec / record.config.batch_size
    return (total - batch.step) / batches_per_s


class StatusLine(Static):
    def show(self, current: RunRecord | None, color: str, position: str, queued: int, idle_note: str = "") -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if current is None:
            text.append("idle", style="bold")
            if queued:
                text.append(f" · {queued} queued")
            text.append(f" · {idle_note}")
            self.update(text, layout=False)  # one fixed line: no relayout
            return
        text.append("● ", style=color)
        text.append(current.label, style="bold")
        text.append(f" {position}" + (f" +{queued} queued" if queued else ""))
        batch, per_epoch = current.last_batch, current.batches_per_epoch
        if current.status == "queued" or per_epoch is None:
            text.append(" · loading data…")
        elif current.compiling:
            text.append(" · compiling the training step…")
        else:
            epoch = batch.epoch if batch else current.start_epoch + 1
            last = current.start_epoch + current.config.epochs
            done = (batch.batch / per_epoch) if batch else 0.0
            if current.last_epoch >= epoch:  # the epoch's test pass has ended
                done = 1.0
            text.append(f" · ep {epoch}/{last} {progress_bar(done)} {done * 100:.0f}%")
            if batch:
                text.append(f" · {batch.samples_per_sec:,.0f} samples/s")
                if current.config.schedule != "constant":
                    text.append(f" · lr {batch.lr:.2g}")
            eta = eta_seconds(current)
            if eta is not None:
                text.append(f" · ETA {clock(eta)}")
        if current.device:
            text.append(f" · {current.device}", style="dim")
        self.update(text, layout=False)
