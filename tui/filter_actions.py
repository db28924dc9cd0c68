"""`/`: which runs are in view, by what the user typed (core.comparison.run_filter). The table, charts, pivot
and export all follow `visible_records()`, which asks `filtered()`; the status line says the filter."""

from __future__ import annotations

from rich.text import Text

from core.runstore.results import RunRecord
from core.comparison.run_filter import RunFilter
from tui.widgets.filter_bar import FilterBar
from tui.widgets.results_table import ResultsTable

SHOWN_CELLS = 32  # a long filter is cut in the status line (the bar shows it whole): the counts stay in view


class FilterActions:
    """Mixed into the App (tui.app), which provides form_open, records, view_records, visible_records and the refreshes."""

    run_filter = RunFilter()  # blank: every run passes

    def filtered(self, records: list[RunRecord]) -> list[RunRecord]:
        return [r for r in records if self.run_filter.matches(r)] if self.run_filter else records

    def action_find(self) -> None:
        if self.form_open and not self.screen.has_class("-wide"):
            self.action_close_form()  # the overlay would hide the runs the filter is about
        self.query_one(FilterBar).open(self.run_filter.text)

    def on_filter_bar_applied(self, message: FilterBar.Applied) -> None:
        self.run_filter = message.run_filter
        self._close_filter_bar()
        self._refresh_runs()

    def on_filter_bar_cancelled(self, message: FilterBar.Cancelled) -> None:
        self._close_filter_bar()

    def _close_filter_bar(self) -> None:
        self.query_one(FilterBar).close()
        self.query_one("#table", ResultsTable).focus()

    def action_clear_filter(self) -> None:
        self.run_filter = RunFilter()
        self._refresh_runs()

    def escape_clears_filter(self) -> bool:
        """Whether esc (on the dashboard, not in the filter bar) clears the filter: while one is in
        force, unless the form is open on top of the runs or, on a wide screen, has the focus (there
        esc is the form's)."""
        if not self.run_filter:
            return False
        if not self.form_open:
            return True
        return self.screen_stack[0].has_class("-wide") and not self.query_one("#form").has_focus_within

    def filter_note(self) -> Text | None:
        """`filter lr<0.1 · 3 of 20 runs · esc clears`, the filter as typed (never markup), counted
        against the runs it chose from (all, or the sweep's that `g` shows); None without a filter."""
        if not self.run_filter:
            return None
        typed = Text(" ".join(self.run_filter.text.split()), style="bold")  # one line, however it was typed
        typed.truncate(SHOWN_CELLS, overflow="ellipsis")
        counts = f" · {len(self.visible_records())} of {len(self.view_records())} runs · esc clears"
        return Text.assemble(("filter ", "dim"), typed, counts, no_wrap=True, overflow="ellipsis")

    def filter_changes_rows(self, run_ids: set[str], shown: set[str]) -> bool:
        """Whether an update moved a run into or out of the filter (a run that finished under
        `status:running`, an accuracy that crossed `acc>98`): the table and charts are then rebuilt,
        not a row updated. `shown`: the runs in view now."""
        if not self.run_filter:
            return False
        table = self.query_one("#table", ResultsTable)
        return any((run_id in shown) != table.has_run(run_id) for run_id in run_ids)
