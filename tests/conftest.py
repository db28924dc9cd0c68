"""Shared fixtures: the real MNIST from ../shared (read-only), and throwaway runs folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Several test files run at once (make test: pytest-xdist). Torch then trains on one thread per
    # worker, in this process and in every runner it starts, so two workers on two cores load the
    # machine as one serial run did, and a test's time limits mean what they did.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
DATA_DIR = Path(os.environ.get("MNIST_TUI_DATA") or REPO.parent / "shared" / "datasets")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
        pytest.fail(f"real MNIST not found under {DATA_DIR}; set MNIST_TUI_DATA (see README)")
    return DATA_DIR


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch, data_dir):
    """Every test records into its own runs folder and reads MNIST from the shared copy."""
    monkeypatch.setenv("MNIST_TUI_DATA", str(data_dir))
    monkeypatch.setenv("MNIST_TUI_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def runs_dir(tmp_path) -> Path:
    return tmp_path / "runs"


@pytest.fixture(autouse=True)
def _no_runner_outlives_its_test(tmp_path):
    """Runs keep training after a dashboard exits, by design; a test's runners end with the test.

    Both kinds: those this process started, and those a dashboard in another process (a pty
    test) started, found by the runner.json of every live run in the test's runs folder.
    """
    import signal

    from core.execution import launcher
    from core.execution.control import ControlError, runner_of
    from core.runstore.liveness import is_live, process_start_time

    yield
    for runner in launcher.STARTED:
        if runner.exit_code() is None:
            runner.process.kill()
            runner.process.wait(timeout=10)
        runner.release()
    launcher.STARTED.clear()
    for folder in (tmp_path / "runs").glob("*"):
        try:
            info = runner_of(folder)
        except ControlError:
            continue
        if info["pid"] != os.getpid() and is_live(folder) and process_start_time(info["pid"]) == info.get("start_time"):
            os.kill(info["pid"], signal.SIGKILL)


@pytest.fixture
def utc(monkeypatch):
    """Start times show in the viewer's time zone: a test that reads them (a snapshot) sees UTC."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
