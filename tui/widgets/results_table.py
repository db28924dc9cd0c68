"""One row per run (or, grouped, per configuration); the running row updates live; sort by any
column; hide a run from the charts."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from core.comparison.columns import Column, cell_text, columns_for, group_columns_for, sort_value, status_style
from core.comparison.groups import RunGroup, group_runs
from core.runstore.results import RunRecord
from tui.palette import run_mark

CLOCK_INTERVAL_S = 1.0  # a live row whose only change is its time is redrawn at most this often
MARK = "mark"  # key of the colour-dot column (the run's marker where runs differ by marker: tui.palette)


class ResultsTable(DataTable):
    # Not in the footer (80 columns cannot hold them beside the dashboard's keys): `?` lists them.
    BINDINGS = [
        Binding("s", "sort_column", "Sort", tooltip="Sort by the column under the cursor (again: reverse)", show=False),
        Binding("space", "toggle_visible", "Hide", key_display="␣", tooltip="Show or hide this run (grouped: this configuration) in the charts", show=False),
        Binding("r", "rerun", "Rerun", tooltip="Load this run's configuration into the form, to run it again", show=False),
        Binding("i", "inspect", "Info", tooltip="Inspect this run: digits, confusion matrix, model and device", show=False),
        Binding("d", "delete", "Del", tooltip="Delete this run and its folder (asks first; not while it trains)", show=False),
    ]

    @dataclass
    class VisibilityToggled(Message):
        """The user showed or hid a run (grouped: every run of a configuration) in the charts."""

        run_ids: tuple[str, ...]

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
        self.add_class("-empty")
        self.grouped = False  # rows are configurations (mean ± std over seeds), not runs
        self._groups: dict[str, RunGroup] = {}  # row key -> group, while grouped
        self._clock_shown_at: dict[str, float] = {}  # run id -> when its row last changed (monotonic s)
        self.cursor_columns: list[Column] = []  # each chart's value at its cursor (tui.widgets.charts_panel)

    def show_runs(self, records: list[RunRecord], colors: dict[str, str], hidden: set[str]) -> None:
        """Rebuild the whole table (new run, deleted run, sort); keeps the cursor's row and column."""
        self._records = {r.run_id: r for r in records}
        self._colors, self._hidden = colors, hidden
        self.set_class(not records, "-empty")
        cursor_key = self._cursor_key()
        cursor_column = self.cursor_column
        if self.grouped:
            groups = group_runs(records)
            self._groups = {"group:" + g.runs[0].run_id: g for g in groups}
            columns = group_columns_for(groups)
        else:
            columns = columns_for(records)
            columns[2:2] = self.cursor_columns  # after name and status: what the chart cursor reads, while it is on
        if [(c.key, c.title) for c in columns] != [(c.key, c.title) for c in self._columns]:
            self.clear(columns=True)
            self._columns = columns
            self.add_column(" ", key=MARK, width=1)
            for column in columns:
                self.add_column(column.title, key=column.key, width=column.width)
        else:
            self.clear()
        if self.grouped:
            for key, group in self._sorted_items(self._groups):
                self.add_row(*self._cells(group, group.runs[0].run_id), key=key)
        else:
            for run_id, record in self._sorted_items(self._records):
                self.add_row(*self._cells(record, run_id), key=run_id)
        if cursor_key in self.rows:
            self.move_cursor(row=self.get_row_index(cursor_key), column=cursor_column)

    def set_cursor_columns(self, columns: list[Column]) -> None:
        """Show (or, with [], drop) the chart cursor's columns; the rows are rebuilt."""
        self.cursor_columns = columns
        self.show_runs(list(self._records.values()), self._colors, self._hidden)

    def set_grouped(self, grouped: bool) -> None:
        self.grouped = grouped
        self._sort = None  # the two views have different columns
        self.show_runs(list(self._records.values()), self._colors, self._hidden)

    def update_run(self, record: RunRecord) -> None:
        """Refresh one row in place (the live row: cheap, no rebuild); grouped, its group's row."""
        if self.grouped:
            self._records[record.run_id] = record
            self.show_runs(list(self._records.values()), self._colors, self._hidden)  # a handful of rows
            return
        if record.run_id not in self.rows or columns_for([record])[-1].key not in {c.key for c in self._columns}:
            records = list(self._records.values())
            self.show_runs(records if record.run_id in self._records else records + [record], self._colors, self._hidden)
            return
        self._records[record.run_id] = record
        if self._sort is not None and [key for key, _ in self._sorted_items(self._records)] != self.row_keys_shown():
            self.show_runs(list(self._records.values()), self._colors, self._hidden)  # its sorted place moved
            return
        changed = [(key, cell) for key, cell in zip([MARK] + [c.key for c in self._columns], self._cells(record, record.run_id))
                   if self.get_cell(record.run_id, key) != cell]  # most cells of a live row stay as they are
        now = time.monotonic()
        if [key for key, _ in changed] == ["seconds"] and now - self._clock_shown_at.get(record.run_id, float("-inf")) < CLOCK_INTERVAL_S:
            return  # only its clock moved: once a second is enough (any update re-renders every row)
        self._clock_shown_at[record.run_id] = now
        for key, cell in changed:
            self.update_cell(record.run_id, key, cell)

    def has_run(self, run_id: str) -> bool:
        """Whether the run is behind a row (grouped: one of a group's)."""
        return run_id in self._records

    def row_keys_shown(self) -> list[str]:
        """The rows' keys (run ids; grouped: group keys) in display order."""
        return [self.coordinate_to_cell_key((i, 0)).row_key.value for i in range(self.row_count)]

    def row_texts(self) -> list[list[str]]:
        """What the table shows, as plain text per row in display order (without the colour dot)."""
        return [[str(cell) for cell in self.get_row_at(i)[1:]] for i in range(self.row_count)]

    def column_titles(self) -> list[str]:
        return [c.title for c in self._columns]

    def _cells(self, row: RunRecord | RunGroup, run_id: str) -> list:
        """A run's cells, or a group's (coloured as its first run): first its mark, the dot of its
        colour or, where runs differ by marker, the marker it has in the charts."""
        mark, color = run_mark(self.app, self._colors.get(run_id, "white"), run_id in self._hidden)
        cells: list = [Text(mark, style=color)]
        for column in self._columns:
            text = cell_text(column, row)
            if column.key == "status":
                cells.append(Text(text, style=status_style(text, self.app.no_color)))
            elif column.key == "name":
                cells.append(Text(text, style=color, no_wrap=True, overflow="ellipsis"))
            elif column.key == "reason":
                cells.append(Text(text, no_wrap=True, overflow="ellipsis"))  # cut to fit: the status line has it whole
            else:
                cells.append(Text(text, justify="right" if text[:1].isdigit() else "left"))  # never markup
        return cells

    def _sorted_items(self, rows: dict) -> list[tuple]:
        items = list(rows.items())
        if self._sort is None:
            return items
        key, descending = self._sort
        column = next((c for c in self._columns if c.key == key), None)
        if column is None:
            return items
        present = [item for item in items if sort_value(column, item[1]) is not None]
        missing = [item for item in items if sort_value(column, item[1]) is None]
        return sorted(present, key=lambda item: sort_value(column, item[1]), reverse=descending) + missing  # blanks last

    def _cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None

    def cursor_run_id(self) -> str | None:
        """The run under the cursor (grouped: None, a row is several runs)."""
        key = self._cursor_key()
        return None if key is None or key.startswith("group:") else key

    def cursor_group(self) -> RunGroup | None:
        return self._groups.get(self._cursor_key() or "") if self.grouped else None

    def shown_records(self) -> list[RunRecord]:
        """The runs behind the rows, in display order (grouped: each group's runs in turn)."""
        keys = self.row_keys_shown()
        if self.grouped:
            return [r for key in keys for r in self._groups[key].runs]
        return [self._records[key] for key in keys]

    def action_sort_column(self) -> None:
        if not self._columns or self.cursor_column == 0:
            return
        key = self._columns[self.cursor_column - 1].key
        descending = self._sort == (key, False)  # pressing again flips the order
        self._sort = (key, descending)
        self.show_runs(list(self._records.values()), self._colors, self._hidden)
        self.app.notify(f"sorted by {self._columns[self.cursor_column - 1].title} {'↓' if descending else '↑'}", timeout=2)

    def _leading_run_id(self) -> str | None:
        """The run under the cursor, or a group's first run (its colour, its configuration)."""
        group = self.cursor_group()
        return group.runs[0].run_id if group else self.cursor_run_id()

    def _one_run_only(self) -> str | None:
        if self.grouped:
            self.app.notify("a row here is several runs: a (Group) shows them one by one", timeout=3)
            return None
        return self.cursor_run_id()

    def action_toggle_visible(self) -> None:
        group = self.cursor_group()
        if group is not None:
            self.post_message(self.VisibilityToggled(tuple(r.run_id for r in group.runs)))
        elif run_id := self.cursor_run_id():
            self.post_message(self.VisibilityToggled((run_id,)))

    def action_rerun(self) -> None:
        if run_id := self._leading_run_id():
            self.post_message(self.RerunRequested(run_id))

    def action_inspect(self) -> None:
        if run_id := self._one_run_only():
            self.post_message(self.InspectRequested(run_id))

    def action_delete(self) -> None:
        if run_id := self._one_run_only():
            self.post_message(self.DeleteRequested(run_id))
