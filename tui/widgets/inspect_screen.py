"""Inspect one run: its misclassified (or correct) test digits, confusion matrix, model and device.

Everything is read from the run's folder (predictions kept per epoch) in a worker thread, so
nothing is retrained and the UI never waits for torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane, Tabs

from core.comparison.columns import status_style
from core.runstore.results import RunRecord
from tui.renderables import confusion_table, digit_card, summary_table

CARD_WIDTH, CARD_HEIGHT = 30, 16  # a 28x14 digit, its caption, and a gap


class _Gallery(Static, can_focus=True):
    """The digits; focusable so that the screen, not a scroll area, receives the arrow keys."""


@dataclass
class Inspection:
    """What the worker read: plain data the screen can draw without torch calls of its own."""

    predictions: dict[int, Any]  # epoch -> core.training.inspect.Predictions
    images: Any | None  # uint8 tensor N x 28 x 28, or None when the data files are missing
    image_problem: str
    summary: tuple[list, int]


TABS = ("tab-digits", "tab-confusion", "tab-model", "tab-device")


class InspectScreen(Screen):
    AUTO_FOCUS = "#digits"  # focused, the gallery leaves the arrows to paging
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("t", "next_tab", "Tab"),
        Binding("left,pageup", "page(-1)", "Prev", key_display="←"),
        Binding("right,pagedown", "page(1)", "Next", key_display="→"),
        Binding("w", "toggle_wrong", "Wrong/right", tooltip="Show the misclassified digits, or the correct ones"),
        Binding("f", "toggle_filter_kind", "By", tooltip="Filter by the true class or by the predicted one"),
        Binding("a", "filter_class(None)", "All", tooltip="All classes (0-9 picks one)"),
        Binding("left_square_bracket", "epoch(-1)", "Ep-", key_display="[", tooltip="The previous epoch"),
        Binding("right_square_bracket", "epoch(1)", "Ep+", key_display="]", tooltip="The next epoch"),
    ] + [Binding(str(d), f"filter_class({d})", f"Class {d}", show=False) for d in range(10)]

    @dataclass
    class Loaded(Message):
        inspection: Inspection

    def __init__(self, record: RunRecord, run_dir, data_dir, current_run: Callable[[], RunRecord | None] = lambda: None) -> None:
        """`current_run`: the run the dashboard trains now, asked every 2 s (the device tab compares with it)."""
        super().__init__()
        self.record, self.run_dir, self.data_dir = record, run_dir, data_dir
        self.current_run = current_run
        self.inspection: Inspection | None = None
        self.epoch: int | None = None
        self.show_wrong = True  # misclassified digits; False: correctly classified ones
        self.class_filter: int | None = None
        self.filter_on_true = True  # the class filter applies to the true label (else: the predicted)
        self.page = 0

    def _title(self, *parts) -> Text:
        """The run's name, then `parts`; under it why the run ended, if it failed, stopped or was
        interrupted. Wrapped, never cut (the name and the reason are the user's and the run's text: never markup)."""
        title = Text.assemble((self.record.label, "bold"), *parts, overflow="fold")
        if self.record.reason:
            title.append("\n")
            title.append(self.record.status, status_style(self.record.status, self.app.no_color))
            title.append(f": {self.record.reason}")
        return title

    def compose(self) -> ComposeResult:
        yield Static(self._title(" ", (f"{self.record.run_id} · loading predictions…", "dim")), id="inspect-title")
        with TabbedContent(id="inspect-tabs"):
            with TabPane("Digits", id="tab-digits"):
                yield Static("", id="digits-filter")
                yield _Gallery("", id="digits")
            with TabPane("Confusion", id="tab-confusion"):
                with VerticalScroll():
                    yield Static("", id="confusion")
            with TabPane("Model", id="tab-model"):
                with VerticalScroll():
                    yield Static("", id="model")
            with TabPane("Device", id="tab-device"):
                yield Static("", id="device")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(Tabs).can_focus = False  # `t` switches tabs; arrows stay with the gallery
        self._load()
        self._refresh_device()
        self.set_interval(2.0, self._refresh_device)

    @work(thread=True, exit_on_error=False, group="inspect")
    def _load(self) -> None:
        from core.training.data import DataError
        from core.training.inspect import load_predictions, load_test_images
        from core.training.summary import summarize

        predictions = load_predictions(self.run_dir)
        images, problem = None, ""
        if predictions:
            count = len(next(iter(predictions.values())).labels)
            try:
                images = load_test_images(self.record.config.dataset, self.data_dir, count)
            except DataError as missing:
                problem = str(missing)
        self.post_message(self.Loaded(Inspection(predictions, images, problem, summarize(self.record.config.model))))

    def on_inspect_screen_loaded(self, message: Loaded) -> None:
        self.inspection = message.inspection
        if self.inspection.predictions:
            self.epoch = max(self.inspection.predictions)
        rows, total = self.inspection.summary
        self.query_one("#model", Static).update(summary_table(rows, total, self.record.config.model))
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    # ----- drawing -------------------------------------------------------------------------
    def _chosen(self):
        if self.inspection is None or self.epoch is None:
            return None
        return self.inspection.predictions[self.epoch]

    def selected_indices(self) -> list[int]:
        chosen = self._chosen()
        if chosen is None:
            return []
        keep = (chosen.predicted != chosen.labels) if self.show_wrong else (chosen.predicted == chosen.labels)
        if self.class_filter is not None:
            classes = chosen.labels if self.filter_on_true else chosen.predicted
            keep &= classes == self.class_filter
        return keep.nonzero().flatten().tolist()

    def _per_page(self) -> tuple[int, int]:
        width = max(self.size.width, 1)
        height = max(self.size.height - 7, 1)  # title, tabs, filter line, footer
        return max(1, width // CARD_WIDTH), max(1, height // CARD_HEIGHT)

    def _redraw(self) -> None:
        title = self.query_one("#inspect-title", Static)
        chosen = self._chosen()
        if self.inspection is None:
            return
        if chosen is None:
            title.update(self._title(" ", (self.record.run_id, "dim"), " · no stored predictions"))
            self._draw_nothing()
            return
        epochs = list(self.inspection.predictions)
        title.update(self._title(
            f" · epoch {self.epoch} of {epochs[0]}..{epochs[-1]} · "
            f"test accuracy {chosen.accuracy * 100:.2f}% · {len(chosen.wrong())} wrong of {len(chosen.labels):,}",
        ))
        from core.training.inspect import confusion_matrix, per_class_accuracy

        matrix = confusion_matrix(chosen)
        self.query_one("#confusion", Static).update(confusion_table(matrix, per_class_accuracy(matrix), self.epoch))
        self._draw_digits(chosen)

    def _draw_nothing(self) -> None:
        """No epoch ended with a test pass: say why on the tabs that would draw one (never a blank screen)."""
        record = self.record
        if record.reason:
            why = Text.assemble("Nothing to draw: no epoch of this run ended with a test pass.\n",
                                (record.status, status_style(record.status, self.app.no_color)), f": {record.reason}")
        elif record.status in ("running", "queued"):
            why = Text("Nothing to draw yet: the digits and the confusion matrix come with the first epoch's test pass.")
        else:
            why = Text("Nothing to draw: this run kept no predictions (it ended before its first test pass, or predates them).")
        self.query_one("#digits-filter", Static).update("")
        self.query_one("#digits", Static).update(why)
        self.query_one("#confusion", Static).update(why)

    def _draw_digits(self, chosen) -> None:
        indices = self.selected_indices()
        columns, rows = self._per_page()
        per_page = columns * rows
        pages = max(1, -(-len(indices) // per_page))
        self.page = min(self.page, pages - 1)
        kind = "wrong" if self.show_wrong else "right"
        which = "all classes" if self.class_filter is None else f"{'true' if self.filter_on_true else 'predicted'} class {self.class_filter}"
        self.query_one("#digits-filter", Static).update(
            f"{len(indices)} {kind} · {which} · page {self.page + 1}/{pages}  [dim](w wrong/right · 0-9 class · f true/pred · a all · ←→ pages · [ ] epochs)[/]"
        )
        digits = self.query_one("#digits", Static)
        if self.inspection.images is None:
            digits.update(Text(f"digits not drawn: {self.inspection.image_problem}", style="yellow"))
            return
        grid = Table.grid(padding=(0, 2))
        for _ in range(columns):
            grid.add_column()
        shown = indices[self.page * per_page : (self.page + 1) * per_page]
        cards = [
            digit_card(self.inspection.images[i].tolist(), int(chosen.labels[i]), int(chosen.predicted[i]), float(chosen.confidence[i]), i)
            for i in shown
        ]
        for start in range(0, len(cards), columns):
            grid.add_row(*cards[start : start + columns])
        digits.update(grid if cards else Text("no digits match", style="dim"))

    def _refresh_device(self) -> None:
        from tui.device_info import device_report

        self.query_one("#device", Static).update(device_report(self.record, self.current_run()))

    # ----- actions -------------------------------------------------------------------------
    def action_next_tab(self) -> None:
        tabs = self.query_one("#inspect-tabs", TabbedContent)
        tabs.active = TABS[(TABS.index(tabs.active) + 1) % len(TABS)]
        pane = self.query_one(f"#{tabs.active}", TabPane)
        focusable = [w for w in pane.query("*") if w.can_focus]
        if focusable:  # the gallery, or the scroll area (up/down scroll the matrix or the model)
            focusable[0].focus()

    def action_page(self, step: int) -> None:
        self.page = max(0, self.page + step)
        self._redraw()

    def action_toggle_wrong(self) -> None:
        self.show_wrong, self.page = not self.show_wrong, 0
        self._redraw()

    def action_toggle_filter_kind(self) -> None:
        self.filter_on_true, self.page = not self.filter_on_true, 0
        self._redraw()

    def action_filter_class(self, digit: int | None) -> None:
        self.class_filter, self.page = digit, 0
        self._redraw()

    def action_epoch(self, step: int) -> None:
        if self.inspection and self.epoch is not None:
            epochs = list(self.inspection.predictions)
            self.epoch = epochs[max(0, min(len(epochs) - 1, epochs.index(self.epoch) + step))]
            self.page = 0
            self._redraw()
