"""The run form: every RunConfig field, validated as you type by the CLI's own parser."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static

from core.config import DATASETS, MODELS, OPTIMIZERS, SCHEDULES, ConfigError, RunConfig, check_resume_path, parse_field
from core.comparison.sweep import SWEEP_FIELDS, expand_grid, new_sweep_id, split_values
from core.search.processes import parse_trials
from core.search.space import SEARCHABLE, SearchSpace, parse_param
from core.search.study import PRUNERS, new_study_name

# (field, label, choices or None for a text input). Learning rate and batch size take
# comma-separated lists, and model/optimizer/schedule offer "sweep all": more than one value
# makes the form queue the whole grid as a sweep.
FIELDS: list[tuple[str, str, tuple[str, ...] | None]] = [
    ("model", "model", MODELS + (",".join(MODELS),)),
    ("dataset", "dataset", DATASETS),
    ("lr", "learn rate", None),
    ("batch_size", "batch size", None),
    ("epochs", "epochs", None),
    ("optimizer", "optimizer", OPTIMIZERS + (",".join(OPTIMIZERS),)),
    ("momentum", "momentum", None),
    ("schedule", "lr schedule", SCHEDULES + (",".join(SCHEDULES),)),
    ("weight_decay", "weight decay", None),
    ("seed", "seed", None),
    ("device", "device", None),  # a select whose options arrive once torch has loaded
    ("train_size", "train subset", None),
    ("test_size", "test subset", None),
    ("log_every", "log every", None),
    ("name", "name", None),
    ("resume", "resume from", None),  # a checkpoint path, e.g. runs/<id>/checkpoint.pt
    ("tensorboard", "tensorboard", ("off", "on")),
    ("compile", "compile", ("off", "on")),  # torch.compile (CUDA graphs on a GPU)
    # Not a run's configuration but how a sweep is packed: N runs share each device at once.
    ("runs_per_device", "runs/device", ("1", "2", "3", "4", "6", "8")),
    # An Optuna search instead of a grid (core.search): the pruner, and how many trials.
    ("search", "search", ("off",) + PRUNERS),
    ("trials", "trials", None),
]
PACKING_FIELDS = ("runs_per_device", "search", "trials")  # form fields that are not RunConfig fields
# The search select: off (a run, or a grid of the lists), else an Optuna search with this pruner.
SEARCH_LABELS = {"off": "off", "median": "median pruner", "halving": "halving", "hyperband": "Hyperband", "none": "no pruning"}
DEFAULT_TRIALS = "20"


class FormSelect(Select):
    """A Select that leaves up/down to form navigation; enter or space opens its list."""

    BINDINGS = [
        Binding("down", "app.focus_next", "Next field", show=False),
        Binding("up", "app.focus_previous", "Previous field", show=False),
    ]


class NumberInput(Input):
    """A field of numbers (or lists of them): `n` can never be part of one, so it is left to the
    dashboard's `n` (back to the first field) instead of being typed. Text fields (name, resume)
    are plain Inputs: there `n` types."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character != "n" and super().check_consume_key(key, character)

    async def _on_key(self, event) -> None:
        if event.character == "n":
            event.prevent_default()  # Input's own handler does not type it; the key goes on to the bindings


TEXT_FIELDS = ("name", "resume")  # free text: every key types
LOADING = ("auto (loading torch…)", "loading")  # until devices are known; starts as auto


def _choice_value(value) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else value


def _text(value) -> str:
    """A value as the field shows it, exactly: `0.001`, not a rounded `%g` of a longer number."""
    if value is None:
        return ""
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)


class RunForm(VerticalScroll):
    # Up/down move between fields as in most forms (Selects keep theirs: they open the list).
    BINDINGS = [
        Binding("down", "app.focus_next", "Next field", show=False),
        Binding("up", "app.focus_previous", "Previous field", show=False),
        Binding("ctrl+l", "find_lr", "Find lr", tooltip="The learning-rate range test for this configuration: suggests a rate (u puts it here)"),
    ]

    class LrFindRequested(Message):
        """ctrl+l: the learning-rate range test for the form's configuration (tui.widgets.lr_find_screen)."""

    def action_find_lr(self) -> None:
        self.post_message(self.LrFindRequested())

    def check_action(self, action: str, parameters) -> bool | None:
        return action != "find_lr" or self.screen is self.app.screen  # not under a dialog (the footer shows it)

    @dataclass
    class StartRequested(Message):
        """The user asked to start (or queue) a run with this configuration."""

        config: RunConfig

    @dataclass
    class SearchRequested(Message):
        """The user asked for an Optuna search (core.search): ranges and lists as typed, per field."""

        values: dict[str, str]
        trials: int
        pruner: str
        parallel: int
        study: str
        devices: list[str] | None = None

    @dataclass
    class SweepRequested(Message):
        """The user asked for a grid of runs; `devices` (several) runs them in parallel."""

        configs: list[RunConfig]
        devices: list[str] | None
        runs_per_device: int = 1

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.errors: dict[str, str] = {}
        self._built = False  # the fields are mounted on first open (ensure_fields)
        self._devices: list[tuple[str, str]] | None = None  # as the runner listed them, once known
        self._wanted_device: str | None = None  # a loaded run's device, set once the list has it

    def compose(self) -> ComposeResult:
        yield Static("New run [dim]· enter starts[/]", classes="form-title")
        yield Static("", id="form-hint")

    def ensure_fields(self, config: RunConfig | None = None) -> None:
        """Mount the fields the first time the form opens (with `config`'s values, else the
        defaults): a start with the form closed does not wait for 18 fields to be built (about
        0.13 s of the first frame here). A Select is given its value when built: one set before
        it has mounted would keep its value but show its placeholder."""
        if self._built:
            return
        self._built = True
        values = config or RunConfig()
        widgets, rows = [], []
        for field, label, choices in FIELDS:
            if field == "trials":
                editor = NumberInput(DEFAULT_TRIALS, compact=True, id="f-trials")
            elif field in PACKING_FIELDS:
                options = [(SEARCH_LABELS.get(c, c), c) for c in choices]
                editor = FormSelect(options, value=choices[0], allow_blank=False, compact=True, id=f"f-{field}")
            elif field == "device":
                editor = FormSelect(self._devices_options(), value=self._device_value(values.device), allow_blank=False, compact=True, id=f"f-{field}")
            elif choices:
                options = [(c if "," not in c else f"sweep all ({c})", c) for c in choices]
                editor = FormSelect(options, value=_choice_value(getattr(values, field)), allow_blank=False, compact=True, id=f"f-{field}")
            else:
                placeholder = {"train_size": "all", "test_size": "all", "resume": "checkpoint path"}.get(field, "")
                kind = Input if field in TEXT_FIELDS else NumberInput
                editor = kind(_text(getattr(values, field)), placeholder=placeholder, compact=True, id=f"f-{field}")
            row = Horizontal(classes="form-row")
            rows.append((row, [Label(label, classes="form-label"), editor]))
            widgets += [row, Static("", classes="form-error", id=f"e-{field}")]
        widgets += [Static("", id="grid-size"), Button("Start", id="start", variant="primary", compact=True)]
        self.mount_all(widgets)
        for row, children in rows:  # mounted into their rows now, so `#f-lr` can be queried (and focused) at once
            row.mount_all(children)

    def show(self, is_open: bool) -> None:
        """Open (its fields built the first time) or close the form."""
        if is_open:
            self.ensure_fields()
        self.display = is_open

    def show_hint(self, text: str) -> None:
        """A line above the fields (the first start says what to do)."""
        hint = self.query_one("#form-hint", Static)
        hint.update(Text(text))
        hint.set_class(bool(text), "-shown")

    def _devices_options(self) -> list[tuple[str, str]]:
        if self._devices is None:
            return [LOADING]
        options = [("auto", "auto")] + self._devices
        gpus = [spec for _, spec in self._devices if spec.startswith("cuda")]
        if len(gpus) > 1:  # a sweep can run one run per GPU at a time
            options.append((f"all {len(gpus)} GPUs, in parallel", ",".join(gpus)))
        return options

    def _device_value(self, wanted: str) -> str:
        """The device select's value for a wanted device: it if listed, else auto (or loading)."""
        if self._devices is None:
            self._wanted_device = wanted  # set once the runner has listed the devices
            return LOADING[1]
        return wanted if any(spec == wanted for _, spec in self._devices_options()) else "auto"

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        """(label, spec) pairs from core.training.devices, e.g. ("cuda:0 NVIDIA H100 80GB HBM3", "cuda:0")."""
        self._devices = devices
        if not self._built:
            return  # the select is built with them
        select = self.query_one("#f-device", Select)
        current = self._wanted_device or select.value
        self._wanted_device = None
        options = self._devices_options()
        select.set_options(options)
        select.value = current if any(spec == current for _, spec in options) else "auto"

    def values(self) -> dict[str, str]:
        self.ensure_fields()
        out = {}
        for field, _, _ in FIELDS:
            widget = self.query_one(f"#f-{field}")
            out[field] = widget.value if isinstance(widget, Input) else str(widget.value)
        if out["device"] == LOADING[1]:
            out["device"] = "auto"
        return out

    def load_config(self, config: RunConfig) -> str | None:
        """Fill every field and select from a configuration (to run a stored run again); returns
        the device it ran on when this machine does not list it (the select then says auto)."""
        if not self._built:
            self.ensure_fields(config)  # built with these values
        else:
            for field, _, _ in FIELDS:
                if field in PACKING_FIELDS:
                    continue  # not part of a run's configuration: left as set
                widget = self.query_one(f"#f-{field}")
                value = getattr(config, field)
                if isinstance(widget, Input):
                    widget.value = _text(value)
                else:
                    widget.value = self._device_value(value) if field == "device" else _choice_value(value)
        self._show_grid_size()
        listed = self._devices is None or any(spec == config.device for _, spec in self._devices_options())
        return None if listed else config.device

    def show_error(self, field: str, message: str | None) -> None:
        error = self.query_one(f"#e-{field}", Static)
        if message:
            self.errors[field] = message
            error.update(Text(f"↳ {message}"))  # the message quotes what was typed: never markup
        else:
            self.errors.pop(field, None)
            error.update("")
        error.set_class(bool(message), "-shown")

    def on_input_changed(self, event: Input.Changed) -> None:
        self._check_field((event.input.id or "")[2:], event.value)
        self._show_grid_size()

    def _check_field(self, field: str, text: str) -> None:
        """As typed: a list (a grid), or in search mode a range or a list, or one value."""
        try:
            if field == "trials":
                parse_trials(text)
            elif self.searching() and field in SEARCHABLE:
                parse_param(field, text)
            else:
                split_values(field, text) if field in SWEEP_FIELDS else parse_field(field, text)
            self.show_error(field, None)
        except ConfigError as bad:
            self.show_error(field, bad.message)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "f-search":  # what the fields may hold changed: check them again
            for field, _, choices in FIELDS:
                if choices is None and field != "device":
                    self._check_field(field, self.query_one(f"#f-{field}", Input).value)
        self._show_grid_size()

    def searching(self) -> bool:
        """Whether the form starts an Optuna search (its search select is on)."""
        return self._built and self.query_one("#f-search", Select).value not in ("off", Select.NULL)

    def _grid(self) -> tuple[dict[str, str], list[str] | None, int]:
        """The form's values with the device list (several devices: a parallel sweep) and the
        runs per device (and the search's fields) split off."""
        values = self.values()
        for field in PACKING_FIELDS[1:]:
            values.pop(field)
        chosen = values.pop("runs_per_device")
        per_device = int(chosen) if chosen.isdigit() else 1  # a select not mounted yet says Select.NULL
        devices = values["device"].split(",")
        if len(devices) > 1:
            values["device"] = devices[0]
        return values, devices if len(devices) > 1 else None, per_device

    def _show_grid_size(self) -> None:
        label = self.query_one("#grid-size", Static)
        try:
            values, devices, per_device = self._grid()
            if self.searching():
                space, trials = SearchSpace.parse(values), parse_trials(self.query_one("#f-trials", Input).value)
            else:
                configs = expand_grid(values)
        except ConfigError:
            label.update("")
            return
        at_once = len(devices or [""]) * per_device
        where = f", {at_once} at a time" if at_once > 1 else ""
        if self.searching():
            pruner = self.query_one("#f-search", Select).value
            # Optuna's MedianPruner waits for 5 completed trials (the CLI's --pruner-startup): say so where it never prunes.
            never = "; the median pruner prunes only after 5 completed trials" if pruner == "median" and trials <= 5 else ""
            label.update(Text(f"search: {trials} trials of {space.describe()}{where}{never}"))
            return
        seeds = len({c.seed for c in configs})
        repeats = f" ({len(configs) // seeds} configurations x {seeds} seeds)" if seeds > 1 else ""
        label.update(f"sweep: {len(configs)} runs{repeats}{where}" if len(configs) > 1 else "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            event.stop()
            self.submit()

    def submit(self) -> list[RunConfig] | None:
        """Validate everything; start only if every field (and their mix) is valid."""
        values, devices, per_device = self._grid()
        try:
            if self.searching():
                return self._submit_search(values, devices, per_device)
            configs = expand_grid(values)
            check_resume_path(configs[0].resume)
        except ConfigError as bad:
            self.show_error(bad.field, bad.message)
            self.query_one(f"#f-{bad.field}").focus()
            self.app.notify(f"not started: {bad}", severity="error", timeout=4)
            return None
        for field, _, _ in FIELDS:
            self.show_error(field, None)
        if len(configs) == 1 and not devices:
            self.post_message(self.StartRequested(configs[0]))
        else:
            sweep_id = new_sweep_id()
            configs = [c.with_values(sweep=sweep_id) for c in configs]
            self.post_message(self.SweepRequested(configs, devices, per_device))
        return configs

    def _submit_search(self, values: dict[str, str], devices: list[str] | None, per_device: int) -> list[RunConfig]:
        """An Optuna search of the form's ranges and lists (raises ConfigError naming a field)."""
        space = SearchSpace.parse(values)
        trials = parse_trials(self.query_one("#f-trials", Input).value)
        check_resume_path(space.base.resume)
        for field, _, _ in FIELDS:
            self.show_error(field, None)
        parallel = len(devices or [""]) * per_device
        self.post_message(self.SearchRequested(values, trials, str(self.query_one("#f-search", Select).value), parallel,
                                               new_study_name(), devices))
        return [space.base]

