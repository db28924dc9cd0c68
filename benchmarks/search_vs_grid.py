"""An Optuna search with pruning against the report's grid, at the grid's budget of epochs.

The grid: the report's learning rates (0.01, 0.001, 0.0001) and 0.1 above them, times its batch
sizes (32, 64, 128): 12 runs of `--epochs` each (`mnist-tui sweep`). The search: as many trials
(`mnist-tui search`, TPE, median pruner) over the same box as ranges (lr 1e-4..1e-1 on a log
scale, batch size 32|64|128), so it may train at most the grid's epochs and trains fewer where the
pruner stops trials. Both run through the CLI as a user runs them, one after the other, each in
its own runs folder; printed side by side: the best test accuracy, the epochs trained, the wall
time, and the search's over the grid's.

    .venv/bin/python benchmarks/search_vs_grid.py                                # 12,800 images, 3 epochs
    .venv/bin/python benchmarks/search_vs_grid.py --train-size 60000 --device cuda
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.runstore.results import load_records  # noqa: E402 (after the path)
from core.runstore.store import RunStore  # noqa: E402

GRID_LR, GRID_BS = "0.1,0.01,0.001,0.0001", "32,64,128"


def run(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "tui", *command], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:1])} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def epochs_trained(records) -> float:
    """Whole epochs, plus the part of the epoch a pruned trial had begun when it stopped."""
    total = 0.0
    for r in records:
        total += len(r.accuracies)
        if r.status == "pruned" and r.last_batch is not None and r.batches_per_epoch and r.last_batch.epoch > r.last_epoch:
            total += r.last_batch.batch / r.batches_per_epoch
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-size", default="12800")
    parser.add_argument("--epochs", default="3")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", default="1")
    args = parser.parse_args()
    common = ["--epochs", args.epochs, "--train-size", args.train_size, "--device", args.device, "--seed", args.seed]
    trials = len(GRID_LR.split(",")) * len(GRID_BS.split(","))
    with tempfile.TemporaryDirectory(prefix="search-vs-grid-") as folder:
        grid_dir, search_dir = Path(folder) / "grid", Path(folder) / "search"
        grid_s = run(["sweep", "--lr", GRID_LR, "--batch-size", GRID_BS, *common, "--runs-dir", str(grid_dir)])
        search_s = run(["search", "--lr", "1e-4:1e-1:log", "--batch-size", GRID_BS, "--trials", str(trials), *common,
                        "--runs-dir", str(search_dir), "--study", "bench"])
        grid, _ = load_records(RunStore(grid_dir))
        search, _ = load_records(RunStore(search_dir))
    rows = []
    for name, records, seconds in (("grid (report's values)", grid, grid_s), ("search (TPE + median pruner)", search, search_s)):
        best = max(records, key=lambda r: r.final or 0)
        pruned = sum(r.status == "pruned" for r in records)
        rows.append((name, best.final, f"lr={best.config.lr:.3g} bs={best.config.batch_size}", epochs_trained(records), seconds, len(records), pruned))
    print(f"{args.train_size} training images, {args.epochs} epochs a run, 10,000 test images, device {args.device}, seed {args.seed}")
    print(f"{'':30} {'best acc':>9} {'best config':>22} {'epochs':>7} {'wall s':>8} {'runs':>5} {'pruned':>6}")
    for name, best, config, epochs, seconds, runs, pruned in rows:
        print(f"{name:30} {best * 100:8.2f}% {config:>22} {epochs:7.1f} {seconds:8.1f} {runs:5d} {pruned:6d}")
    (_, g_best, _, g_epochs, g_s, _, _), (_, s_best, _, s_epochs, s_s, _, _) = rows
    print(f"search / grid: best accuracy {s_best - g_best:+.2%} points, epochs {s_epochs / g_epochs:.2f}x, wall time {s_s / g_s:.2f}x")


if __name__ == "__main__":
    main()
