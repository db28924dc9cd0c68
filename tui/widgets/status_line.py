"""One line: the current run, its epoch progress, speed, ETA and device; or what is idle. Under
it, while a run trains, the filter in force (`/`; idle, it is on that line); and why the run under
the table's cursor ended, when it failed, stopped or was interrupted."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from core.comparison.columns import status_style
from core.runstore.results import RunRecord
from tui.palette import needs_markers, run_mark

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
    """The current run (or idle) on one line; under it, while a run trains, the filter in force; and
    while the table's cursor is on a run that failed, stopped or was interrupted, why: whole,
    wrapped over as many lines as it takes."""

    _under: list[Text] = []

    def show(self, current: RunRecord | None, color: str, position: str, queued: int, idle_note: str = "",
             cursor: RunRecord | None = None, cursor_color: str = "", filter_note: Text | None = None) -> None:
        """`filter_note`: the filter in force (tui.dashboard_state), user text in a Text, never markup."""
        line = self._line(current, run_mark(self.app, color), position, queued, idle_note, filter_note)
        under = [filter_note] if filter_note is not None and current is not None else []  # the run's own line stays whole
        reason = None
        if cursor is not None and cursor.reason:
            mark, style = run_mark(self.app, cursor_color)  # its marker too where runs differ by marker
            reason = Text.assemble(("↳ " + (mark + " " if needs_markers(self.app) else ""), style), (cursor.label, "bold"), " · ",
                                   (cursor.status, status_style(cursor.status, self.app.no_color)),
                                   f": {cursor.reason}", overflow="fold")  # the user's name and a message: never markup
        if reason is not None:
            under.append(reason)
        relayout = under != self._under  # one line, or more: only then the layout changes
        self._under = under
        self.update(Group(line, *under) if under else line, layout=relayout)

    @staticmethod
    def _line(current: RunRecord | None, mark: tuple[str, str], position: str, queued: int, idle_note: str,
              filter_note: Text | None = None) -> Text:
        """`mark`: the current run's marker and style (tui.palette.run_mark), as in the table."""
        text = Text(no_wrap=True, overflow="ellipsis")
        if current is None:
            text.append("idle", style="bold")
            if queued:
                text.append(f" · {queued} queued")
            if filter_note is not None:
                text.append(" · ")
                text.append_text(filter_note)
            if idle_note:
                text.append(f" · {idle_note}")
            return text
        text.append(mark[0] + " ", style=mark[1])
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
        return text
