"""Names as typed, everywhere (issue 17, item 4): CJK, emoji and combining accents in the table,
`mnist-tui runs`, `show` (found by any part of the name, Unicode-normalised, case-insensitive)
and the CSV (kept exactly); printing never fails where the terminal's encoding cannot show them.
Stored runs: no training."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time

import pytest

from core.config import RunConfig
from core.events import RunFailed
from core.comparison.export import csv_text
from core.runstore.results import load_records
from core.runstore.store import RunStore
from tests.screen_text import screen_lines
from tests.synthetic import write_run
from tui.app import create_app
from tui.cli import main

# As a user types them: CJK, emoji (one with a variation selector), an accent as a combining mark (NFD) beside a precomposed one.
NAMES = {
    "20261104-090000-d001-run": "日本語の実験",
    "20261104-091000-d002-run": "🚀 rocket ❤️ 🧪",
    "20261104-092000-d003-Ame-lie": "Ame\u0301lie caf\u00e9",
    "20261104-093000-d004-run": "中文名称很长的一个实验名字",
}
CLI = [sys.executable, "-m", "tui"]


@pytest.fixture
def named(tmp_path):
    store = RunStore(tmp_path / "runs")
    for index, (run_id, name) in enumerate(NAMES.items()):
        write_run(store, run_id, RunConfig(name=name, lr=0.001 * (index + 1)), [96.0 + index, 97.0 + index])
    nan = "loss became NaN at epoch 1, batch 10: try a lower learning rate"
    write_run(store, "20261104-094000-d005-run", RunConfig(name="失敗 💥", lr=9.0), [],
              end=lambda run_id, elapsed: RunFailed(run_id, "NonFiniteLoss", nan, 1.0))
    return tmp_path / "runs"


async def test_the_table_shows_names_as_typed(named):
    app = create_app(runs_dir=named, device_probe=lambda: [("cpu", "cpu")], warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        deadline = time.monotonic() + 20
        while len(app.state.records) < 5:
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        rows = [row[0] for row in app.dashboard.table.row_texts()]
        assert rows == [*NAMES.values(), "失敗 💥"]  # the cells hold them exactly (the long one is cut on screen only)
        screen = screen_lines(app)
        for name in ("日本語の実験", "🚀 rocket ❤️ 🧪", "Ame\u0301lie caf\u00e9", "失敗 💥"):
            assert any(line.startswith(f" ●  {name} ") for line in screen), name
        long = next(line for line in screen if line.startswith(" ●  中文名称很长"))
        assert "中文名称很长的一个 …" in long  # cut to its 20 cells with an ellipsis, never mid-character


def test_runs_shows_every_name(named, capsys):
    assert main(["runs", "--runs-dir", str(named)]) == 0
    out = capsys.readouterr().out
    for run_id, name in NAMES.items():
        assert name in out and run_id in out
    assert "失敗 💥" in out and "failed: loss became NaN" in out


@pytest.mark.parametrize("typed, run_id", [
    ("日本語", "20261104-090000-d001-run"),  # a part of a CJK name
    ("rocket ❤️", "20261104-091000-d002-run"),  # an emoji with its variation selector
    ("🧪", "20261104-091000-d002-run"),
    ("AMÉLIE", "20261104-092000-d003-Ame-lie"),  # precomposed and upper case, for a name stored with a combining accent
    ("cafe\u0301", "20261104-092000-d003-Ame-lie"),  # combining, for a precomposed one
    ("ｃａｆé", "20261104-092000-d003-Ame-lie"),  # full-width letters
    ("20261104-093000", "20261104-093000-d004-run"),  # an id's part still finds it
])
def test_show_finds_a_run_by_any_part_of_its_name(named, capsys, typed, run_id):
    assert main(["show", typed, "--runs-dir", str(named), "--digits", "0"]) == 0
    out = capsys.readouterr().out
    assert run_id in out and NAMES[run_id] in out


def test_show_says_which_runs_a_name_matches_when_several_do(named, capsys):
    assert main(["show", "C", "--runs-dir", str(named)]) == 1  # "rocket" and "café"
    err = capsys.readouterr().err
    assert "'C' matches 2 runs: 20261104-091000-d002-run (🚀 rocket ❤️ 🧪), 20261104-092000-d003-Ame-lie (Ame\u0301lie caf\u00e9)" in err


def test_the_csv_keeps_names_exactly(named, tmp_path):
    records, _ = load_records(RunStore(named))
    rows = list(csv.DictReader(io.StringIO(csv_text(records))))
    assert [row["name"] for row in rows] == [*NAMES.values(), "失敗 💥"]  # the combining accent stays a combining accent
    assert main(["export", str(tmp_path / "out.csv"), "--runs-dir", str(named)]) == 0
    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as handle:
        assert [row["name"] for row in csv.DictReader(handle)] == [*NAMES.values(), "失敗 💥"]


@pytest.mark.parametrize("environment", [{"PYTHONIOENCODING": "ascii"}, {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}])
def test_printing_never_fails_where_the_terminal_cannot_show_a_name(named, environment):
    import os

    env = {**os.environ, **environment}
    listing = subprocess.run([*CLI, "runs", "--runs-dir", str(named)], capture_output=True, env=env, timeout=60)
    assert listing.returncode == 0 and b"Traceback" not in listing.stderr, listing.stderr.decode()
    out = listing.stdout.decode("utf-8")
    if environment.get("PYTHONIOENCODING") == "ascii":
        assert "| ??????" in out and "Amelie caf?" in out  # a `?` a cell: the table stays aligned
        widths = {len(line) for line in out.splitlines()[1:] if line.startswith(("|", "+"))}
        assert len(widths) == 1, widths
    shown = subprocess.run([*CLI, "show", "日本語", "--runs-dir", str(named), "--digits", "0"], capture_output=True, env=env, timeout=60)
    assert shown.returncode == 0 and b"Traceback" not in shown.stderr and b"20261104-090000-d001-run" in shown.stdout
    missing = subprocess.run([*CLI, "show", "存在しない", "--runs-dir", str(named)], capture_output=True, env=env, timeout=60)
    assert missing.returncode == 1 and b"Traceback" not in missing.stderr and b"no run matches" in missing.stderr
    exported = subprocess.run([*CLI, "export", "-", "--runs-dir", str(named)], capture_output=True, env=env, timeout=60)
    assert exported.returncode == 0  # the CSV is UTF-8 whatever the terminal: the names exactly
    assert [row["name"] for row in csv.DictReader(io.StringIO(exported.stdout.decode("utf-8")))] == [*NAMES.values(), "失敗 💥"]
