"""`mnist-tui` with no subcommand: the dashboard (tui.app), on the runs folder and data folder the
flags name, its runs trained on local runners or on the Ray cluster --ray names."""

from __future__ import annotations

import argparse

from tui.cli.common import EXIT_OK, ray_address


def dashboard_command(args: argparse.Namespace) -> int:
    from tui.app import create_app

    app = create_app(runs_dir=args.runs_dir, data_dir=args.data_dir, handle_signals=True, ray_address=ray_address(args))
    app.run()
    return app.return_code or EXIT_OK
