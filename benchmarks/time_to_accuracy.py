"""Seconds of training until the test accuracy first reaches a target (the report's settings).

cnn, batch 64, lr 0.01, SGD momentum 0.9, all 60,000 images: the test set (all 10,000) is
evaluated every `--check-every` batches; the clock stops while it is (only training counts).
With `--compile` the training step goes through torch.compile; its one-time compile is timed
and printed apart. Prints the seconds and the batches it took, eager and/or compiled.

    python benchmarks/time_to_accuracy.py --device cuda --target 0.99
    python benchmarks/time_to_accuracy.py --device cuda --target 0.99 --compile both
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from core.config import RunConfig
from core.training.trainer import TrainingRun, evaluate


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_to(config: RunConfig, target: float, max_epochs: int) -> tuple[float | None, int, float, float]:
    """(training seconds to reach target or None, batches, best accuracy, compile seconds)."""
    run = TrainingRun(config, "time-to-accuracy")
    run._setup()
    trained, batches, best, compile_s = 0.0, 0, 0.0, 0.0
    for epoch in range(1, max_epochs + 1):
        sync(run.device)
        t0 = time.perf_counter()
        for event in run.train(epoch):
            if event.kind == "compile_status" and event.state != "compiling":
                compile_s = event.seconds
            if event.kind != "batch_logged":
                continue
            sync(run.device)
            trained += time.perf_counter() - t0
            batches = event.step
            accuracy, _ = evaluate(run.model, run.test_split)
            best = max(best, accuracy)
            if accuracy >= target:
                return trained - compile_s, batches, best, compile_s
            sync(run.device)
            t0 = time.perf_counter()
        sync(run.device)
        trained += time.perf_counter() - t0
    return None, batches, best, compile_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--check-every", type=int, default=100, help="batches between test passes")
    parser.add_argument("--max-epochs", type=int, default=5)
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--compile", choices=["off", "on", "both"], default="off")
    args = parser.parse_args()
    config = RunConfig(lr=0.01, batch_size=64, device=args.device, log_every=args.check_every, train_size=args.train_size,
                       epochs=args.max_epochs)
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    print(f"cnn, batch 64, lr 0.01, {args.train_size or 60000} images, test pass every {args.check_every} batches, device {args.device}, target {args.target:.2%}")
    for compiled in modes:
        seconds, batches, best, compile_s = time_to(config.with_values(compile=compiled), args.target, args.max_epochs)
        mode = "compiled" if compiled else "eager"
        extra = f" (plus {compile_s:.1f} s compiling)" if compiled else ""
        if seconds is None:
            print(f"{mode}: not reached in {args.max_epochs} epochs (best {best:.2%})")
        else:
            print(f"{mode}: {args.target:.0%} after {seconds:.2f} s of training, {batches} batches{extra}")


if __name__ == "__main__":
    main()
