"""What the status line says besides the current run: its place in the queue or sweep, or a summary."""

from __future__ import annotations

from core.runstore.results import RunRecord


def training_now(records: dict[str, RunRecord], own: str | None) -> RunRecord | None:
    """The run the status line follows: this dashboard's current run, else the last one started
    of those training in another process (a headless `mnist-tui train`, another dashboard)."""
    if own in records:
        return records[own]
    elsewhere = [r for r in records.values() if r.status == "running"]
    return max(elsewhere, key=lambda r: r.started_at or 0.0) if elsewhere else None


def position_text(current: RunRecord, records: list[RunRecord], started: int, running: int, own: bool = True) -> str:
    """`#3` (this dashboard's third run), `(other process)`, or `run 2/6` inside a sweep;
    `(+1 parallel)` when several train at once."""
    position = f"#{started}" if own else "(other process)"
    if current.config.sweep:
        members = [r.run_id for r in records if r.config.sweep == current.config.sweep]
        if current.run_id in members:
            position = f"run {members.index(current.run_id) + 1}/{len(members)}"
    if running > 1:
        position += f" (+{running - 1} parallel)"
    return position


def idle_note(shown: list[RunRecord], view_sweep: str | None, counted: bool = True) -> str:
    """The best run in view, or how to start one. Not `counted`: without the count and the hint
    (a filter in force says how many runs it lets through, and the line has no room for both)."""
    note = "n: new run · enter starts it" if counted else ""
    done = [r for r in shown if r.best is not None]
    if done:
        top = max(done, key=lambda r: r.best)
        best = f"best {top.best * 100:.2f}% {top.label}"
        note = f"{len(shown)} runs · {best} · n: new run" if counted else best
    if view_sweep:
        note = " · ".join(part for part in (view_sweep, note, "g: next") if part)
    return note
