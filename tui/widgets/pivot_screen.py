"""The seed's comparison table for the runs in view: one row per run, accuracy after each epoch."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from core.results import RunRecord
from core.sweep import comparison_table


class PivotScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,p,q", "dismiss_screen", "Close")]

    def __init__(self, title: str, records: list[RunRecord]) -> None:
        super().__init__()
        self._title, self._records = title, records

    def compose(self) -> ComposeResult:
        with Vertical(id="pivot-box"):
            yield Label(Text.assemble(self._title, ": test accuracy (%) after each epoch  ", ("(esc closes)", "dim")))
            yield DataTable(id="pivot-table", zebra_stripes=True, cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one("#pivot-table", DataTable)
        header, rows = comparison_table(self._records)
        for title in header:
            table.add_column(title, key=title)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # a run's name is the user's text: never markup
        table.focus()

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)
