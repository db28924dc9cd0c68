"""What the dashboard costs training: the same run headless and with the dashboard attached.

The dashboard runs in Textual's headless mode (no terminal, everything else real: messages,
table, charts redrawing). Each round trains the same configuration once each way, alternating;
Both train in a worker thread (as `mnist-tui train` and the dashboard do; on a CPU, torch runs
~10% slower in a non-main thread than in the main one, whatever the UI). samples/s is the training throughput from the run's own batch_logged events (the first window,
which includes warm-up, is left out). Prints both and the ratio of the medians.

    python benchmarks/dashboard_overhead.py
    python benchmarks/dashboard_overhead.py --device cuda --train-size 60000 --log-every 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import RunConfig
from core.store import new_run_id
from core.trainer import run_events, start_in_thread


def throughput(events: list[dict]) -> float:
    windows = [e for e in events if e["event"] == "batch_logged"][1:]
    return statistics.mean(e["samples_per_sec"] for e in windows)


def headless(config: RunConfig) -> float:
    """As `mnist-tui train` runs it: the trainer in a worker thread, the main thread waiting."""
    events: list[dict] = []
    start_in_thread(run_events(config, new_run_id(config)), lambda e: events.append(e.to_dict())).join()
    return throughput(events)


async def with_dashboard(config: RunConfig) -> float:
    from tui.app import create_app

    with tempfile.TemporaryDirectory() as runs:
        app = create_app(runs_dir=runs, device_probe=lambda: [("cpu", "cpu")])
        async with app.run_test(size=(120, 40)) as pilot:
            app.start_run(config)
            while not all(r.finished for r in app.records.values()):
                await asyncio.sleep(0.1)
            await pilot.pause()
        (log,) = Path(runs).glob("*/events.jsonl")
        return throughput([json.loads(line) for line in log.read_text().splitlines()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--train-size", default="12800")
    parser.add_argument("--log-every", default="20")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = RunConfig(lr=0.01, epochs=1, test_size=1000, device=args.device, train_size=int(args.train_size), log_every=int(args.log_every))
    print(f"cnn, batch 64, {config.train_size} images, loss logged every {config.log_every} batches, device {args.device}, {args.rounds} rounds")
    headless(config.with_values(train_size=64 * config.log_every * 2))  # warm-up
    results = {"headless": [], "dashboard": []}
    for round_ in range(1, args.rounds + 1):
        results["headless"].append(headless(config))
        results["dashboard"].append(asyncio.run(with_dashboard(config)))
        print(f"round {round_}: headless {results['headless'][-1]:9,.0f} samples/s   dashboard {results['dashboard'][-1]:9,.0f} samples/s")
    bare, attached = (statistics.median(results[k]) for k in ("headless", "dashboard"))
    print(f"median: headless {bare:,.0f} samples/s, dashboard {attached:,.0f} samples/s")
    print(f"ratio dashboard/headless: {attached / bare:.3f} (dashboard costs {(1 - attached / bare) * 100:.1f}%)")


if __name__ == "__main__":
    main()
