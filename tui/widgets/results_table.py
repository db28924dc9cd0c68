"""One row per run; the running row updates live; sort by any column; hide a run from the charts."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from core.export import STATUS_STYLE, Column, cell_text, columns_for
from core.results import RunRecord

MARK = "mark"  # key of the colour-dot column


class ResultsTable(DataTable):
    BINDINGS = [
        Binding("s", "sort_column", "Sort", tooltip="Sort by this column (again: reverse)"),
        Binding("space", "toggle_visible", "Hide", key_display="␣", tooltip="Show or hide this run in the charts"),
        Binding("r", "rerun", "Rerun", tooltip="Load this run's configuration into the form"),
        Binding("i", "inspect", "Info", tooltip="Digits, confusion matrix, model and device of this run"),
        Binding("d", "delete", "Del", tooltip="Delete this run (asks first)"),
    ]

    @dataclass
    class VisibilityToggled(Message):
        """The user showed or hid a run in the charts."""

        run_id: str

    @dataclass
    class RerunRequested(Message):
        """Load this run's configuration into the form."""

        run_id: str

    @dataclass
    class InspectRequested(Message):
        """Open the inspect screen for this run."""

        run_id: str

    @dataclass
    class DeleteRequested(Message):
        """Delete this run (the app asks for confirmation)."""

        run_id: str

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="cell", zebra_stripes=True, **kwargs)
        self._columns: list[Column] = []
        self._records: dict[str, RunRecord] = {}
        self._colors: dict[str, str] = {}
        self._hidden: set[str] = set()
        self._sort: tuple[str, bool] | None = None  # (column key, descending)

    def show_runs(self, records: list[RunRecord], colors: dict[str, str], hidden: set[str]) -> None:
        """Rebuild the whole table (new run, deleted run, sort); keeps the cursor's run and column."""
        self._records = {r.run_id: r for r in records}
        self._colors, self._hidden = colors, hidden
        cursor_run = self.cursor_run_id()
        cursor_column = self.cursor_column
        columns = columns_for(records)
        if [c.key for c in columns] != [c.key for c in self._columns]:
            self.clear(columns=True)
            self._columns = columns
            self.add_column(" ", key=MARK, width=1)
            for column in columns:
                self.add_column(column.title, key=column.key, width=column.width)
        else:
            self.clear()
        for record in self._sorted(records):
            self.add_row(*self._cells(record), key=record.run_id)
        if cursor_run in self._records:
            self.move_cursor(row=self.get_row_index(cursor_run), column=cursor_column)

    def update_run(self, record: RunRecord) -> None:
        """Refresh one row in place (the live row: cheap, no rebuild)."""
        if record.run_id not in self.rows or columns_for([record])[-1].key not in {c.key for c in self._columns}:
            records = list(self._records.values())
            self.show_runs(records if record.run_id in self._records else records + [record], self._colors, self._hidden)
            return
        self._records[record.run_id] = record
        for key, cell in zip([MARK] + [c.key for c in self._columns], self._cells(record)):
            self.update_cell(record.run_id, key, cell)

    def row_texts(self) -> list[list[str]]:
        """What the table shows, as plain text per row in display order (without the colour dot)."""
        return [[str(cell) for cell in self.get_row_at(i)[1:]] for i in range(self.row_count)]

    def column_titles(self) -> list[str]:
        return [c.title for c in self._columns]

    def _cells(self, record: RunRecord) -> list:
        color = self._colors.get(record.run_id, "white")
        mark = Text("○" if record.run_id in self._hidden else "●", style=color)
        cells: list = [mark]
        for column in self._columns:
            text = cell_text(column, record)
            if column.key == "status":
                cells.append(Text(text, style=STATUS_STYLE.get(text, "")))
            elif column.key == "name":
                cells.append(Text(text, style=color))
            else:
                cells.append(Text(text, justify="right" if text[:1].isdigit() else "left"))  # never markup
        return cells

    def _sorted(self, records: list[RunRecord]) -> list[RunRecord]:
        if self._sort is None:
            return records
        key, descending = self._sort
        column = next((c for c in self._columns if c.key == key), None)
        if column is None:
            return records
        present = [r for r in records if column.value(r) is not None]
        missing = [r for r in records if column.value(r) is None]
        return sorted(present, key=column.value, reverse=descending) + missing  # blanks last either way

    def cursor_run_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None

    def action_sort_column(self) -> None:
        if not self._columns or self.cursor_column == 0:
            return
        key = self._columns[self.cursor_column - 1].key
        descending = self._sort == (key, False)  # pressing again flips the order
        self._sort = (key, descending)
        self.show_runs(list(self._records.values()), self._colors, self._hidden)
        self.app.notify(f"sorted by {self._columns[self.cursor_column - 1].title} {'↓' if descending else '↑'}", timeout=2)

    def action_toggle_visible(self) -> None:
        if run_id := self.cursor_run_id():
            self.post_message(self.VisibilityToggled(run_id))

    def action_rerun(self) -> None:
        if run_id := self.cursor_run_id():
            self.post_message(self.RerunRequested(run_id))

    def action_inspect(self) -> None:
        if run_id := self.cursor_run_id():
            self.post_message(self.InspectRequested(run_id))

    def action_delete(self) -> None:
        if run_id := self.cursor_run_id():
            self.post_message(self.DeleteRequested(run_id))
