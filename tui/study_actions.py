"""`o`: the study screen (tui.widgets.study_screen) for the search of the run under the table's
cursor, else the newest one; its `r` loads the best trial into the form as the table's `r` does."""

from __future__ import annotations

from core.search.study import list_summaries


class StudyActions:
    """Mixed into the App (tui.app), which provides store, records, table and load_into_form."""

    def action_study(self) -> None:
        summaries, _ = list_summaries(self.store.root)  # newest first; small files, read bounded
        if not summaries:
            self.notify(f"no search in {self.store.root} yet: start one with mnist-tui search or the form's search mode",
                        markup=False, timeout=5)
            return
        record = self.records.get(self.table.cursor_run_id() or "")
        sweep = record.config.sweep if record is not None else None
        summary = next((s for s in summaries if s.name == sweep), summaries[0])
        from tui.widgets.study_screen import StudyScreen  # imported when first used: the first frame does not wait

        self.push_screen(StudyScreen(self.store.root, summary, [s.name for s in summaries]), self._load_best_trial)

    def _load_best_trial(self, pick) -> None:
        """The study screen's `r`: the best trial's run as it ran when the table has it, else its parameters over the study's base."""
        if pick is None:
            return
        record = self.records.get(pick.run_id)
        if record is not None and record.status != "unreadable":
            self.load_into_form(record.config, pick.label)
        else:
            self.load_into_form(pick.config, pick.label)
