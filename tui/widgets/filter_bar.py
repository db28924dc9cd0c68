"""`/`: one line at the bottom to type a filter in (core.comparison.run_filter's grammar); under it, while
what was typed cannot be read, why. `enter` applies it, `esc` leaves it as it was."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Static

from core.comparison.run_filter import FilterError, RunFilter, parse_filter

EXAMPLE = 'e.g. lr<0.01 bs=64 status:failed model:mlp acc>98 "a name"'
# For `?`: the line's keys and, in short, what it reads (core.comparison.run_filter has the whole grammar).
FILTER_KEYS = [
    ("enter", "apply the filter (blank: every run); one that cannot be read is explained under the line"),
    ("esc", "close the line, the filter unchanged (on the table, esc clears the filter)"),
    ("word", "part of the name or the status, any case; \"a phrase\" in double quotes"),
    ("lr=0.01 bs<128", "a number: = != < <= > >= (also epochs seed mom wd train_n test_n log_every)"),
    ("acc>98 best>=99", "final or best test accuracy, in percent"),
    ("status:failed", "model: data: opt: sched: status: compile: a value or its start (: is =)"),
    ("name:x reason:nan", "text that contains it (also sweep: resume: device:); != for text without it"),
    ("a b c", "every term must hold"),
]


class FilterBar(Vertical):
    """Hidden until opened (class -open); the dashboard screen (tui.widgets.dashboard_screen) answers its two messages."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="Close the filter line, the filter unchanged")]

    @dataclass
    class Applied(Message):
        """Enter on a filter that reads: show only the runs it lets through (blank: every run)."""

        run_filter: RunFilter

    class Cancelled(Message):
        """Esc: the bar closes and the filter stays as it was."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="filter-row"):
            yield Static("/", id="filter-prompt")
            yield Input(placeholder=EXAMPLE, id="filter-input", compact=True, select_on_focus=False)
        yield Static("", id="filter-error", markup=False)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @property
    def input(self) -> Input:
        return self.query_one("#filter-input", Input)

    def open(self, text: str) -> None:
        """Show the bar with `text` (the filter in force) to edit, the cursor at its end."""
        self.add_class("-open")
        self._say("")
        self.input.value = text
        self.input.cursor_position = len(text)
        self.input.focus()

    def close(self) -> None:
        self._say("")
        self.remove_class("-open")

    def _say(self, message: str) -> None:
        error = self.query_one("#filter-error", Static)
        error.update(Text(message, style="bold"))  # a Text: the message quotes what the user typed, never markup
        error.set_class(bool(message), "-shown")
        self.input.set_class(bool(message), "-invalid")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            run_filter = parse_filter(event.value)
        except FilterError as error:
            self._say(str(error))  # until the next enter: the bar stays open on what was typed, the filter in force unchanged
            return
        self.post_message(self.Applied(run_filter))

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())
