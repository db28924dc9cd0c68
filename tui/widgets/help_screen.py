"""`?`: every key of the dashboard on one screen (the footer at 80 columns holds only the main ones).

Built from the widgets' own BINDINGS, so a key added anywhere is listed here without a second list.
"""

from __future__ import annotations

from typing import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# Keys that are not Bindings of ours: the form's navigation and Textual's own.
FORM_KEYS = [
    ("↑/↓, tab", "move between fields"),
    ("enter", "start the run (on a Select: open its list; space too)"),
    ("esc", "close the form"),
    ("ctrl+l", "the learning-rate range test for the form's configuration, drawn live; u puts the suggested rate into learn rate"),
]
GLOBAL_KEYS = [
    ("ctrl+p", "the command palette: every action by name, and Reproduce the report"),
    ("ctrl+q", "quit"),
]

_KEY_NAMES = {"escape": "esc", "left_square_bracket": "[", "right_square_bracket": "]", "question_mark": "?", "space": "space"}


def key_text(binding: Binding) -> str:
    """How a binding's keys are written: `x`, `esc`, `←/pageup`."""
    if binding.key_display and binding.key_display != "␣":
        return binding.key_display
    return "/".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in binding.key.split(","))


def binding_rows(bindings: Iterable[Binding]) -> list[tuple[str, str]]:
    """(keys, what they do) for each binding; digit bindings (0-9) collapse into one row."""
    rows, digits = [], False
    for binding in bindings:
        if binding.key.isdigit():
            if not digits:
                rows.append(("0-9", "show only this class"))
                digits = True
            continue
        rows.append((key_text(binding), binding.tooltip or binding.description))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss_screen", "Close")]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        """`sections`: (title, [(keys, what they do)]) in the order shown."""
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
        table.add_column("key", style="bold", width=16)
        table.add_column("does", ratio=1)
        for title, rows in self.sections:
            table.add_row(Text(title, style="bold underline"), "")
            for keys, does in rows:
                table.add_row(Text(keys), Text(does))
            table.add_row("", "")
        with VerticalScroll(id="help-box"):
            yield Static(Text.assemble(("Keys", "bold"), ("  (esc closes)", "dim")))
            yield Static(table, id="help-table")

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)


def dashboard_help(app_bindings: list[Binding]) -> HelpScreen:
    """`?` on the dashboard: each owner's keys under its own heading, read from its BINDINGS
    (`app_bindings`: the App's own, ? and q, listed with the dashboard's: over a dialog they rest)."""
    from tui.widgets.charts_panel import ChartsPanel
    from tui.widgets.dashboard_screen import DashboardScreen
    from tui.widgets.filter_bar import FILTER_KEYS
    from tui.widgets.inspect_screen import InspectScreen
    from tui.widgets.results_table import ResultsTable
    from tui.widgets.study_screen import StudyScreen

    return HelpScreen([
        ("Dashboard", binding_rows(DashboardScreen.KEYS) + binding_rows(app_bindings)),
        ("Charts", binding_rows(ChartsPanel.KEYS)),
        ("Results table (the row under the cursor)", binding_rows(ResultsTable.BINDINGS)),
        ("Run form", FORM_KEYS),
        ("Filter line (/)", FILTER_KEYS),
        ("Inspect screen (i)", binding_rows(InspectScreen.BINDINGS)),
        ("Study screen (o)", binding_rows(StudyScreen.BINDINGS)),
        ("Everywhere", GLOBAL_KEYS),
    ])
