"""`mnist-tui lr-find`: the learning-rate range test (core.training.lr_find), printed as it goes: the
loss as the rate rises batch by batch, then the rate it suggests. It records no run."""

from __future__ import annotations

import argparse
import sys

from core.config import ConfigError
from tui.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError, config_from_args, print_line


def _positive(flag: str, text: str, kind=float):
    try:
        value = kind(text)
    except ValueError:
        raise UsageError(f"{flag}: must be a {'whole ' if kind is int else ''}number, not {text!r}") from None
    if not value > 0 or (kind is float and not value < float("inf")):
        raise UsageError(f"{flag}: must be above 0, not {text!r}")
    return value


def lr_find_command(args: argparse.Namespace) -> int:
    start, end, batches = _positive("--start-lr", args.start_lr), _positive("--end-lr", args.end_lr), _positive("--batches", args.batches, int)
    if start >= end:
        raise UsageError(f"--start-lr: must be below --end-lr ({end:g}), not {start:g}")
    if not 2 <= batches <= 10_000:
        raise UsageError(f"--batches: must be from 2 to 10000, not {batches}")
    config = config_from_args(args)
    from core.training.data import DataError
    from core.training.lr_find import SUGGESTION_RULE, lr_range_test, suggest

    points = []
    try:
        for point in lr_range_test(config, start_lr=start, end_lr=end, batches=batches, data_dir=args.data_dir):
            points.append(point)
            if point.batch % 10 == 1:
                print_line(f"lr {point.lr:.2e}: loss {point.loss:.3f}, smoothed {point.smoothed:.3f}")
    except (ConfigError, DataError) as bad:
        print(f"mnist-tui: error: {getattr(bad, 'message', bad)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    rate = suggest(points)
    if rate is None:
        print_line(f"no suggestion: the loss diverged after {len(points)} batches; try a lower --end-lr or more --batches")
        return EXIT_FAILED
    stopped = f" (stopped at {points[-1].lr:.2e}: the smoothed loss passed 4x its minimum)" if len(points) < batches else ""
    print_line(f"{len(points)} batches from {start:g} to {points[-1].lr:.3g}{stopped}")
    print_line(f"suggested learning rate: {rate:.3g} ({SUGGESTION_RULE})")
    return EXIT_OK
