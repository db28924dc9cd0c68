"""Run colours: the same 16-colour ANSI name in plotext (charts) and Rich (table), so a run
looks the same everywhere and stays readable on 16- and 256-colour terminals."""

from __future__ import annotations

# (plotext name, Rich name) pairs; bright ones first, they read best on dark backgrounds.
PALETTE = [
    ("cyan+", "bright_cyan"),
    ("magenta+", "bright_magenta"),
    ("green+", "bright_green"),
    ("orange+", "bright_yellow"),
    ("blue+", "bright_blue"),
    ("red+", "bright_red"),
    ("cyan", "cyan"),
    ("magenta", "magenta"),
    ("green", "green"),
    ("orange", "yellow"),
    ("blue", "blue"),
    ("red", "red"),
]


def plot_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)][0]


def rich_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)][1]
