"""What the user does to the view: which runs are shown, grouped or not, the pivot, smoothing, the log, the CSV.

Screens and dialogs are imported when first opened: the first frame does not wait for them."""

from __future__ import annotations

from pathlib import Path


from core.comparison.groups import group_runs
from tui.palette import plot_color
from tui.widgets.metric_chart import GroupSeries
from tui.widgets.results_table import ResultsTable
from tui.widgets.run_form import RunForm


class ViewActions:
    """Mixed into the App (tui.app), which provides records, visible_records and _refresh_runs."""

    def on_data_table_cell_highlighted(self, event) -> None:
        """The table's cursor moved: the status line says why the run under it ended, if it did early."""
        if event.data_table is self.table:
            self._refresh_status(bindings=False)
            self.highlight_cursor_run()

    def action_cycle_view(self) -> None:
        views: list[str | None] = [None, *dict.fromkeys(r.config.sweep for r in self.records.values() if r.config.sweep)]
        self.view_sweep = views[(views.index(self.view_sweep) + 1) % len(views)] if self.view_sweep in views else None
        shown = self.visible_records()
        self.notify(f"showing {self.view_sweep or 'all runs'} ({len(shown)} runs)" if len(views) > 1 else "no sweeps yet: showing all runs", markup=False, timeout=3)
        self._refresh_runs()

    def action_pivot(self) -> None:
        if not self.visible_records():
            self.notify("no runs match the filter (esc clears it)" if self.run_filter else "no runs to compare yet", timeout=2)
            return
        from tui.widgets.pivot_screen import PivotScreen

        title = self.view_sweep or "all runs"
        if self.run_filter:
            title += f", filter {self.run_filter.text.strip()}"  # plain text in the title (a Text): never markup
        self.push_screen(PivotScreen(title, self.visible_records()))

    def action_toggle_groups(self) -> None:
        table = self.query_one("#table", ResultsTable)
        table.set_grouped(not table.grouped)
        self.notify("a row per configuration: mean ± std over its seeds (a: runs again)" if table.grouped else "a row per run", timeout=3)
        self._refresh_runs()

    def group_series(self) -> list[GroupSeries]:
        """The accuracy chart's groups: the runs in view that are not hidden, coloured as their first run."""
        shown = [r for r in self.visible_records() if r.run_id not in self.hidden]
        return [GroupSeries(g, plot_color(self._color(g.runs[0].run_id))) for g in group_runs(shown)]

    def open_form_for_a_first_start(self) -> None:
        """No runs yet: the form, on the learning rate, with what to do."""
        self._set_form_open(True)
        self.query_one("#form", RunForm).show_hint("enter trains it · esc, ? all keys")

    def action_help(self) -> None:
        from tui.widgets.filter_bar import FILTER_KEYS
        from tui.widgets.help_screen import FORM_KEYS, GLOBAL_KEYS, HelpScreen, binding_rows
        from tui.widgets.inspect_screen import InspectScreen
        from tui.widgets.study_screen import StudyScreen

        self.push_screen(HelpScreen([
            ("Dashboard", binding_rows(self.BINDINGS)),
            ("Results table (the row under the cursor)", binding_rows(ResultsTable.BINDINGS)),
            ("Run form", FORM_KEYS),
            ("Filter line (/)", FILTER_KEYS),
            ("Inspect screen (i)", binding_rows(InspectScreen.BINDINGS)),
            ("Study screen (o)", binding_rows(StudyScreen.BINDINGS)),
            ("Everywhere", GLOBAL_KEYS),
        ]))

    def action_toggle_smoothing(self) -> None:
        on = False
        for chart in (self.left_chart, self.right_chart):
            on = chart.toggle_smoothing()
        self.notify(f"smoothing of per-batch curves {'on' if on else 'off'}", timeout=2)

    def action_toggle_log(self) -> None:
        self.screen.toggle_class("-log-hidden")

    def action_export(self) -> None:
        """The runs shown, in the table's order: each a full record, or (groups) one row per configuration."""
        from core.comparison.export import write_csv
        from tui.widgets.export_dialog import ExportDialog, default_export_name

        table = self.query_one("#table", ResultsTable)
        written: list[str] = []

        def write(path: Path, overwrite: bool, groups: bool) -> Path:
            records = table.shown_records()
            target = write_csv(path, records, overwrite=overwrite, groups=groups)
            written[:] = [f"{len(group_runs(records))} configuration(s)" if groups else f"{len(records)} run(s)"]
            return target

        def done(path: Path | None) -> None:
            if path is not None:
                self.notify(f"wrote {written[0]} to {path}", markup=False, timeout=6)

        self.push_screen(ExportDialog(write, default_export_name(), groups=table.grouped), done)
