"""What several parts of the dashboard read: the runs, their colours, the runs hidden from the
charts, the sweep in view (`g`) and the filter (`/`). One plain object, no Textual in it: the
screen, the charts panel and the table are each given it, and it is unit-tested on its own
(tests/test_dashboard_state.py).

It also folds what the run store said (core.runstore.follow, read by tui.watcher in a thread)
into the records, and answers with what the screen should do about it (`Folded`): it never draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text

from core.comparison.run_filter import RunFilter
from core.events import RunFailed, RunStopped
from core.runstore.follow import RunUpdate, fold
from core.runstore.results import RunRecord
from tui.palette import rich_color
from tui.log_text import ending_line, log_lines

SHOWN_FILTER_CELLS = 32  # a long filter is cut in the status line (the bar shows it whole): the counts stay in view


@dataclass
class Folded:
    """What a read of the run store changed, for the screen to draw and say.

    `reshaped`: a run came, went or ended (rebuild the table and the charts); `dirty`: runs with
    new points only (update their row at the next UI tick); `log`: lines for the log pane;
    `notices`: (text, severity) toasts; `finished`: runs whose end frees their executor slot;
    `forgotten`: (run, why) of runs whose folder vanished."""

    reshaped: bool = False
    dirty: set[str] = field(default_factory=set)
    log: list[Text] = field(default_factory=list)
    notices: list[tuple[str, str]] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    forgotten: list[tuple[RunRecord, str]] = field(default_factory=list)


class DashboardState:
    """The runs the dashboard knows and how they are viewed. Colours are indices into
    tui.palette, given in the order runs are first seen and kept for the session."""

    def __init__(self, no_color: bool = False) -> None:
        self.records: dict[str, RunRecord] = {}
        self.color_index: dict[str, int] = {}
        self.hidden: set[str] = set()  # run ids left out of the charts (the table's space)
        self.view_sweep: str | None = None  # None: every run; else only this sweep's (g)
        self.run_filter = RunFilter()  # blank: every run passes (/)
        self.no_color = no_color  # NO_COLOR: statuses in the log without colour

    # ----- runs and colours ------------------------------------------------------------------
    def color(self, run_id: str) -> int:
        return self.color_index.setdefault(run_id, len(self.color_index))

    def rich_color(self, run_id: str) -> str:
        return rich_color(self.color(run_id))

    def add(self, record: RunRecord) -> None:
        self.records[record.run_id] = record
        self.color(record.run_id)

    def forget(self, run_id: str) -> RunRecord | None:
        """Take a run out (deleted, its folder vanished, a queued run dropped); None if it was not here."""
        self.hidden.discard(run_id)
        return self.records.pop(run_id, None)

    def toggle_hidden(self, run_ids: tuple[str, ...]) -> None:
        """The table's space: hide these runs from the charts, or show them again if the first is hidden."""
        ids = set(run_ids)
        self.hidden = self.hidden - ids if run_ids[0] in self.hidden else self.hidden | ids

    # ----- what is in view -------------------------------------------------------------------
    def view_records(self) -> list[RunRecord]:
        """All runs, or one sweep's (`g`): what the filter chooses from."""
        if self.view_sweep is None:
            return list(self.records.values())
        return [r for r in self.records.values() if r.config.sweep == self.view_sweep]

    def visible_records(self) -> list[RunRecord]:
        """The runs in view: all, or one sweep's (`g`), those the filter lets through (`/`).
        Table, charts, pivot and export follow it."""
        return self.filtered(self.view_records())

    def charted_records(self) -> list[RunRecord]:
        """The runs in view that the charts draw (not hidden with space)."""
        return [r for r in self.visible_records() if r.run_id not in self.hidden]

    def filtered(self, records: list[RunRecord]) -> list[RunRecord]:
        return [r for r in records if self.run_filter.matches(r)] if self.run_filter else records

    def sweeps(self) -> list[str | None]:
        """What `g` steps through: every run (None), then each sweep in the order first seen."""
        return [None, *dict.fromkeys(r.config.sweep for r in self.records.values() if r.config.sweep)]

    def cycle_view(self) -> str:
        """`g`: the next sweep (after the last: every run). Returns what to say."""
        views = self.sweeps()
        self.view_sweep = views[(views.index(self.view_sweep) + 1) % len(views)] if self.view_sweep in views else None
        if len(views) == 1:
            return "no sweeps yet: showing all runs"
        return f"showing {self.view_sweep or 'all runs'} ({len(self.visible_records())} runs)"

    def filter_note(self) -> Text | None:
        """`filter lr<0.1 · 3 of 20 runs · esc clears`, the filter as typed (never markup), counted
        against the runs it chose from (all, or the sweep's that `g` shows); None without a filter."""
        if not self.run_filter:
            return None
        typed = Text(" ".join(self.run_filter.text.split()), style="bold")  # one line, however it was typed
        typed.truncate(SHOWN_FILTER_CELLS, overflow="ellipsis")
        counts = f" · {len(self.visible_records())} of {len(self.view_records())} runs · esc clears"
        return Text.assemble(("filter ", "dim"), typed, counts, no_wrap=True, overflow="ellipsis")

    def view_title(self) -> str:
        """What the pivot's title calls the runs in view: `all runs`, a sweep, and the filter as typed."""
        title = self.view_sweep or "all runs"
        if self.run_filter:
            title += f", filter {self.run_filter.text.strip()}"
        return title

    # ----- what the run store said -----------------------------------------------------------
    def add_history(self, records: list[RunRecord]) -> list[Text]:
        """The runs found at start go before those this session started; returns the log lines
        that say why the unfinished ones ended (in start order: the pane shows the last ones)."""
        fresh = {r.run_id: r for r in records if r.run_id not in self.records}
        self.records = {**fresh, **self.records}
        for run_id in self.records:
            self.color(run_id)
        return [ending_line(r, self.rich_color(r.run_id), self.no_color) for r in fresh.values() if r.reason]

    def fold(self, updates: list[RunUpdate]) -> Folded:
        """Fold one read of the run store into the records (the UI thread's only writer of them)."""
        out = Folded()
        for update in updates:
            if update.vanished:
                if (gone := self.forget(update.run_id)) is not None:
                    out.forgotten.append((gone, "its folder was deleted or moved outside the dashboard"))
                    out.reshaped = True
                continue
            if update.record is not None:
                if update.run_id not in self.records:
                    self.add(update.record)
                    out.reshaped = True
                    if update.record.reason:  # found already ended (another process's run)
                        out.log.append(ending_line(update.record, self.rich_color(update.run_id), self.no_color))
                continue
            record = self.records.get(update.run_id)
            if record is None:
                continue
            out.notices += [(warning, "warning") for warning in update.warnings[:2]]
            out.log += log_lines(record, update.events, self.rich_color(record.run_id))
            if fold(record, update):
                out.reshaped = True
                if record.reason and not any(isinstance(e, (RunFailed, RunStopped)) for e in update.events):
                    out.log.append(ending_line(record, self.rich_color(record.run_id), self.no_color))  # no last word of its own
                if record.status == "failed":
                    out.notices.append((f"{record.label} failed: {record.message}", "error"))
                if record.finished:
                    out.finished.append(record.run_id)
            elif update.events:
                out.dirty.add(record.run_id)
        return out
