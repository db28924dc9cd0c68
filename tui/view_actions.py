"""What the user does to the view: which runs are shown, the pivot, smoothing, the log, the CSV."""

from __future__ import annotations

from pathlib import Path


from core.export import write_csv
from tui.widgets.export_dialog import ExportDialog, default_export_name
from tui.widgets.loss_chart import LossChart
from tui.widgets.pivot_screen import PivotScreen
from tui.widgets.results_table import ResultsTable


class ViewActions:
    """Mixed into the App (tui.app), which provides records, visible_records and _refresh_runs."""

    def action_cycle_view(self) -> None:
        views: list[str | None] = [None, *dict.fromkeys(r.config.sweep for r in self.records.values() if r.config.sweep)]
        self.view_sweep = views[(views.index(self.view_sweep) + 1) % len(views)] if self.view_sweep in views else None
        shown = self.visible_records()
        self.notify(f"showing {self.view_sweep or 'all runs'} ({len(shown)} runs)" if len(views) > 1 else "no sweeps yet: showing all runs", markup=False, timeout=3)
        self._refresh_runs()

    def action_pivot(self) -> None:
        if not self.visible_records():
            self.notify("no runs to compare yet", timeout=2)
            return
        self.push_screen(PivotScreen(self.view_sweep or "all runs", self.visible_records()))

    def action_toggle_smoothing(self) -> None:
        on = self.query_one("#loss-chart", LossChart).toggle_smoothing()
        self.notify(f"loss smoothing {'on' if on else 'off'}", timeout=2)

    def action_toggle_log(self) -> None:
        self.screen.toggle_class("-log-hidden")

    def action_export(self) -> None:
        table = self.query_one("#table", ResultsTable)
        rows = lambda: [self.records[table.coordinate_to_cell_key((i, 0)).row_key.value] for i in range(table.row_count)]

        def done(path: Path | None) -> None:
            if path is not None:
                self.notify(f"wrote {table.row_count} run(s) to {path}", markup=False, timeout=6)

        self.push_screen(ExportDialog(lambda path, overwrite: write_csv(path, rows(), overwrite=overwrite), default_export_name()), done)
