"""The seed's comparison table for the runs in view: accuracy after each epoch, per run, or per
configuration as mean ± std when seeds repeat; for a reproduce sweep, the report's tables too;
then why each run that did not finish ended."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from core.comparison.report import comparison_sections, ended_early
from core.runstore.results import RunRecord


class PivotScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,p,q", "dismiss_screen", "Close")]

    def __init__(self, title: str, records: list[RunRecord]) -> None:
        super().__init__()
        self._title, self._records = title, records

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="pivot-box"):
            for index, (title, header, rows) in enumerate(comparison_sections(self._records)):
                yield Label(Text.assemble(self._title if index == 0 else "", ": " if index == 0 else "", title,
                                          ("  (esc closes)" if index == 0 else "", "dim")), classes="pivot-title")
                table = DataTable(id=f"pivot-table-{index}", classes="pivot-table", zebra_stripes=True, cursor_type="row")
                for column in header:
                    table.add_column(column, key=column)
                for row in rows:
                    table.add_row(*(Text(cell, justify="left" if not cell[:1].isdigit() else "right") for cell in row))  # never markup
                yield table
            if early := ended_early(self._records):  # why the runs that did not finish ended, whole (wrapped)
                yield Label("why runs ended early", classes="pivot-title")
                yield Static(Text("\n".join(early), overflow="fold"), id="pivot-reasons")

    def on_mount(self) -> None:
        self.query_one("#pivot-table-0", DataTable).focus()

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)
