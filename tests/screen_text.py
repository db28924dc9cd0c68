"""What the screen shows, as text: the lines of the app's screenshot, as a user reads them."""

from __future__ import annotations

import html
import re
from collections import defaultdict

from rich.cells import cell_len

_CELL_W, _LINE_H, _TOP = 12.2, 24.4, 20.0  # Textual's SVG export: one cell, one line, the first baseline
_TEXT = re.compile(r'<text class="terminal[^"]*" x="([\d.]+)" y="([\d.]+)" textLength="[\d.]+"[^>]*>(.*?)</text>')


def svg_lines(svg: str) -> list[str]:
    """The terminal lines of a Textual SVG screenshot (trailing blanks dropped)."""
    rows: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for x, y, content in _TEXT.findall(svg):
        rows[round((float(y) - _TOP) / _LINE_H)].append((float(x), html.unescape(content).replace("\xa0", " ")))
    lines = []
    for row in range(max(rows, default=-1) + 1):
        text = ""
        for x, content in sorted(rows.get(row, [])):
            text += " " * max(0, round(x / _CELL_W) - cell_len(text)) + content  # by cells: a CJK character takes two
        lines.append(text.rstrip())
    return lines


def screen_lines(app) -> list[str]:
    return svg_lines(app.export_screenshot())


def screen_text(app) -> str:
    return "\n".join(screen_lines(app))


_RECT = re.compile(r'<rect fill="(#[0-9a-fA-F]+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"')


def line_backgrounds(svg: str, row: int) -> list[tuple[int, int, str]]:
    """A line's background colours as (first cell, cells, colour) runs, left to right."""
    cells = sorted((round(float(x) / _CELL_W), round(float(w) / _CELL_W), fill)
                   for fill, x, y, w in _RECT.findall(svg) if round((float(y) - 1.5) / _LINE_H) == row)
    runs: list[tuple[int, int, str]] = []
    for start, width, fill in cells:
        if runs and runs[-1][2] == fill and runs[-1][0] + runs[-1][1] == start:
            runs[-1] = (runs[-1][0], runs[-1][1] + width, fill)
        else:
            runs.append((start, width, fill))
    return runs


_CLASS = re.compile(r"\.terminal-(?:\w+-)?(r\d+) \{ ([^}]*)\}")
_STYLED = re.compile(r'<text class="terminal-(?:\w+-)?(r\d+)" x="([\d.]+)" y="([\d.]+)" textLength="[\d.]+"[^>]*>(.*?)</text>')


def styled_text(svg: str, row: int) -> list[tuple[int, str, dict[str, str]]]:
    """A line's text as (first cell, text, its CSS: fill, font-weight, text-decoration…) runs, left to right."""
    classes = {name: dict(part.split(": ", 1) for part in (p.strip() for p in body.split(";")) if part)
               for name, body in _CLASS.findall(svg)}
    runs = [(round(float(x) / _CELL_W), html.unescape(content).replace("\xa0", " "), classes.get(name, {}))
            for name, x, y, content in _STYLED.findall(svg) if round((float(y) - _TOP) / _LINE_H) == row]
    return sorted(runs, key=lambda run: run[0])


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21; 4.5 reads as body text)."""
    def luminance(color: str) -> float:
        channels = [int(color.lstrip("#")[i: i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
