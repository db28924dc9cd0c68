"""Training throughput: mnist-tui's engine against the classic PyTorch MNIST loop.

Both train the same network on the same device with the same batch size for the same number
of steps, timed from the first batch to the last (dataset construction excluded), in
alternating rounds within this one process. The classic loop is pytorch/examples' mnist:
torchvision's MNIST with a ToTensor transform through a shuffling DataLoader, `loss.item()`
every step. Prints samples/s of each round and the ratio of the medians.

    python benchmarks/engine_vs_classic.py                # CPU-sized defaults
    python benchmarks/engine_vs_classic.py --device cuda --steps 900 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from core.config import RunConfig
from core.training.data import resolve_data_dir
from core.training.devices import resolve_device
from core.training.models import build_model
from core.training.trainer import TrainingRun, make_optimizer


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def classic(config: RunConfig, data_dir: Path, device: torch.device, steps: int) -> float:
    dataset = datasets.MNIST(str(data_dir), train=True, download=False, transform=transforms.ToTensor())
    kwargs = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True, **kwargs)
    torch.manual_seed(config.seed)
    model = build_model(config.model).to(device).train()
    optimizer = make_optimizer(model, config)
    sync(device)
    start = time.perf_counter()
    done = 0
    while done < steps:
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            loss.item()  # the classic loop reads the loss back every step
            done += 1
            if done == steps:
                break
    sync(device)
    return steps * config.batch_size / (time.perf_counter() - start)


_engines: dict[RunConfig, TrainingRun] = {}


def engine(config: RunConfig, data_dir: Path, steps: int) -> float:
    """One epoch of `steps` batches; the run is set up once (data, model, and with --compile the
    compiled step: its compile happens in the untimed warm-up round, as in a long run)."""
    key = config.with_values(train_size=steps * config.batch_size, log_every=100)
    if key not in _engines:
        _engines[key] = TrainingRun(key, "bench", data_dir=data_dir)
        _engines[key]._setup()  # data onto the device, model, optimizer: the one-time part, not timed
        _engines[key].epoch_count = 0
    run = _engines[key]
    run.epoch_count += 1
    sync(run.device)
    start = time.perf_counter()
    for _ in run.train(run.epoch_count):
        pass
    sync(run.device)
    return steps * config.batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=150, help="training steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--compile", action="store_true", help="the engine's step through torch.compile")
    args = parser.parse_args()
    device = resolve_device(args.device)
    config = RunConfig(model=args.model, batch_size=args.batch_size, lr=0.01, device=str(device), compile=args.compile)
    data_dir = resolve_data_dir(args.data_dir)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    mode = "compiled" if args.compile else "eager"
    print(f"{args.model}, batch {args.batch_size}, {args.steps} steps/round, {args.rounds} rounds, engine {mode}, on {device} [{name}], torch {torch.__version__}")
    classic(config, data_dir, device, min(args.steps, 20))  # warm-up: first-call kernel selection, allocator
    engine(config, data_dir, args.steps)  # warm-up round on the engine that the timed rounds reuse
    results = {"classic": [], "engine": []}
    for round_ in range(1, args.rounds + 1):
        results["classic"].append(classic(config, data_dir, device, args.steps))
        results["engine"].append(engine(config, data_dir, args.steps))
        print(f"round {round_}: classic {results['classic'][-1]:10,.0f} samples/s   engine {results['engine'][-1]:10,.0f} samples/s")
    classic_median, engine_median = (statistics.median(results[k]) for k in ("classic", "engine"))
    print(f"median: classic {classic_median:,.0f} samples/s, engine {engine_median:,.0f} samples/s")
    print(f"ratio engine/classic: {engine_median / classic_median:.2f}x")


if __name__ == "__main__":
    main()
