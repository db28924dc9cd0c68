"""Quitting with runs training: keep them training in the background (the default) or stop them."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class QuitDialog(ModalScreen[str | None]):
    """Dismisses with "keep", "stop", or None (stay)."""

    BINDINGS = [
        Binding("k", "answer('keep')", "Keep training"),
        Binding("s", "answer('stop')", "Stop them"),
        Binding("escape", "answer(None)", "Stay"),
    ]

    def __init__(self, training: int, queued: int, searches: int = 0) -> None:
        super().__init__()
        self.training, self.queued, self.searches = training, queued, searches

    def compose(self) -> ComposeResult:
        parts = [f"{self.training} run{'s' if self.training != 1 else ''} training"] if self.training or not self.searches else []
        if self.queued:
            parts.append(f"{self.queued} queued")
        if self.searches:
            parts.append(f"{self.searches} search{'es' if self.searches != 1 else ''} going on")
        runs = ", ".join(parts)
        them = "it" if self.training + self.queued + self.searches == 1 else "them"
        question = Text(f"{runs}. Keep {them} going in the background (reopen mnist-tui to watch), or stop {them}?")
        with Vertical(id="confirm-box"):
            yield Label(question, id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button("Keep training (k)", id="keep", variant="primary", compact=True)
                yield Button("Stop them (s)", id="stop", variant="error", compact=True)
                yield Button("Stay (esc)", id="stay", compact=True)

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()  # enter keeps them: the safe answer

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None if event.button.id == "stay" else event.button.id)

    def action_answer(self, answer: str | None) -> None:
        self.dismiss(answer)
