"""Export the results to CSV: a path, what to write (every run's full record, or one row per
configuration), errors shown in place, overwrite only when confirmed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

WHAT = [("each run shown, full record", "runs"), ("per configuration: mean, std, n", "groups")]


def default_export_name(now: float | None = None) -> str:
    return time.strftime("mnist-results-%Y%m%d-%H%M%S.csv", time.localtime(now))


def write_shown(shown: Callable[[], list], said: list[str]) -> Callable[[Path, bool, bool], Path]:
    """The dialog's `write` for the results table: the runs `shown()` returns (in the table's order),
    each a full record or (groups) one row per configuration; `said` gets what was written."""

    def write(path: Path, overwrite: bool, groups: bool) -> Path:
        from core.comparison.export import write_csv
        from core.comparison.groups import group_runs

        records = shown()
        target = write_csv(path, records, overwrite=overwrite, groups=groups)
        said[:] = [f"{len(group_runs(records))} configuration(s)" if groups else f"{len(records)} run(s)"]
        return target

    return write


class ExportDialog(ModalScreen[Path | None]):
    """Dismisses with the written path, or None when cancelled. `write(path, overwrite, groups)` does the work."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, write: Callable[[Path, bool, bool], Path], default_path: str, groups: bool = False) -> None:
        super().__init__()
        self._write = write
        self._default = default_path
        self._groups = groups
        self._confirm_for: Path | None = None  # the existing file the user was warned about

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label("Export results to CSV")
            yield Input(self._default, id="export-path", compact=True)
            yield Select(WHAT, value="groups" if self._groups else "runs", allow_blank=False, compact=True, id="export-what")
            yield Static("", id="export-error")
            with Horizontal(id="export-buttons"):
                yield Button("Save", id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._confirm_for = None
        self.query_one("#export-error", Static).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.save() if event.button.id == "save" else self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def save(self) -> None:
        text = self.query_one("#export-path", Input).value.strip()
        error = self.query_one("#export-error", Static)
        if not text:
            error.update("[red]give a file name[/]")
            return
        path = Path(text).expanduser()
        overwrite = self._confirm_for == path
        try:
            written = self._write(path, overwrite, self.query_one("#export-what", Select).value == "groups")
        except FileExistsError:
            self._confirm_for = path
            error.update(Text(f"{path} exists: press enter (or Save) again to overwrite it", style="yellow", overflow="fold"))
            return
        except OSError as problem:
            error.update(Text(f"cannot write {path}: {problem.strerror or problem}", style="red", overflow="fold"))  # a long path wraps
            return
        self.dismiss(written)
