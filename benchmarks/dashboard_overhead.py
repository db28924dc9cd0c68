"""What the dashboard costs training, and how fast it shows a run, as users run it: with runners.

Training speed: the same run trained by a runner process with nobody watching (as `mnist-tui
train` under nohup) and by a runner the dashboard started and follows (Textual's headless mode:
messages, table, charts and log all updating), alternating rounds. samples/s comes from the
run's own batch_logged events (the first window, warm-up, left out). Prints the ratio of medians.

Also: the time from `enter` (a run submitted) to its run_started event on screen, with the
warm runner ready and with none (cold: the runner imports torch first), the event-to-screen
delay: from an event's wall time (started_at + elapsed) to the UI tick that draws it, and the
time a chart takes to redraw after `[` switches its metric, with 20 stored runs of 2,000 logged
batches each (every metric in turn; goal under 150 ms).

    python benchmarks/dashboard_overhead.py --model mlp --train-size 60000 --epochs 2 --log-every 100
    python benchmarks/dashboard_overhead.py --train-size 12800 --log-every 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import RunConfig


def throughput(log: Path) -> float:
    events = [json.loads(line) for line in log.read_text().splitlines()]
    windows = [e for e in events if e["event"] == "batch_logged"][1:]
    return statistics.mean(e["samples_per_sec"] for e in windows) if windows else float("nan")


def headless(config: RunConfig) -> float:
    """A runner process with nobody watching."""
    with tempfile.TemporaryDirectory() as runs:
        job = {"runs_dir": runs, "data_dir": None, "jobs": [{"run_id": "bench", "config": config.to_dict()}], "after": []}
        subprocess.run([sys.executable, "-m", "core.execution.runner"], input=json.dumps(job) + "\n", text=True, stdout=subprocess.DEVNULL, check=True)
        return throughput(Path(runs) / "bench" / "events.jsonl")


async def with_dashboard(config: RunConfig, warm: bool = True) -> dict:
    """A run started from the dashboard: its throughput, enter -> run_started on screen, event-to-screen delays."""
    from tui.app import create_app

    with tempfile.TemporaryDirectory() as runs:
        app = create_app(runs_dir=runs, device_probe=lambda: [("cpu", "cpu")])
        delays: list[float] = []
        async with app.run_test(size=(120, 40)) as pilot:
            launcher = app.executor.launcher
            while launcher.spare is None:
                await pilot.pause(0.05)
            if warm:
                await asyncio.to_thread(launcher.spare.ready)  # torch imported, waiting for its job
            else:
                launcher.spare.release()
                launcher.spare = None  # the run gets a fresh runner: the cold path
            table, drawn = app.query_one("#table"), {}
            update_row = table.update_run

            def timed_update(record):  # the UI tick drawing a run's new events
                if record.last_batch is not None and drawn.get(record.run_id) != record.last_batch.step and record.started_at:
                    drawn[record.run_id] = record.last_batch.step
                    delays.append(time.time() - (record.started_at + record.last_batch.elapsed))
                update_row(record)

            table.update_run = timed_update
            t0 = time.perf_counter()
            (run_id,) = app.dashboard.start_sweep([config])
            record = app.state.records[run_id]
            while record.batches_per_epoch is None and not record.finished:
                await asyncio.sleep(0.01)
            to_started = time.perf_counter() - t0
            cpu0, wall0 = time.process_time(), time.perf_counter()  # the dashboard process's own CPU
            while not record.finished:
                await asyncio.sleep(0.1)
            cpu_share = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        return {"samples": throughput(Path(runs) / run_id / "events.jsonl"), "to_started": to_started, "delays": delays, "cpu_share": cpu_share}


def write_many_runs(runs_dir: Path, runs: int = 20, points: int = 2000) -> None:
    """`runs` finished runs of `points` batch_logged events each (10 epochs), a device sample
    every 10 batches: what a user comparing twenty long runs has in the runs folder."""
    from core.events import BatchLogged, DeviceSampled, EpochEnded, RunFinished, RunStarted
    from core.runstore.store import RunStore

    store, per_epoch = RunStore(runs_dir), points // 10
    for k in range(runs):
        run_id = f"20261105-{k:06d}-f{k:03d}-bench"
        config = RunConfig(name=f"run {k}", lr=0.001 * (k + 1))
        events = [RunStarted(run_id, config.to_dict(), "cuda:0", "NVIDIA H100 80GB HBM3", 21_840, 60_000, 10_000, per_epoch, 1.8e9)]
        for step in range(1, points + 1):
            epoch, batch = (step - 1) // per_epoch + 1, (step - 1) % per_epoch + 1
            events.append(BatchLogged(run_id, epoch, batch, step, 2.0 / (1 + step / (50 + k)), 40_000.0 + step % 97, step * 0.1, config.lr))
            if step % 10 == 0:
                events.append(DeviceSampled(run_id, "cuda:0", "NVIDIA H100 80GB HBM3", (20 + k) * 2**30, 80 * 2**30, 2**30, 60.0 + step % 30,
                                            50.0, 250.0 + step % 50, step * 0.1, 100.0 + step % 7, 3 * 2**30))
            if batch == per_epoch:
                events.append(EpochEnded(run_id, epoch, 0.9 + epoch / 120 - k / 1000, 0.3 / epoch, 0.4 / epoch, 20.0, step * 0.1))
        events.append(RunFinished(run_id, 0.98, 0.98, points * 0.1, None))
        writer = store.create(run_id, config)
        for event in events:
            writer.record(event)
        writer.close()


async def metric_switch_ms(runs_dir: Path) -> list[float]:
    """Milliseconds from `[` to the left chart's new picture, for every metric in turn (80x24)."""
    from core.comparison import metrics
    from tui.app import create_app

    app = create_app(runs_dir=runs_dir, device_probe=lambda: [("cpu", "cpu")], warm=False)
    times = []
    async with app.run_test(size=(80, 24)) as pilot:
        while len(app.state.records) < 20:
            await pilot.pause(0.05)
        await pilot.pause(1.0)
        for _ in range(2 * len(metrics.METRICS)):  # twice round: the second lap has warm caches, as a user's
            t0 = time.perf_counter()
            app.dashboard.panel.action_next_metric("left")  # what `[` runs: the new metric, drawn at once
            app.dashboard.panel.left_chart.render()  # plotext's picture of it, as the next paint asks for it
            times.append((time.perf_counter() - t0) * 1000)
            await pilot.pause()
    return times


def dashboard_round(config: RunConfig, warm: bool = True) -> dict:
    """One dashboard round in a process of its own, as `mnist-tui` runs: its UI thread at lowered
    priority (the runners it starts keep theirs), which the headless rounds must not inherit."""
    mode = "--warm-round" if warm else "--cold-round"
    result = subprocess.run([sys.executable, __file__, mode, json.dumps(config.to_dict())], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def one_round(config_json: str, warm: bool) -> None:
    from core.execution.launcher import lower_thread_priority

    lower_thread_priority()
    print(json.dumps(asyncio.run(with_dashboard(RunConfig.from_dict(json.loads(config_json)), warm))))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] in ("--warm-round", "--cold-round"):
        return one_round(sys.argv[2], sys.argv[1] == "--warm-round")
    if sys.argv[1:] == ["--metric-switch"]:
        return print_metric_switch()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--train-size", default="12800")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--log-every", default="100")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = RunConfig(model=args.model, lr=0.01, epochs=args.epochs, test_size=1000, device=args.device,
                       train_size=int(args.train_size), log_every=int(args.log_every))
    print(f"{config.model}, batch 64, {config.train_size} images x {config.epochs} epochs, loss every {config.log_every} batches, "
          f"device {args.device}, {args.rounds} rounds")
    results: dict[str, list] = {"headless": [], "dashboard": [], "warm": [], "delays": [], "cpu": []}
    for round_ in range(1, args.rounds + 1):
        results["headless"].append(headless(config))
        run = dashboard_round(config)
        results["dashboard"].append(run["samples"])
        results["warm"].append(run["to_started"])
        results["delays"] += run["delays"]
        results["cpu"].append(run["cpu_share"])
        print(f"round {round_}: headless {results['headless'][-1]:9,.0f} samples/s   dashboard {results['dashboard'][-1]:9,.0f} samples/s")
    bare, attached = (statistics.median(results[k]) for k in ("headless", "dashboard"))
    print(f"median: headless {bare:,.0f} samples/s, dashboard {attached:,.0f} samples/s")
    print(f"ratio dashboard/headless: {attached / bare:.3f} (dashboard costs {(1 - attached / bare) * 100:.1f}%; goal < 3%)")
    print(f"the dashboard process's own CPU while the run trained: median {statistics.median(results['cpu']) * 100:.1f}% of one core")
    small = config.with_values(train_size=64 * 4, test_size=100, log_every=1)
    cold = [dashboard_round(small, warm=False)["to_started"] for _ in range(2)]
    warm = [dashboard_round(small)["to_started"] for _ in range(2)] + results["warm"]
    print(f"enter -> run_started on screen: warm median {statistics.median(warm):.2f} s (goal < 1 s), cold median {statistics.median(cold):.2f} s")
    delays = sorted(results["delays"])
    if delays:
        p95 = delays[min(len(delays) - 1, int(0.95 * len(delays)))]
        print(f"event -> screen: median {statistics.median(delays) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms over {len(delays)} events (goal < 500 ms)")
    print_metric_switch()


def print_metric_switch() -> None:
    with tempfile.TemporaryDirectory() as runs:
        write_many_runs(Path(runs))
        times = asyncio.run(metric_switch_ms(Path(runs)))
    print(f"redraw after a metric switch, 20 runs x 2,000 points at 80x24: median {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms over {len(times)} switches (goal < 150 ms)")


if __name__ == "__main__":
    main()
