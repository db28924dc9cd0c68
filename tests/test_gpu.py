"""On a GPU server: the CUDA paths, run for real (`pytest -m gpu`; skipped where there is no CUDA GPU).

Written before any of it could run on a GPU: benchmarks/gpu_check.sh runs these first on a
machine that has one, and its figures go in benchmarks/README.md.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from core.training.checkpoint import load_checkpoint
from core.config import RunConfig
from core.events import RunFailed, RunFinished
from core.runstore.results import RunRecord
from core.runstore.store import RunStore, read_run
from core.training.trainer import run_events
from tests.test_dashboard import make_app, wait_for

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

ONE_EPOCH = RunConfig(train_size=12800, test_size=2000, epochs=1, lr=0.01, log_every=50)
CLI = [sys.executable, "-m", "tui"]


def accuracy_of(config, data_dir, **kwargs) -> float:
    events = list(run_events(config, "gpu", data_dir=data_dir, **kwargs))
    assert isinstance(events[-1], RunFinished), events[-1]
    return events[-1].final_accuracy


def test_one_epoch_on_cuda_reaches_the_cpu_runs_accuracy(data_dir):
    on_gpu = accuracy_of(ONE_EPOCH.with_values(device="cuda"), data_dir)
    on_cpu = accuracy_of(ONE_EPOCH.with_values(device="cpu"), data_dir)
    assert abs(on_gpu - on_cpu) * 100 <= 0.5, (on_gpu, on_cpu)


def test_two_seeded_gpu_runs_agree_to_a_tenth_of_a_point(data_dir):
    first = accuracy_of(ONE_EPOCH.with_values(device="cuda"), data_dir)
    second = accuracy_of(ONE_EPOCH.with_values(device="cuda"), data_dir)
    assert abs(first - second) * 100 <= 0.1


def test_a_parallel_sweep_over_every_gpu_records_every_run(runs_dir):
    count = torch.cuda.device_count()
    devices = ",".join(f"cuda:{i}" for i in range(count)) if count > 1 else "cuda:0,cuda:0"
    result = subprocess.run(
        [*CLI, "sweep", "--lr", "0.01,0.02,0.03,0.04", "--train-size", "6400", "--test-size", "1000", "--epochs", "1",
         "--devices", devices, "--runs-dir", str(runs_dir)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    stored = [read_run(folder) for folder in runs_dir.iterdir()]
    assert len(stored) == 4 and all(s.events[-1].kind == "run_finished" for s in stored)
    assert {s.events[0].device for s in stored} <= {f"cuda:{i}" for i in range(count)}


def test_running_out_of_gpu_memory_fails_the_run_with_advice(data_dir):
    torch.cuda.set_per_process_memory_fraction(0.0005)  # about 40 MiB of an 80 GiB card
    try:
        *_, failed = run_events(ONE_EPOCH.with_values(device="cuda", batch_size=4096, train_size=None), "oom", data_dir=data_dir)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    assert isinstance(failed, RunFailed) and "smaller batch size" in failed.message


async def test_out_of_memory_in_the_dashboard_fails_that_run_and_the_queue_goes_on(runs_dir, monkeypatch):
    monkeypatch.setenv("MNIST_TUI_GPU_MEMORY_FRACTION", "0.0005")  # read by the runners, not by the dashboard
    app = make_app(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        app.dashboard.start_sweep([ONE_EPOCH.with_values(device="cuda", batch_size=4096, train_size=None, name="too big")])
        monkeypatch.delenv("MNIST_TUI_GPU_MEMORY_FRACTION")  # the next run's runner starts without the cap
        app.dashboard.start_sweep([ONE_EPOCH.with_values(device="cpu", train_size=640, name="next")])
        too_big, following = app.state.records.values()
        await wait_for(pilot, lambda: too_big.status == "failed", timeout=120)
        assert "smaller batch size" in too_big.message
        await wait_for(pilot, lambda: following.status == "done", timeout=120)


def test_a_checkpoint_written_on_cuda_resumes_on_cpu_and_back(data_dir, tmp_path):
    on_gpu = tmp_path / "gpu.pt"
    *_, finished = run_events(ONE_EPOCH.with_values(device="cuda"), "a", data_dir=data_dir, checkpoint_path=on_gpu)
    started = next(run_events(ONE_EPOCH.with_values(device="cpu", resume=str(on_gpu)), "b", data_dir=data_dir))
    assert started.start_accuracy == pytest.approx(finished.final_accuracy, abs=0.002)
    on_cpu = tmp_path / "cpu.pt"
    list(run_events(ONE_EPOCH.with_values(device="cpu", resume=str(on_gpu)), "c", data_dir=data_dir, checkpoint_path=on_cpu))
    again = next(run_events(ONE_EPOCH.with_values(device="cuda", resume=str(on_cpu)), "d", data_dir=data_dir))
    assert again.device.startswith("cuda") and again.start_accuracy == pytest.approx(load_checkpoint(on_cpu)["accuracy"], abs=0.002)


def test_the_device_panel_and_show_name_the_gpu_and_its_memory(runs_dir, data_dir):
    from rich.console import Console

    from core.execution.session import recorded_run
    from tui.device_info import device_report

    list(recorded_run(ONE_EPOCH.with_values(device="cuda"), "20260101-000000-000-0000abcd-gpu", store=RunStore(runs_dir), data_dir=data_dir))
    record = RunRecord.from_stored(read_run(runs_dir / "20260101-000000-000-0000abcd-gpu"))
    name = torch.cuda.get_device_name(0)
    console = Console(width=120, record=True)
    console.print(device_report(record, None))
    panel = console.export_text()
    assert name in panel and "GiB in use of" in panel
    shown = subprocess.run([*CLI, "show", "gpu", "--runs-dir", str(runs_dir)], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "COLUMNS": "200"})
    assert shown.returncode == 0 and name in shown.stdout


def test_a_device_beyond_the_last_gpu_is_a_clear_usage_error():
    result = subprocess.run([*CLI, "train", "--device", f"cuda:{torch.cuda.device_count()}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--device:" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_compiled_training_on_cuda_matches_eager(data_dir):
    eager = accuracy_of(ONE_EPOCH.with_values(device="cuda"), data_dir)
    compiled = accuracy_of(ONE_EPOCH.with_values(device="cuda", compile=True), data_dir)
    assert abs(eager - compiled) * 100 <= 0.5, (eager, compiled)
