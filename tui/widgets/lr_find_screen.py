"""ctrl+l in the run form: the learning-rate range test for the form's configuration, drawn live.

The test trains, so it runs in a child process (core.training.lr_find_process; the dashboard never
imports torch): a thread reads its lines, each checked before it is believed, and the smoothed loss
is drawn against the learning rate on a log axis as the batches come. At the end the suggested rate
is marked on the chart and named with its rule; `u` (or enter) puts it into the form's learning
rate, esc closes without it. The child is ended whenever the screen goes (esc, a result, the
dashboard quitting): SIGTERM, then SIGKILL if it has not gone within 3 s, and reaped.
It is not a run: nothing is recorded, nothing is compared.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from core.config import ConfigError, RunConfig, parse_config
from core.execution.launcher import describe_exit
from core.training.lr_find_process import MAX_LINE, Done, Failed, Point, read_line
from tui.widgets.run_chart import RunChart
from tui.widgets.run_form import FIELDS

COMMAND = [sys.executable, "-m", "core.training.lr_find_process"]  # then the request, as JSON
# What the test depends on; the rest of the form (epochs, schedule, the lr itself...) does not matter.
TEST_FIELDS = ("model", "dataset", "batch_size", "optimizer", "momentum", "weight_decay", "seed", "device", "train_size")
START_LR, END_LR, BATCHES = 1e-6, 1.0, 100
LIVE_REDRAW_S = 0.3  # the chart at most this often while points arrive
STOP_GRACE_S = 3.0  # after SIGTERM, before SIGKILL
TOP_OVER_START = 1.2  # the y axis ends this far above the first smoothed loss
CURVE_COLOR, SUGGESTION_COLOR = 81, 221  # tui.palette's first two light colours


def range_test_config(values: dict[str, str]) -> RunConfig:
    """The form's configuration as the test needs it: its fields only, the first of a comma list
    (a sweep's first configuration) or the low end of a search's range. Raises ConfigError naming the field."""
    return parse_config({field: values[field].split(",")[0].split(":")[0].strip() for field in TEST_FIELDS if field in values})


def rate_text(rate: float) -> str:
    """The rate as the form gets it: 3 significant digits (0.0266)."""
    return f"{rate:.3g}"


def _label(field: str) -> str:
    return next((label for name, label, _ in FIELDS if name == field), field)


def _decade_label(exponent: int) -> str:
    return f"{10.0 ** exponent:g}" if exponent >= -3 else f"1e{exponent}"


class LrChart(RunChart):
    """The smoothed loss against log10(learning rate), labelled in rates (0.001, 0.01, ...): a log
    axis. plotext's own log scale leaves xlim in linear units, so the axis is drawn in log10 here."""

    def __init__(self, start_lr: float, end_lr: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.low, self.high = math.log10(start_lr), math.log10(end_lr)
        self.points: list[Point] = []
        self.suggestion: float | None = None
        self.note = "starting…"

    def redraw_if_due(self) -> None:
        if self._dirty and time.monotonic() - self._drawn_at >= LIVE_REDRAW_S:
            self._redraw_if_dirty()

    def draw(self, plt) -> None:
        ys = [p.smoothed for p in self.points]
        if ys:
            # Up to a little over the first loss: the descent is what matters, and the divergence at
            # the end (up to 4x the minimum, often above the start) would squash it; it leaves the top.
            top = min(max(ys), max(ys[0] * TOP_OVER_START, min(ys) * 1.1))
            self.y_axis(plt, min(ys), top, subrows=1 if self.markers else 4, floor=0.0)
        plt.xlim(self.low, self.high)
        decades = list(range(math.ceil(self.low - 1e-9), math.floor(self.high + 1e-9) + 1))
        labels = [_decade_label(e) for e in decades]
        room = self.canvas_columns() // max(1, len(decades))
        every = next((k for k in range(1, len(decades)) if room * k > max(map(len, labels), default=1) + 1), max(1, len(decades)))
        plt.xticks(decades[::every], labels[::every])
        plt.xlabel("learning rate (log scale)")
        if self.suggestion is not None:
            x = math.log10(self.suggestion)
            top = self.axis.upper if self.axis else 1.0
            bottom = self.axis.lower if self.axis else 0.0
            # a dotted column at the rate, seen without colour too
            plt.plot([x, x], [bottom, top], marker="┊", color=self.run_color(SUGGESTION_COLOR))
        if ys:
            plt.plot([math.log10(p.lr) for p in self.points], ys, color=self.run_color(CURVE_COLOR), marker=self.run_marker(CURVE_COLOR, "braille"))
        title = "smoothed training loss" + (f": {self.note}" if self.note else "")
        self.title(plt, title, "smoothed loss" + (f": {self.note}" if self.note else ""), "smoothed loss")


class LrFindScreen(ModalScreen[str | None]):
    """Dismissed with the suggested rate as the form should show it (`u`/enter), or None (esc)."""

    BINDINGS = [
        Binding("u,enter", "use", "Use it", tooltip="Put the suggested rate into the form's learning rate"),
        Binding("escape", "cancel", "Cancel", tooltip="Stop the test and close, the form as it was"),
    ]

    class Received(Message):
        """A checked line of the child's output (from the reader thread)."""

        def __init__(self, item: Point | Done | Failed) -> None:
            super().__init__()
            self.item = item

    class Ended(Message):
        """The child exited; `why` says how, with the end of its stderr, when it left no last line."""

        def __init__(self, code: int, why: str) -> None:
            super().__init__()
            self.code, self.why = code, why

    def __init__(self, values: dict[str, str], data_dir: str | os.PathLike | None = None, *, start_lr: float = START_LR,
                 end_lr: float = END_LR, batches: int = BATCHES) -> None:
        """`values`: the form's fields as text (RunForm.values)."""
        super().__init__()
        self.values, self.data_dir = values, data_dir
        self.start_lr, self.end_lr, self.batches = start_lr, end_lr, batches
        self.points: list[Point] = []
        self.result: Done | None = None
        self.error: str | None = None
        self.process: subprocess.Popen | None = None
        self._stopping = False

    @property
    def suggestion(self) -> float | None:
        return self.result.suggestion if self.result else None

    def compose(self) -> ComposeResult:
        with Vertical(id="lr-find-box"):
            yield Static(Text("Learning-rate range test", style="bold"), id="lr-find-title")
            yield LrChart(self.start_lr, self.end_lr, id="lr-find-chart")
            yield Static("", id="lr-find-status")
            yield Static("", id="lr-find-keys")

    def on_mount(self) -> None:
        self.set_interval(LIVE_REDRAW_S, self.query_one(LrChart).redraw_if_due)
        try:
            config = range_test_config(self.values)
        except ConfigError as bad:
            self._fail(f"{_label(bad.field)}: {bad.message}. Fix it in the form, then ctrl+l again.")
            return
        self._show_title(config)
        self._start(config)

    def on_unmount(self) -> None:
        self.stop_child()

    # ----- the child process -------------------------------------------------------------------
    def _start(self, config: RunConfig) -> None:
        request = {**config.to_dict(), "start_lr": self.start_lr, "end_lr": self.end_lr, "batches": self.batches,
                   "data_dir": str(Path(self.data_dir).expanduser().absolute()) if self.data_dir else None}
        stderr = tempfile.TemporaryFile()
        try:
            # In the dashboard's process group: a hang-up of its terminal reaches the test too.
            self.process = subprocess.Popen([*COMMAND, json.dumps(request)],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, close_fds=True)
        except OSError as failure:
            stderr.close()
            self._fail(f"could not start the test: {failure}")
            return
        self._show_status(Text(f"batch 0/{self.batches}: loading torch and the data…"))
        self._show_keys(False)
        self.run_worker(lambda: self._read(self.process, stderr), thread=True, exit_on_error=False, group="lr-find")

    def _read(self, process: subprocess.Popen, stderr: IO[bytes]) -> None:
        """The reader thread: bounded lines, each checked (core.training.lr_find_process.read_line)."""
        too_long = False
        try:
            while line := process.stdout.readline(MAX_LINE + 1):
                complete = line.endswith(b"\n")
                if too_long or (not complete and len(line) > MAX_LINE):
                    too_long = not complete  # the rest of a line too long to be ours
                    continue
                if (item := read_line(line)) is not None:
                    self.post_message(self.Received(item))
            code = process.wait()
            stderr.flush()
            why = describe_exit(code)
            stderr.seek(0, os.SEEK_END)
            stderr.seek(max(0, stderr.tell() - 16_384))
            kept = [text.strip() for text in stderr.read().decode("utf-8", "replace").splitlines() if text.strip()]
            if kept:
                why += ": " + " | ".join(kept[-3:])
            self.post_message(self.Ended(code, why))
        except RuntimeError:  # the app's loop has closed: nobody to tell
            pass
        finally:
            process.stdout.close()
            stderr.close()

    def stop_child(self) -> None:
        """End the child if it still runs: SIGTERM (it stops after its batch, quietly), SIGKILL after
        STOP_GRACE_S; a thread reaps it, so closing the screen does not wait. Non-daemon: a
        dashboard that quits waits for it rather than leave the test behind."""
        process, self._stopping = self.process, True
        if process is None or process.poll() is not None:
            return
        try:
            process.terminate()
        except OSError:
            return

        def reap() -> None:
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

        threading.Thread(target=reap, name="lr-find-reaper", daemon=False).start()

    # ----- what the child says -----------------------------------------------------------------
    def on_lr_find_screen_received(self, message: Received) -> None:
        item, chart = message.item, self.query_one(LrChart)
        if isinstance(item, Point):
            if item.batch > self.batches or (self.points and item.batch <= self.points[-1].batch):
                return  # not the next batch of this test
            self.points.append(item)
            chart.points, chart.note = self.points, ""
            chart.touch()
            self._show_status(Text(f"batch {item.batch}/{self.batches}, lr {item.lr:.2e}: smoothed loss {item.smoothed:.3f}"))
        elif isinstance(item, Done) and self.result is None and self.error is None:
            self.result = item
            chart.suggestion = item.suggestion
            chart.note = "" if item.suggestion is not None else "no suggestion"
            chart.redraw_now()
            self._show_result(item)
        elif isinstance(item, Failed) and self.result is None:
            self._fail(item.error)

    def on_lr_find_screen_ended(self, message: Ended) -> None:
        if self.result is None and self.error is None and not self._stopping:
            self._fail(f"the test stopped before its end: its process {message.why}")

    # ----- what the screen says ----------------------------------------------------------------
    def _show_title(self, config: RunConfig) -> None:
        images = f"{config.train_size:,} images" if config.train_size else "all images"
        extra = f" (momentum {config.momentum:g})" if config.optimizer == "sgd" else ""
        decay = f", weight decay {config.weight_decay:g}" if config.weight_decay else ""
        what = (f"{config.model} on {config.dataset}, batch {config.batch_size}, {config.optimizer}{extra}{decay}, "
                f"seed {config.seed}, {config.device}, {images}")
        self.query_one("#lr-find-title", Static).update(Text.assemble(("Learning-rate range test", "bold"), ": ", what))

    def _show_status(self, text: Text) -> None:
        self.query_one("#lr-find-status", Static).update(text)

    def _show_keys(self, usable: bool) -> None:
        if usable:
            keys = Text.assemble(("u", "bold"), " or ", ("enter", "bold"), f": learn rate {rate_text(self.suggestion)} into the form · ",
                                 ("esc", "bold"), ": close without it")
        else:
            keys = Text.assemble(("esc", "bold"), ": stop the test and close" if self.result is None and self.error is None else ": close")
        self.query_one("#lr-find-keys", Static).update(keys)

    def _show_result(self, done: Done) -> None:
        last = self.points[-1] if self.points else None
        ended = (f"stopped at lr {last.lr:.2g}: the smoothed loss passed 4x its minimum" if done.stopped_early and last
                 else f"{len(self.points)} batches")
        if done.suggestion is None:
            text = Text(f"no suggestion: too few batches before the loss diverged ({ended}); nothing is recorded", style="bold")
        else:
            text = Text.assemble(("suggested learning rate: ", "bold"), (rate_text(done.suggestion), "bold reverse"),
                                 f" — {done.rule}\n", (f"{ended}; not a run: nothing is recorded", "dim"))
        self._show_status(text)
        self._show_keys(done.suggestion is not None)

    def _fail(self, error: str) -> None:
        self.error = error
        self.query_one(LrChart).note = "no test"
        self.query_one(LrChart).redraw_now()
        self._show_status(Text.assemble(("error: ", "bold"), error, style="red"))
        self._show_keys(False)

    # ----- keys --------------------------------------------------------------------------------
    def action_use(self) -> None:
        if self.suggestion is None:
            self.app.bell()
            return
        self.stop_child()
        self.dismiss(rate_text(self.suggestion))

    def action_cancel(self) -> None:
        self.stop_child()
        self.dismiss(None)
