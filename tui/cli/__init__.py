"""`mnist-tui`: the dashboard with no subcommand; `mnist-tui train ...` headless.

Thin on purpose: flags become strings for core.config's parser (so the CLI and the form refuse
the same values with the same words), the core trains, these modules print events. Nothing here
imports torch until a subcommand needs it, so the dashboard's first frame is not kept waiting.

One module per command or family: tui.cli.train (train, sweep, reproduce), .search (and
.search_report, its end), .records (runs, show, export), .lr_find, .dashboard; the grammar is in
.parser, and what they all share (exit codes, UsageError, the flag table, printing, the device
and Ray checks) in .common, which imports none of them.
"""

from __future__ import annotations

import sys
from typing import Sequence

from tui.cli.common import EXIT_USAGE, UsageError, never_fail_on_encoding
from tui.cli.dashboard import dashboard_command
from tui.cli.lr_find import lr_find_command
from tui.cli.parser import build_parser
from tui.cli.records import export_command, runs_command, show_command
from tui.cli.search import search_command
from tui.cli.train import reproduce_command, sweep_command, train_command

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    never_fail_on_encoding()
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {
        "train": train_command,
        "sweep": sweep_command,
        "reproduce": reproduce_command,
        "runs": runs_command,
        "export": export_command,
        "show": show_command,
        "lr-find": lr_find_command,
        "search": search_command,
        None: dashboard_command,
    }
    try:
        return commands[args.command](args)
    except UsageError as bad:
        print(f"mnist-tui: error: {bad}", file=sys.stderr)
        return EXIT_USAGE
