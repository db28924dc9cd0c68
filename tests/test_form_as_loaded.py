"""The form as loaded (issue 17, item 5): `r` fills every field and select with the run's own
values, on a form built for it and on one already open; `n` on an open form goes back to its
first field instead of typing (in the name and resume fields it types). Stored runs: no training."""

from __future__ import annotations


import pytest
from textual.widgets import Input, Select

from core.config import RunConfig
from core.runstore.store import RunStore
from tests.screen_text import screen_lines
from tests.synthetic import write_run
from tui.app import create_app
from tui.widgets.dashboard_screen import DashboardScreen
from tui.widgets.results_table import ResultsTable
from tui.widgets.run_form import FIELDS, PACKING_FIELDS
from tests.test_dashboard import cpu_only, wait_for as until

# One stored run per model, optimizer, schedule and dataset, each with every other field off its default.
VARIANTS = [
    ("20261103-090000-c001-mlp", RunConfig(model="mlp", optimizer="adam", schedule="cosine", dataset="fashion-mnist", lr=0.0003,
                                           batch_size=256, epochs=3, momentum=0.5, weight_decay=0.0001, seed=7, train_size=6400,
                                           test_size=1000, log_every=20, name="mlp adam cosine", tensorboard=True, device="cpu")),
    ("20261103-091000-c002-cnn", RunConfig(model="cnn", optimizer="sgd", schedule="onecycle", dataset="kmnist", lr=0.05,
                                           batch_size=32, epochs=2, momentum=0.95, seed=3, compile=True, name="cnn onecycle")),
    ("20261103-092000-c003-step", RunConfig(model="mlp", optimizer="sgd", schedule="step", lr=0.0012345678, batch_size=100,
                                            epochs=4, device="cuda:0", name="step, odd lr")),
    ("20261103-093000-c004-const", RunConfig(model="cnn", optimizer="adam", schedule="constant", name="cnn adam")),
]


def shown(select: Select) -> str:
    """What a select shows (its current option's prompt, or its placeholder)."""
    return str(select.query_one("SelectCurrent #label").render())


def prompt_of(select: Select, value) -> str:
    return next(str(prompt) for prompt, v in select._options if v == value)


@pytest.fixture
def variants(tmp_path):
    store = RunStore(tmp_path / "runs")
    for run_id, config in VARIANTS:
        write_run(store, run_id, config, [90.0, 95.0][: config.epochs])
    return tmp_path / "runs"


async def test_r_fills_every_field_and_select_with_the_runs_values(variants):
    app = create_app(runs_dir=variants, device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == len(VARIANTS) and app.query_one("#form")._devices is not None)
        table = app.query_one("#table", ResultsTable)
        for row, (run_id, config) in enumerate(VARIANTS):  # the first builds the form, the rest refill it
            await pilot.press("escape")
            table.focus()
            table.move_cursor(row=row, column=1)
            await pilot.press("r")
            await pilot.pause()
            assert app.dashboard.form_open
            for field, label, choices in FIELDS:
                if field in PACKING_FIELDS:
                    continue  # not a run's configuration
                widget = app.query_one(f"#f-{field}")
                value = getattr(config, field)
                if isinstance(widget, Input):
                    if isinstance(value, float):  # the number exactly, written short (0.001, 0.0012345678)
                        assert float(widget.value) == value and len(widget.value) <= len(repr(value)), (config.name, field, widget.value)
                    else:
                        assert widget.value == ("" if value is None else str(value)), (config.name, field)
                elif field == "device":  # this machine lists only the CPU: a GPU run's device falls back to auto
                    want = config.device if config.device in ("auto", "cpu") else "auto"
                    assert (widget.value, shown(widget)) == (want, want), config.name
                else:
                    want = ("on" if value else "off") if isinstance(value, bool) else value
                    assert widget.value == want and shown(widget) == prompt_of(widget, want) != "Select", (config.name, field, shown(widget))
            screen = screen_lines(app)  # on screen too, not only in the widgets
            for field, label in (("model", "model"), ("dataset", "dataset"), ("optimizer", "optimizer"), ("schedule", "lr schedule")):
                assert any(line.split("▼")[0].split() == [*label.split(), getattr(config, field)] for line in screen), (config.name, field, screen)
            if config.name == "step, odd lr":
                assert app.query_one("#f-lr").value == "0.0012345678"


async def test_enter_on_a_loaded_form_queues_the_runs_configuration(variants, monkeypatch):
    app = create_app(runs_dir=variants, device_probe=cpu_only, warm=False)
    started = []
    monkeypatch.setattr(DashboardScreen, "start_sweep", lambda self, configs, devices=None: started.extend(configs) or [])
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.records) == len(VARIANTS) and app.query_one("#form")._devices is not None)
        await pilot.press("r")  # the cursor starts on the first row
        await pilot.pause()
        await pilot.press("enter")  # in the learning rate: starts it
        await until(pilot, lambda: started)
        assert started == [VARIANTS[0][1]]


async def test_n_on_an_open_form_goes_to_the_first_field_instead_of_typing(tmp_path):
    app = create_app(runs_dir=tmp_path / "runs", device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.focused is not None and app.focused.id == "f-lr")  # a first start
        await until(pilot, lambda: "n New" in footer_text(app), timeout=5)  # the footer offers n where the cursor is
        await pilot.press("n")
        await pilot.pause()
        assert app.focused.id == "f-lr" and app.query_one("#f-lr").value == "0.001"
        await pilot.press("tab", "tab", "n")  # from the epochs field
        await pilot.pause()
        assert app.focused.id == "f-lr" and app.query_one("#f-epochs").value == "5"
        app.query_one("#f-model").focus()
        await pilot.press("n")  # from a select
        await pilot.pause()
        assert app.focused.id == "f-lr"
        app.query_one("#f-name").focus()
        await pilot.press("n", "a", "n", "o")  # a name: every key types
        await pilot.pause()
        assert app.focused.id == "f-name" and app.query_one("#f-name").value == "nano"


def footer_text(app) -> str:
    return screen_lines(app)[-1]
