"""The command palette (ctrl+p): every key binding is also a command, with its key in the title."""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterable

from textual.app import App, SystemCommand
from textual.dom import DOMNode


def binding_commands(app: App, owners: Iterable[tuple[DOMNode, list]]) -> Iterable[SystemCommand]:
    """One command per binding that has a tooltip; running it runs the binding's action on its owner."""
    for owner, bindings in owners:
        for binding in bindings:
            if binding.tooltip:
                key = binding.key_display or binding.key
                yield SystemCommand(f"{binding.description}: {binding.tooltip} ({key})", binding.tooltip, partial(app.run_action, binding.action, owner))


def reproduce_command(run: Callable[[], None]) -> SystemCommand:
    """The palette's way to `mnist-tui reproduce` (no key: it queues 15 runs by default)."""
    return SystemCommand("Reproduce the report", "Queue its two sweeps (5 configurations x the form's seeds, else 1,2,3); "
                         "p shows its tables beside ours", run)
