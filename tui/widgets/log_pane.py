"""The log pane: the seed's lines and why runs ended, following its end."""

from __future__ import annotations

from textual.events import Resize
from textual.widgets import RichLog


class LogPane(RichLog):
    """A RichLog that stays on its last line when its height changes (the status line growing to
    show a reason shrinks it): RichLog scrolls to the end only when written to, so the tail of a
    wrapped last line could stay hidden below the pane until the next write."""

    def on_resize(self, event: Resize) -> None:  # Textual calls RichLog's own on_resize too (each class's handler)
        if self.auto_scroll:
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)
