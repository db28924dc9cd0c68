"""`o`: what a search found, for one study (core.search), live while its driver runs.

The screen reads the study's summary file (RUNS/.studies/NAME.json, which the driver rewrites
after every change) in a thread worker once a second, and redraws when the file changed or its
driver came or went. It shows: the study's state, trials counted of wanted and how many were
pruned; the best trial (number, accuracy, its varied parameters, its run); the parameters'
importances (Optuna's evaluator, computed by the driver) as bars; and two charts (tui.search_charts):
the accuracy per trial with the best so far, and a numeric parameter (the learning rate first)
against final accuracy, pruned trials marked x.

Keys: `r` loads the best trial's configuration into the form (as the table's `r`), `x` stops the
driver (SIGTERM, after a question; it stops its trials and the study says stopped), `[`/`]` the
previous/next study (newest first), `p` the second chart's next parameter, esc/q closes.
Everything the user or a study wrote is shown as plain text (rich Text), never as markup.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from core.config import ConfigError, RunConfig
from core.search.processes import stop_driver
from core.search.space import SearchSpace, log_scaled
from core.search.study import StudySummary, list_summaries, read_summary, studies_dir
from tui.widgets.study_charts import ObjectiveChart, ParamChart

READ_INTERVAL_S = 1.0  # the summary file is re-read this often while the screen is open
BAR_CELLS = 30  # an importance of 1.0
_EIGHTHS = " ▏▎▍▌▋▊▉"


@dataclass(frozen=True)
class BestPick:
    """What `r` hands the app: the best trial's run and configuration (the run's own, if the app has it)."""

    run_id: str
    config: RunConfig
    label: str


# ----- text ------------------------------------------------------------------------------------
def value_text(value) -> str:
    """A parameter's value, short: 0.0105, 0.57, 64, adam."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _space(summary: StudySummary) -> SearchSpace | None:
    try:
        return SearchSpace.from_dict(summary.plan.get("space") or {})
    except (ConfigError, TypeError, ValueError, AttributeError):
        return None


def numeric_fields(summary: StudySummary, space: SearchSpace | None) -> list[tuple[str, bool]]:
    """(field, log axis) for each varied parameter with numbers, the learning rate first."""
    if space is not None:
        fields = []
        for param in space.params:
            try:
                [float(c) for c in param.choices]
            except ValueError:
                continue  # a choice of words (the optimizer): no axis
            fields.append((param.field, log_scaled(param)))
    else:  # a plan this version cannot read: whatever the trials hold numbers for
        seen: dict[str, bool] = {}
        for row in summary.trials:
            for field, value in row.params.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    seen.setdefault(field, False)
        fields = list(seen.items())
    return sorted(fields, key=lambda f: f[0] != "lr")


def header_text(summary: StudySummary, alive: bool, no_color: bool = False, runs_root: Path | None = None) -> Text:
    """`study NAME · running · 4/6 trials · 2 pruned`, the state in words (a stopped study: why;
    a running one whose driver is gone: that it is gone and how to continue it)."""
    def style(color: str) -> str:
        return "bold" if no_color else f"bold {color}"

    driver = summary.driver or {}
    text = Text.assemble(("study ", "dim"), (summary.name, "bold"), " · ")
    if summary.state == "running" and alive:
        text.append("running", style("green"))
        host = driver.get("host")
        if host and host != socket.gethostname():
            text.append(f" on {host}")
    elif summary.state == "running":
        text.append("its driver is gone", style("yellow"))
        pid = driver.get("pid")
        text.append(f" (process {pid}" + (f" on {driver.get('host')}" if driver.get("host") else "") + ")" if pid else "")
    elif summary.state == "finished":
        text.append("finished", style("cyan"))
    else:
        text.append(summary.state, style("red" if summary.state == "failed" else "yellow"))
        if summary.message:
            text.append(f" ({summary.message})")
    pruned = sum(t.state == "pruned" for t in summary.trials)
    failed = sum(t.state == "failed" for t in summary.trials)
    training = [t.number for t in summary.trials if t.state == "running"]
    text.append(f" · {len(summary.counted)}/{summary.wanted} trials · {pruned} pruned")
    if failed:
        text.append(f" · {failed} failed")
    if training and alive:
        text.append(" · training trial " + ", ".join(map(str, training)))
    elif training:  # its driver is gone: those trials were cut short, and re-run when the study is continued
        text.append(" · trial " + ", ".join(map(str, training)) + " cut short")
    if summary.state == "running" and not alive:
        where = f" --runs-dir {runs_root}" if runs_root is not None and Path(runs_root) != Path("runs") else ""
        text.append(f"\nmnist-tui search --study {summary.name}{where} continues it", "dim")
    return text


def best_text(summary: StudySummary, fields: list[str]) -> Text:
    """`best   trial 2: 87.80% · lr 0.0105 · momentum 0.57`, its run on the next line."""
    best = summary.best
    text = Text.assemble(("best".ljust(11), "bold"))
    if best is None:
        text.append("no trial has completed yet", "dim")
        return text
    text.append(f"trial {best.number}: ")
    text.append(f"{best.value * 100:.2f}%", "bold")
    for field in fields or list(best.params):
        if field in best.params:
            text.append(f" · {field} {value_text(best.params[field])}")
    text.append("\n" + " " * 11)
    text.append(f"run {best.run_id}", "dim")
    return text


def bar(value: float, cells: int = BAR_CELLS) -> str:
    """A horizontal bar of `value` (0..1) x `cells`, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, value)) * cells * 8)
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def importance_text(summary: StudySummary, no_color: bool = False) -> Text:
    """One line per parameter, most important first: name, value, a bar; else why there are none."""
    text = Text.assemble(("importance".ljust(11), "bold"))
    if not summary.importances:
        text.append(summary.importance_note or "not computed yet (after the next trial ends)", "dim")
        return text
    ranked = sorted(summary.importances.items(), key=lambda item: -item[1])
    width = max(len(name) for name, _ in ranked)
    for index, (name, value) in enumerate(ranked):
        if index:
            text.append("\n" + " " * 11)
        text.append(f"{name:<{width}} {value:4.2f} ")
        text.append(bar(value), "" if no_color else "cyan")
    return text


# ----- the screen --------------------------------------------------------------------------------
class StudyScreen(Screen[BestPick | None]):
    """One study; dismissed with the best trial (`r`) or None."""

    DEFAULT_CSS = """
    StudyScreen #study-info {
        height: auto;
        max-height: 12;
        padding: 0 1;
        background: $panel;
    }
    StudyScreen #study-charts {
        height: 1fr;
        min-height: 8;
    }
    StudyScreen #study-objective, StudyScreen #study-param {
        width: 1fr;
    }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Back", tooltip="Close the study screen"),
        Binding("r", "load_best", "Load best", tooltip="Load the best trial's configuration into the form (as the table's r)"),
        Binding("x", "stop_study", "Stop", tooltip="Stop the study's driver (it stops its trials; --study NAME continues it)"),
        Binding("p", "next_param", "Param", tooltip="The right chart's next numeric parameter"),
        Binding("left_square_bracket", "switch(-1)", "Prev", key_display="[", tooltip="The previous (newer) study"),
        Binding("right_square_bracket", "switch(1)", "Next", key_display="]", tooltip="The next (older) study"),
    ]

    @dataclass
    class Read(Message):
        """What the reader worker found: a changed summary (or None: unchanged), whether its driver lives."""

        name: str
        key: tuple | None
        summary: StudySummary | None
        alive: bool
        error: str

    @dataclass
    class Listed(Message):
        """The studies in RUNS (newest first), for `[`/`]`; `step` is the key's direction."""

        summaries: list[StudySummary]
        step: int

    def __init__(self, runs_root: Path, summary: StudySummary, names: list[str] | None = None) -> None:
        super().__init__()
        self.runs_root = Path(runs_root)
        self.summary = summary
        self.names = names or [summary.name]  # newest first
        self.alive = summary.driver_alive()
        self.space = _space(summary)
        self.fields = numeric_fields(summary, self.space)
        self.param_index = 0
        self._key: tuple | None = self._stat_key(summary.name)
        self._reading = False
        self._problem = ""

    # ----- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="study-info")
        with Horizontal(id="study-charts"):
            yield ObjectiveChart(id="study-objective")
            yield ParamChart(id="study-param")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._show()
        self.set_interval(READ_INTERVAL_S, self._read_soon)

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "switch":
            return len(self.names) > 1
        if action == "stop_study":
            return self.summary.state == "running" and self.alive
        if action == "next_param":
            return len(self.fields) > 1
        return True

    def _show(self) -> None:
        """Everything from self.summary (a changed file, another study, a driver that came or went)."""
        no_color = self.app.no_color
        info = header_text(self.summary, self.alive, no_color, self.runs_root)
        if self._problem:
            info.append(f"\n{self._problem}", "dim")
        info.append("\n")
        info.append_text(best_text(self.summary, [p.field for p in self.space.params] if self.space else []))
        info.append("\n")
        info.append_text(importance_text(self.summary, no_color))
        self.query_one("#study-info", Static).update(info)
        objective, param = self.query_one(ObjectiveChart), self.query_one(ParamChart)
        objective.rows = param.rows = list(self.summary.trials)
        if self.fields:
            param.field, param.log_axis = self.fields[self.param_index % len(self.fields)]
        else:
            param.field, param.log_axis = None, False
        objective.redraw_now()
        param.redraw_now()
        self.refresh_bindings()

    # ----- reading the summary -------------------------------------------------------------------
    def _path(self, name: str) -> Path:
        return studies_dir(self.runs_root) / f"{name}.json"

    def _stat_key(self, name: str) -> tuple | None:
        try:
            st = os.stat(self._path(name))
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _read_soon(self) -> None:
        if self._reading:  # one read at a time: a slow disk never piles them up
            return
        self._reading = True
        name, key, current = self.summary.name, self._key, self.summary
        self.run_worker(lambda: self._read(name, key, current), thread=True, exit_on_error=False, group="study-read")

    def _read(self, name: str, key: tuple | None, current: StudySummary) -> None:
        """In a thread: the summary again if the file changed, and whether its driver still lives."""
        summary, error = None, ""
        new_key = self._stat_key(name)
        if new_key is None:
            error = f"cannot read {self._path(name)} (deleted?): showing it as last read"
        elif new_key != key:
            try:
                summary = read_summary(self._path(name))
            except (OSError, ValueError) as problem:
                error = f"{self._path(name).name}: {problem}: showing it as last read"
        alive = (summary or current).driver_alive()
        self.post_message(self.Read(name, new_key, summary, alive, error))

    def on_study_screen_read(self, message: Read) -> None:
        self._reading = False
        if message.name != self.summary.name:
            return  # read before `[`/`]` switched
        changed = message.summary is not None or message.alive != self.alive or message.error != self._problem
        if message.summary is not None:
            self.summary, self._key = message.summary, message.key
            self.space = _space(self.summary)
            self.fields = numeric_fields(self.summary, self.space)
        self.alive, self._problem = message.alive, message.error
        if changed:
            self._show()

    # ----- keys ------------------------------------------------------------------------------------
    def action_close(self) -> None:
        self.dismiss(None)

    def action_next_param(self) -> None:
        if self.fields:
            self.param_index = (self.param_index + 1) % len(self.fields)
            self._show()

    def action_switch(self, step: int) -> None:
        root = self.runs_root
        self.run_worker(lambda: self.post_message(self.Listed(list_summaries(root)[0], step)), thread=True,
                        exit_on_error=False, group="study-list")

    def on_study_screen_listed(self, message: Listed) -> None:
        if not message.summaries:
            return
        self.names = [s.name for s in message.summaries]
        here = self.names.index(self.summary.name) if self.summary.name in self.names else -message.step
        summary = message.summaries[(here + message.step) % len(self.names)]
        self.summary, self._key, self._problem = summary, self._stat_key(summary.name), ""
        self.alive = summary.driver_alive()
        self.space = _space(summary)
        self.fields = numeric_fields(summary, self.space)
        self.param_index = 0
        self._show()

    def action_load_best(self) -> None:
        best = self.summary.best
        if best is None:
            self.notify("no trial has completed yet: nothing to load", timeout=3)
            return
        try:
            if self.space is None:
                raise ConfigError("study", "its stored search space cannot be read")
            config = self.space.config(best.params)
        except ConfigError as bad:
            self.notify(f"cannot load trial {best.number}: {bad}", markup=False, severity="error", timeout=6)
            return
        self.dismiss(BestPick(best.run_id, config, f"trial {best.number} of {self.summary.name}"))

    def action_stop_study(self) -> None:
        summary = self.summary
        driver = summary.driver or {}
        pid, host = driver.get("pid"), driver.get("host")
        if summary.state != "running" or not self.alive:
            self.notify("this study is not running" if summary.state != "running" else "its driver is gone: nothing to stop", timeout=3)
            return
        if host != socket.gethostname() or not isinstance(pid, int):
            self.notify(f"its driver runs on {host}: stop it there (kill {pid})", markup=False, timeout=6)
            return
        from tui.widgets.confirm_dialog import ConfirmDialog

        def answer(yes: bool | None) -> None:
            if yes:
                self._stop_driver(summary.name, pid, driver.get("start_time"))

        question = Text.assemble("Stop the study ", (summary.name, "bold"), f"?\nIts driver (process {pid}) stops the trials "
                                 f"training now; mnist-tui search --study {summary.name} continues it later.")
        self.app.push_screen(ConfirmDialog(question, yes="Stop"), answer)

    def _stop_driver(self, name: str, pid: int, start_time) -> None:
        try:
            if not stop_driver(pid, start_time):  # it ended meanwhile (and the id may be another's now)
                self.notify("its driver has already ended", timeout=3)
                return
        except OSError as problem:
            self.notify(f"cannot stop process {pid}: {problem}", markup=False, severity="error", timeout=6)
            return
        self.notify(f"stopping {name}: its trials stop after their current batch…", markup=False, timeout=4)


def study_screen_for(runs_root: Path, sweep: str | None) -> StudyScreen | None:
    """The study screen for the study named `sweep` (a trial's sweep is its study), else the newest
    study in the runs folder; None when it has none. Reads small files, bounded (list_summaries)."""
    summaries, _ = list_summaries(runs_root)  # newest first
    if not summaries:
        return None
    summary = next((s for s in summaries if s.name == sweep), summaries[0])
    return StudyScreen(runs_root, summary, [s.name for s in summaries])
