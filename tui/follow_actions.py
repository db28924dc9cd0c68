"""What the run store says, folded into the dashboard: the history at start, then every poll's
new runs, new events, ended runs and vanished folders (read by tui.watcher in a thread)."""

from __future__ import annotations

from core.events import RunFailed, RunStopped
from core.runstore.follow import fold
from tui.palette import rich_color
from tui.watcher import HistoryLoaded, RunsChanged, ending_line, log_lines


class FollowActions:
    """Mixed into the App (tui.app), which provides records, executor, watcher and the refreshes."""

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self._history_loaded = True
        fresh = {r.run_id: r for r in message.records if r.run_id not in self.records}
        self.records = {**fresh, **self.records}  # history first, then what this session started
        for run_id in self.records:
            self._color(run_id)
        # Why the runs of the history that did not finish ended (in start order; the pane shows the last ones).
        self._pending_log += [ending_line(r, rich_color(self._color(r.run_id)), self.no_color) for r in fresh.values() if r.reason]
        for warning in message.warnings[:3]:
            self.notify(warning, markup=False, severity="warning", timeout=6)
        self._refresh_runs()

    def _watch(self) -> None:
        if self._history_loaded and not self._quitting:
            self.watcher.poll(self.records, self.executor.runners())

    def on_runs_changed(self, message: RunsChanged) -> None:
        """Fold what the store said into the records now; draw it at the next UI tick."""
        reshaped = False
        for update in message.updates:
            if update.vanished:
                reshaped |= self.forget_run(update.run_id, "its folder was deleted or moved outside the dashboard")
                continue
            if update.record is not None:
                if update.run_id not in self.records:
                    self.records[update.run_id] = update.record
                    self._color(update.run_id)
                    reshaped = True
                    if update.record.reason:  # found already ended (another process's run)
                        self._pending_log.append(ending_line(update.record, rich_color(self._color(update.run_id)), self.no_color))
                continue
            record = self.records.get(update.run_id)
            if record is None:
                continue
            for warning in update.warnings[:2]:
                self.notify(warning, markup=False, severity="warning", timeout=6)
            self._pending_log += log_lines(record, update.events, rich_color(self._color(record.run_id)))
            if fold(record, update):
                reshaped = True
                if record.reason and not any(isinstance(e, (RunFailed, RunStopped)) for e in update.events):
                    self._pending_log.append(ending_line(record, rich_color(self._color(record.run_id)), self.no_color))  # no last word of its own
                if record.status == "failed":
                    self.notify(f"{record.label} failed: {record.message}", markup=False, severity="error", timeout=8)
                if record.finished and self.executor.finish(record.run_id):
                    self._start_next()
            elif update.events:
                self._dirty_runs.add(record.run_id)
        self.watcher.done()
        if reshaped:
            self._flush_ui()
            self._refresh_runs()
