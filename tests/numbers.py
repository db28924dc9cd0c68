"""Comparing the numbers a screen shows with numbers computed in a test.

The product rounds its own float path (mean of fractions, then x100); a test that rounds another
path (mean of percents) can land on the other side of a .xx5 boundary. So a test parses what is
shown and allows half a unit of its last digit, never compares two roundings.
"""

from __future__ import annotations

import re
import statistics

_SPREAD = re.compile(r"(-?\d+\.(\d+)) ± (\d+\.\d+)")


def assert_spread(cell: str, percents: list[float]) -> None:
    """`cell` ("98.12 ± 0.15", marks may follow) shows the mean and sample std of `percents`,
    each to within half a unit of its last shown digit."""
    match = _SPREAD.search(cell)
    assert match, f"no 'mean ± std' in {cell!r}"
    half = 0.5 * 10 ** -len(match.group(2)) + 1e-9
    mean, std = float(match.group(1)), float(match.group(3))
    assert abs(mean - statistics.mean(percents)) <= half, (cell, statistics.mean(percents))
    assert abs(std - statistics.stdev(percents)) <= half, (cell, statistics.stdev(percents))
