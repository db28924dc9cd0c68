"""The learning-rate range test (part of the search issue): on the seed CNN and real MNIST it
suggests a rate in the range the report found good; bad flags are refused, naming the flag."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from core.training.lr_find import LrPoint, rates, suggest
from core.training.lr_find_process import Done, Failed, Point, read_line
from tests.screen_text import screen_lines
from tests.test_dashboard import cpu_only
from tests.waiting import dashboard_composed, wait_for, wait_until
from tui.app import create_app
from tui.widgets.lr_find_screen import LrChart, LrFindScreen

pytestmark = pytest.mark.timeout(180)


def test_rates_rise_geometrically_from_start_to_end():
    steps = rates(1e-6, 1.0, 100)
    assert steps[0] == pytest.approx(1e-6) and steps[-1] == pytest.approx(1.0) and len(steps) == 100
    assert len({round(b / a, 9) for a, b in zip(steps, steps[1:])}) == 1


def test_the_suggestion_is_the_steepest_descent_of_the_smoothed_loss():
    lrs = rates(1e-4, 1.0, 41)
    # flat, then falling fastest around 1e-2, then rising
    curve = [2.3 - 1.5 / (1 + (1e-2 / lr) ** 3) + (5 * lr if lr > 0.1 else 0) for lr in lrs]
    points = [LrPoint(k + 1, lr, loss, loss) for k, (lr, loss) in enumerate(zip(lrs, curve))]
    assert suggest(points) == pytest.approx(1e-2, rel=0.3)
    assert suggest(points[:12]) is None  # too few points after trimming


def test_lr_find_on_the_seed_cnn_suggests_a_rate_near_the_reports_best(data_dir):
    result = subprocess.run([sys.executable, "-m", "tui", "lr-find", "--device", "cpu", "--train-size", "12800"],
                            capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stderr
    line = result.stdout.splitlines()[-1]
    assert line.startswith("suggested learning rate: ") and "steepest descent of the smoothed loss" in line
    assert 0.003 <= float(line.split(": ")[1].split()[0]) <= 0.3  # the report's best was 0.01


@pytest.mark.parametrize("args,words", [
    (["--start-lr", "1e-1", "--end-lr", "1e-4"], "--start-lr: must be below --end-lr"),
    (["--start-lr", "abc"], "--start-lr: must be a number"),
    (["--end-lr", "0"], "--end-lr: must be above 0"),
    (["--batches", "1"], "--batches: must be from 2 to 10000"),
    (["--batch-size", "0"], "--batch-size:"),
])
def test_bad_flags_are_refused_naming_the_flag(args, words):
    result = subprocess.run([sys.executable, "-m", "tui", "lr-find", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and words in result.stderr, result.stderr


# ----- the form action: ctrl+l in the dashboard's form (tui.widgets.lr_find_screen) -------------------------

def _gone(pid: int) -> bool:
    """The process has exited and been reaped (no zombie left either)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def _open_the_test(pilot, app, **fields):
    """The form opened, its fields set as typed, then ctrl+l: the range test's screen."""
    await dashboard_composed(pilot)
    await pilot.press("n")
    await wait_for(pilot, lambda: app.query_one("#form")._devices is not None, 30, "the device list")
    for field, text in fields.items():
        widget = app.query_one(f"#f-{field}")
        widget.value = text
    await pilot.pause()
    await pilot.press("ctrl+l")
    await wait_for(pilot, lambda: isinstance(app.screen, LrFindScreen), 10, "the range test's screen")
    return app.screen


async def test_the_form_action_suggests_a_rate_from_real_mnist_and_u_puts_it_into_the_form(runs_dir):
    app = create_app(runs_dir=runs_dir, device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_the_test(pilot, app, train_size="12800", device="cpu", lr="0.1,abc")  # a wrong lr does not matter
        await wait_for(pilot, lambda: len(screen.points) >= 10, 120, "the first points")
        assert screen.query_one(LrChart).points and "batch " in "\n".join(screen_lines(app))  # drawn live
        await wait_for(pilot, lambda: screen.result is not None or screen.error is not None, 150, "the suggestion")
        assert screen.error is None and screen.suggestion is not None
        rate = screen.suggestion
        assert 0.003 <= rate <= 0.3  # the report's best was 0.01
        text = " ".join(screen_lines(app))
        assert f"suggested learning rate: {rate:.3g}" in text and "steepest descent of the smoothed loss" in text
        assert "┊" in text  # the suggestion marked on the chart
        pid = screen.process.pid
        await pilot.press("u")
        await wait_for(pilot, lambda: not isinstance(app.screen, LrFindScreen), 10, "the screen to close")
        field = app.query_one("#f-lr")
        assert field.value == f"{rate:.3g}" and 0.003 <= float(field.value) <= 0.3
        assert app.focused is field and not app.query_one("#form").errors.get("lr")
        await wait_for(pilot, lambda: _gone(pid), 10, "the finished test's process to be reaped")
        assert app.state.records == {} and not (runs_dir.exists() and any(p.is_dir() for p in runs_dir.iterdir()))  # not a run


async def test_escape_stops_the_test_and_its_process(runs_dir):
    app = create_app(runs_dir=runs_dir, device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        # Batches of 512: the test's 100 batches take long enough that esc comes while it trains (with batches of 64 a loaded
        # machine let it finish first: a SIGTERM during its exit killed it with -15, neither stopped nor finished).
        screen = await _open_the_test(pilot, app, train_size="6400", device="cpu", batch_size="512")
        await wait_for(pilot, lambda: screen.points, 120, "the test to train")
        pid = screen.process.pid
        await pilot.press("escape")
        assert not isinstance(app.screen, LrFindScreen) and app.query_one("#f-lr").value == "0.001"  # the form as it was
        await wait_for(pilot, lambda: _gone(pid), 10, f"the test's process {pid} to end")
        assert screen.process.returncode in (128 + signal.SIGTERM, -signal.SIGKILL)  # stopped, not finished


async def test_quitting_the_dashboard_while_the_test_runs_ends_its_process(runs_dir):
    app = create_app(runs_dir=runs_dir, device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_the_test(pilot, app, train_size="6400", device="cpu")
        await wait_for(pilot, lambda: screen.process is not None, 10, "the test's process")
        pid = screen.process.pid
    wait_until(lambda: _gone(pid), 10, f"the test's process {pid} to end with the dashboard")
    assert screen.process.returncode in (128 + signal.SIGTERM, -signal.SIGKILL)  # stopped, not finished


def _truncated_mnist(folder: Path) -> Path:
    raw = folder / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(struct.pack(">4i", 2051, 60_000, 28, 28) + b"\0" * 1000)  # cut short
    (raw / "train-labels-idx1-ubyte").write_bytes(struct.pack(">2i", 2049, 60_000) + b"\0" * 60_000)
    return folder


async def test_data_it_cannot_read_and_a_bad_field_are_shown_in_words(runs_dir, tmp_path):
    data = _truncated_mnist(tmp_path / "data [red]x[/red]")  # a path is shown as typed, never as markup
    app = create_app(runs_dir=runs_dir, data_dir=data, device_probe=cpu_only, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_the_test(pilot, app, device="cpu")
        await wait_for(pilot, lambda: screen.error is not None, 120, "the data error")
        # The error is set before its paint, and its lines take a layout pass (a loaded machine showed "error:" alone once).
        await wait_for(pilot, lambda: "truncated" in " ".join(screen_lines(app)), 10, "the error's words on the screen")
        lines = screen_lines(app)
        text = " ".join(lines)
        assert "error:" in text and "truncated" in text, text
        assert any("[red]x[/red]/MNIST/raw" in line for line in lines), lines  # the folder's name as it is
        assert "u or enter" not in text
        await pilot.press("u")  # nothing to use: the screen stays
        assert isinstance(app.screen, LrFindScreen)
        await pilot.press("escape")
        screen = await _open_the_test(pilot, app, batch_size="0")
        assert screen.process is None  # refused before anything starts
        assert "batch size: must be between 1 and 60,000, got 0" in " ".join(screen_lines(app))


def test_the_process_says_what_is_wrong_in_one_line():
    result = subprocess.run([sys.executable, "-m", "core.training.lr_find_process", json.dumps({"batches": 1})],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and json.loads(result.stdout) == {"error": "batches: must be a whole number from 2 to 10000, not 1"}


@pytest.mark.parametrize("line", [
    b'{"point": {"batch": 1, "lr": NaN, "loss": 2.3, "smoothed": 2.3}}',
    b'{"point": {"batch": true, "lr": 0.1, "loss": 2.3, "smoothed": 2.3}}',
    b'{"point": {"batch": 1, "lr": -1, "loss": 2.3, "smoothed": 2.3}}',
    b'{"point": {"batch": 1, "lr": "0.1", "loss": 2.3, "smoothed": 2.3}}',
    b'{"suggestion": Infinity, "rule": "r", "stopped_early": false}',
    b'{"suggestion": 0.01, "rule": 3, "stopped_early": false}',
    b'{"error": ""}', b'[1, 2]', b'\xff\xfe', b'not json', b'{"point": 1}',
    b'{"error": "' + b"x" * 5000 + b'"}',
])
def test_a_line_that_is_not_one_of_the_messages_is_ignored(line):
    assert read_line(line) is None


def test_the_three_messages_are_read():
    assert read_line(b'{"point": {"batch": 3, "lr": 1e-5, "loss": 2.3, "smoothed": 2.2}}\n') == Point(3, 1e-5, 2.3, 2.2)
    assert read_line(b'{"suggestion": null, "rule": "r", "stopped_early": true}') == Done(None, "r", True)
    assert read_line(b'{"error": "no\\ndata"}') == Failed("no data")


# A stand-in for the test's process: the same lines, from a made-up curve, in no time (the picture does not
# depend on this machine's floating point or speed).
FAKE_CHILD = """
import json, math, sys
request = json.loads(sys.argv[1])
n, lo, hi = request["batches"], math.log10(request["start_lr"]), math.log10(request["end_lr"])
average, best = 0.0, math.inf
for k in range(n):
    lr = 10 ** (lo + (hi - lo) * k / (n - 1))
    loss = 2.3 - 1.9 / (1 + (1e-2 / lr) ** 1.5) + (60 * lr if lr > 0.05 else 0)
    average = 0.9 * average + 0.1 * loss
    smoothed = average / (1 - 0.9 ** (k + 1))
    best = min(best, smoothed)
    print(json.dumps({"point": {"batch": k + 1, "lr": lr, "loss": loss, "smoothed": smoothed}}), flush=True)
    if smoothed > 4 * best:
        break
print(json.dumps({"suggestion": 0.0123, "rule": "steepest descent of the smoothed loss (Smith 2017; fastai lr_find)", "stopped_early": True}))
"""


def test_the_finished_test_at_80x24(snap_compare, tmp_path, monkeypatch):
    """The curve on its log axis, the suggestion marked (┊) and named with its rule, and the keys."""
    from tui.widgets import lr_find_screen

    monkeypatch.setattr(lr_find_screen, "COMMAND", [sys.executable, "-c", FAKE_CHILD])
    app = create_app(runs_dir=tmp_path / "runs", device_probe=cpu_only, warm=False)

    async def run_before(pilot):
        screen = await _open_the_test(pilot, app, train_size="12800")
        await wait_for(pilot, lambda: screen.result is not None and not screen.query_one(LrChart)._dirty, 20, "the fake test")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_the_range_test_takes_the_low_end_of_a_search_range_and_the_first_of_a_list():
    from tui.widgets.lr_find_screen import range_test_config

    config = range_test_config({"batch_size": "32:128", "momentum": "0.8:0.99", "optimizer": "sgd,adam", "model": "cnn"})
    assert (config.batch_size, config.momentum, config.optimizer) == (32, 0.8, "sgd")
