"""The log pane's lines, as Rich text (no Textual): a run's header and the report's lines as its
events arrive, and why a run ended when no event of its own said so."""

from __future__ import annotations

from rich.text import Text

from core.comparison.columns import status_style
from core.events import Event, RunFailed, RunStarted, RunStopped, format_line
from core.runstore.results import RunRecord


def log_lines(record: RunRecord, events: list[Event], color: str) -> list[Text]:
    """The log pane's lines for a run's new events: a header when it starts, then the report's lines;
    its last line (failed, stopped) names the run, as runs side by side interleave."""
    lines = []
    for event in events:
        if isinstance(event, RunStarted):
            lines.append(Text(f"── {record.label} ({event.run_id}) ──", style=color))
        if (line := format_line(event)) is not None:
            lines.append(Text.assemble((record.label, color), ": ", line) if isinstance(event, (RunFailed, RunStopped)) else Text(line))
    return lines


def ending_line(record: RunRecord, color: str, no_color: bool = False) -> Text:
    """Why a run ended, for the log pane, when no event of its own said it (an interrupted run,
    a run of the history): `too hot: failed: loss became NaN …` (the status without colour under NO_COLOR)."""
    return Text.assemble((record.label, color), ": ", (record.status, status_style(record.status, no_color)), f": {record.reason}")
