"""The run form: every RunConfig field, validated as you type by the CLI's own parser."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static

from core.config import DATASETS, MODELS, OPTIMIZERS, SCHEDULES, ConfigError, RunConfig, parse_config, parse_field

# (field, label, choices or None for a text input)
FIELDS: list[tuple[str, str, tuple[str, ...] | None]] = [
    ("model", "model", MODELS),
    ("dataset", "dataset", DATASETS),
    ("lr", "learn rate", None),
    ("batch_size", "batch size", None),
    ("epochs", "epochs", None),
    ("optimizer", "optimizer", OPTIMIZERS),
    ("momentum", "momentum", None),
    ("schedule", "lr schedule", SCHEDULES),
    ("weight_decay", "weight decay", None),
    ("seed", "seed", None),
    ("device", "device", None),  # a select whose options arrive once torch has loaded
    ("train_size", "train subset", None),
    ("test_size", "test subset", None),
    ("log_every", "log every", None),
    ("name", "name", None),
    ("resume", "resume from", None),  # a checkpoint path, e.g. runs/<id>/checkpoint.pt
]
class FormSelect(Select):
    """A Select that leaves up/down to form navigation; enter or space opens its list."""

    BINDINGS = [
        Binding("down", "app.focus_next", "Next field", show=False),
        Binding("up", "app.focus_previous", "Previous field", show=False),
    ]


LOADING = ("auto (loading torch…)", "loading")  # until devices are known; starts as auto


def _text(value) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


class RunForm(VerticalScroll):
    # Up/down move between fields as in most forms (Selects keep theirs: they open the list).
    BINDINGS = [
        Binding("down", "app.focus_next", "Next field", show=False),
        Binding("up", "app.focus_previous", "Previous field", show=False),
    ]

    @dataclass
    class StartRequested(Message):
        """The user asked to start (or queue) a run with this configuration."""

        config: RunConfig

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        defaults = RunConfig()
        yield Static("New run [dim]· enter starts[/]", classes="form-title")
        for field, label, choices in FIELDS:
            with Horizontal(classes="form-row"):
                yield Label(label, classes="form-label")
                if field == "device":
                    yield FormSelect([LOADING], value=LOADING[1], allow_blank=False, compact=True, id=f"f-{field}")
                elif choices:
                    yield FormSelect([(c, c) for c in choices], value=getattr(defaults, field), allow_blank=False, compact=True, id=f"f-{field}")
                else:
                    placeholder = {"train_size": "all", "test_size": "all", "resume": "checkpoint path"}.get(field, "")
                    yield Input(_text(getattr(defaults, field)), placeholder=placeholder, compact=True, id=f"f-{field}")
            yield Static("", classes="form-error", id=f"e-{field}")
        yield Button("Start", id="start", variant="primary", compact=True)

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        """(label, spec) pairs from core.devices, e.g. ("cuda:0 NVIDIA H100 80GB HBM3", "cuda:0")."""
        select = self.query_one("#f-device", Select)
        current = select.value
        options = [("auto", "auto")] + devices
        select.set_options(options)
        select.value = current if any(spec == current for _, spec in options) else "auto"

    def values(self) -> dict[str, str]:
        out = {}
        for field, _, _ in FIELDS:
            widget = self.query_one(f"#f-{field}")
            out[field] = widget.value if isinstance(widget, Input) else str(widget.value)
        if out["device"] == LOADING[1]:
            out["device"] = "auto"
        return out

    def load_config(self, config: RunConfig) -> None:
        """Fill the form from a configuration (to run a stored run again)."""
        for field, _, choices in FIELDS:
            widget = self.query_one(f"#f-{field}")
            value = getattr(config, field)
            if isinstance(widget, Input):
                widget.value = _text(value)
            elif field != "device" or any(spec == value for _, spec in widget._options):
                widget.value = value

    def show_error(self, field: str, message: str | None) -> None:
        error = self.query_one(f"#e-{field}", Static)
        if message:
            self.errors[field] = message
            error.update(f"↳ {message}")
        else:
            self.errors.pop(field, None)
            error.update("")
        error.set_class(bool(message), "-shown")

    def on_input_changed(self, event: Input.Changed) -> None:
        field = (event.input.id or "")[2:]
        try:
            parse_field(field, event.value)
            self.show_error(field, None)
        except ConfigError as bad:
            self.show_error(field, bad.message)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            event.stop()
            self.submit()

    def submit(self) -> RunConfig | None:
        """Validate everything; start only if every field (and their mix) is valid."""
        try:
            config = parse_config(self.values())
        except ConfigError as bad:
            self.show_error(bad.field, bad.message)
            self.query_one(f"#f-{bad.field}").focus()
            self.app.notify(f"not started: {bad}", severity="error", timeout=4)
            return None
        for field, _, _ in FIELDS:
            self.show_error(field, None)
        self.post_message(self.StartRequested(config))
        return config
