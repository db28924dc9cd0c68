"""Run colours and markers: a run looks the same in the charts (plotext) and the table (Rich).

Colours are xterm-256 colours, not the 16 ANSI names: Textual paints ANSI names with its own
theme, where red and magenta are one colour and every bright colour equals its normal one (12
names gave 6 colours). These 12 differ from each other and each has a contrast of at least 4.5
against the dashboard's dark background; a 256-colour terminal shows them exactly.

Colour alone is not enough: with NO_COLOR Textual turns every colour into a grey (some close to
the background), and a 16-colour or monochrome terminal merges them. There each run also gets a
marker of its own (and, under NO_COLOR, the foreground colour), the same in the charts, the
table's first column and the status line: see `needs_markers` and `run_mark`.
"""

from __future__ import annotations

# xterm-256 colour numbers; light ones first, they read best on the dark background.
PALETTE = [81, 212, 113, 221, 111, 210, 37, 141, 71, 215, 207, 168]
# One marker per colour, shapes before letters, all one cell wide.
MARKERS = ["●", "x", "+", "■", "*", "o", "◆", "#", "▲", "@", "%", "&"]
NO_COLOR = "default"  # plotext's name for the terminal's foreground
LOW_COLOR_SYSTEMS = (None, "standard", "windows")  # Rich's colour systems of 16 colours or none


def plot_color(index: int) -> int:
    """plotext takes an int as an xterm-256 colour."""
    return PALETTE[index % len(PALETTE)]


def dim_color(color: int | str) -> int | str:
    """A run's colour, darker: the xterm-256 cube colour with each channel about halved, so a
    dimmed run keeps its hue behind the highlighted one. Names and greys come back as they are."""
    if not isinstance(color, int) or not 16 <= color <= 231:
        return color
    red, green, blue = (color - 16) // 36, (color - 16) // 6 % 6, (color - 16) % 6
    return 16 + 36 * (red // 2) + 6 * (green // 2) + blue // 2


def rich_color(index: int) -> str:
    return f"color({plot_color(index)})"


def run_marker(index: int) -> str:
    return MARKERS[index % len(MARKERS)]


def marker_of(color: int | str) -> str:
    """The marker that goes with a run's plot colour (the charts are given colours, not indices)."""
    return MARKERS[PALETTE.index(color)] if color in PALETTE else MARKERS[0]


def marker_of_style(color: str) -> str:
    """The marker that goes with a run's Rich colour (`rich_color`: the table and status line)."""
    number = color[len("color("):-1] if color.startswith("color(") and color.endswith(")") else ""
    return marker_of(int(number)) if number.isdigit() else MARKERS[0]


def run_mark(app, color: str, hidden: bool = False) -> tuple[str, str]:
    """A run's mark in the table and the status line, and its style: the run's colour on `●`; where
    runs differ by marker (`needs_markers`) the run's own marker, as in the charts, and under NO_COLOR
    in the foreground colour. A run hidden from the charts: `○`."""
    style = "" if getattr(app, "no_color", False) else color
    if hidden:
        return "○", style
    return (marker_of_style(color) if needs_markers(app) else "●"), style


def needs_markers(app) -> bool:
    """Must runs differ by marker, not colour alone? With NO_COLOR, or on a terminal of 16 colours
    or none. A headless app (tests, screenshots) draws in true colour whatever TERM says, so there
    only NO_COLOR counts: the pictures do not depend on the terminal the tests ran in."""
    if getattr(app, "no_color", False):
        return True
    return not app.is_headless and app.console.color_system in LOW_COLOR_SYSTEMS
