"""Rich renderables for inspecting a run, shared by `mnist-tui show` and the dashboard's screens.

Rich only (no Textual, no torch): images arrive as nested lists of 0..255 grey levels.
"""

from __future__ import annotations

import re

from rich.console import Console, Group
from rich.style import Style
from rich.table import Table
from rich.text import Text

from core.runstore.results import RunRecord


def digit_text(image: list[list[int]]) -> Text:
    """A 28x28 digit in 28x14 cells: each '▀' is the upper pixel (foreground) over the lower one (background)."""
    text = Text()
    for top, bottom in zip(image[0::2], image[1::2]):
        for upper, lower in zip(top, bottom):
            text.append("▀", Style(color=f"rgb({upper},{upper},{upper})", bgcolor=f"rgb({lower},{lower},{lower})"))
        text.append("\n")
    text.rstrip()
    return text


def digit_card(image: list[list[int]], true: int, predicted: int, confidence: float, index: int) -> Group:
    ok = true == predicted
    caption = Text.assemble(
        (f"#{index} ", "dim"),
        f"true {true} ",
        (f"pred {predicted}", "green" if ok else "bold red"),
        f" {confidence * 100:.0f}%",
    )
    return Group(digit_text(image), caption)


def config_table(record: RunRecord) -> Table:
    table = Table(title=Text(record.label), title_justify="left", show_header=False, box=None)
    table.add_column(style="dim")
    table.add_column()
    table.add_row("run", Text(record.run_id))
    for key, value in record.config.to_dict().items():
        if value not in (None, "", False) or key in ("weight_decay",):
            table.add_row(key, Text(str(value)))  # names and paths are the user's text: never markup
    table.add_row("status", Text(record.status + (f": {record.message}" if record.message else "")))
    if record.device:
        table.add_row("trained on", Text(record.where))
    return table


def epochs_table(record: RunRecord) -> Table:
    table = Table(title="test accuracy after each epoch", title_justify="left", min_width=34)
    table.add_column("epoch", justify="right")
    table.add_column("accuracy %", justify="right")
    for epoch, accuracy in sorted(record.accuracies.items()):
        style = "bold green" if accuracy == record.best else ""
        table.add_row(str(epoch), Text(f"{accuracy * 100:.2f}", style=style))
    return table


def _heat(count: int, row_total: int, diagonal: bool) -> Style:
    """Diagonal cells in green, mistakes in red; brighter for a larger share of the row."""
    share = count / row_total if row_total else 0.0
    if count == 0:
        return Style(color="grey37")
    if diagonal:
        return Style(color="black", bgcolor="green" if share > 0.9 else "dark_green")
    return Style(color="white", bgcolor="red" if share > 0.02 else "dark_red" if share > 0.005 else "grey30")


def confusion_table(matrix: list[list[int]], per_class: list[float | None], epoch: int) -> Table:
    table = Table(title=f"confusion matrix, epoch {epoch} (rows: true class, columns: predicted)", title_justify="left", padding=(0, 1))
    table.add_column("true", justify="right", style="bold")
    for predicted in range(len(matrix)):
        table.add_column(str(predicted), justify="right")
    table.add_column("acc %", justify="right")
    for true, row in enumerate(matrix):
        total = sum(row)
        cells = [Text(str(count), style=_heat(count, total, true == predicted)) for predicted, count in enumerate(row)]
        accuracy = per_class[true]
        table.add_row(str(true), *cells, "" if accuracy is None else f"{accuracy * 100:.1f}")
    return table


def summary_table(rows, total: int, model_name: str) -> Table:
    table = Table(title=f"{model_name}: {total:,} parameters", title_justify="left")
    table.add_column("layer")
    table.add_column("type")
    table.add_column("output", justify="right")
    table.add_column("params", justify="right")
    for row in rows:
        kind = row.kind.split("(")[0]
        table.add_row(row.name, kind, "x".join(map(str, row.output_shape)), f"{row.parameters:,}" if row.parameters else "")
    table.add_row("", "total", "", f"{total:,}", style="bold")
    return table


# A number, or a spread such as `98.12 ± 0.15 (n=2)`, or the report's `98 *`: kept whole.
_NUMBER = re.compile(r"[-+]?[\d.,]+(e[-+]?\d+)?%?( ± [\d.,]+)?( \(n=\d+\))?( \*)?")


def keep_numbers_whole(table: Table) -> Table:
    """A printed number is never cut to `98.…`: a column of numbers keeps its widest cell's width
    (text columns fold instead when the terminal is narrow)."""
    for column in table.columns:
        cells = [str(cell).strip() for cell in column._cells if str(cell).strip()]
        if cells and all(_NUMBER.fullmatch(cell) for cell in cells):
            column.min_width = max(len(cell) for cell in cells)
            column.no_wrap = True
    return table


def print_table(console: Console, table: Table) -> None:
    """Print with every number whole; into a file or pipe at the width the table needs (not 80)."""
    keep_numbers_whole(table)
    if not console.is_terminal:
        needed = Console(width=10_000).measure(table).maximum
        console = Console(file=console.file, width=max(console.width, needed), force_terminal=False)
    console.print(table)
