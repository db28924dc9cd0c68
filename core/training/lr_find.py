"""The learning-rate range test: from the model's initial weights, the learning rate rises
exponentially batch by batch while the training loss is watched; the rate where the smoothed
loss falls fastest is a good one to train with.

The method is Leslie N. Smith's ("Cyclical Learning Rates for Training Neural Networks", WACV
2017, section 3.3), as fastai's `lr_find` runs it: the rate goes from `start_lr` to `end_lr`
geometrically over `batches` batches; the loss is smoothed with an exponential moving average
(beta 0.98, bias-corrected); the test stops early once the smoothed loss passes `diverge` times
its minimum. The suggestion is fastai's "steepest" rule: the rate at the most negative slope
of the smoothed loss against log10(learning rate). It trains a throwaway copy: nothing is
written to the run store (it is not a run).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
import torch.nn.functional as F

from core.config import ConfigError, RunConfig
from core.training.data import batch_indices, load_split, resolve_data_dir
from core.training.devices import resolve_device
from core.training.models import build_model

SMOOTHING = 0.98
SUGGESTION_RULE = "steepest descent of the smoothed loss (Smith 2017; fastai lr_find)"


@dataclass(frozen=True)
class LrPoint:
    """One batch of the test: the rate it trained at, its loss and the smoothed loss."""

    batch: int  # 1-based
    lr: float
    loss: float
    smoothed: float


def rates(start_lr: float, end_lr: float, batches: int) -> list[float]:
    """`batches` rates from start_lr to end_lr, each the last times a constant factor."""
    if not 0 < start_lr < end_lr:
        raise ConfigError("start_lr", f"must be above 0 and below the end rate {end_lr:g}, not {start_lr:g}")
    if batches < 2:
        raise ConfigError("batches", "must be at least 2")
    factor = (end_lr / start_lr) ** (1 / (batches - 1))
    return [start_lr * factor**k for k in range(batches)]


def lr_range_test(
    config: RunConfig,
    *,
    start_lr: float = 1e-6,
    end_lr: float = 1.0,
    batches: int = 100,
    diverge: float = 4.0,
    data_dir: str | Path | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[LrPoint]:
    """Yield an LrPoint per batch as it trains (config: model, dataset, batch size, optimizer,
    momentum, weight decay, seed, device, train size). Raises ConfigError, DataError."""
    schedule = rates(start_lr, end_lr, batches)
    device = resolve_device(config.device)
    split = load_split(config.dataset, resolve_data_dir(data_dir), True, device, config.train_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_model(config.model).to(device).train()
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=start_lr, weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=start_lr, momentum=config.momentum, weight_decay=config.weight_decay)
    generator = torch.Generator(device=device if device.type == "cuda" else "cpu").manual_seed(config.seed)
    average, best = 0.0, math.inf

    def batches_forever():
        while True:  # a small subset may hold fewer batches than the test needs: go round again
            yield from batch_indices(len(split), config.batch_size, generator, device)

    for number, (lr, index) in enumerate(zip(schedule, batches_forever()), start=1):
        if cancel is not None and cancel.is_set():
            return
        for group in optimizer.param_groups:
            group["lr"] = lr
        index = index.to(device)
        loss = F.cross_entropy(model(split.images[index]), split.labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        value = loss.item()
        if not math.isfinite(value):
            return  # diverged outright
        average = SMOOTHING * average + (1 - SMOOTHING) * value
        smoothed = average / (1 - SMOOTHING**number)
        best = min(best, smoothed)
        yield LrPoint(number, lr, value, smoothed)
        if number > 1 and smoothed > diverge * best:
            return


def suggest(points: list[LrPoint], skip_start: int = 10, skip_end: int = 5) -> float | None:
    """The rate at the steepest descent of the smoothed loss against log10(rate) (fastai's rule,
    with its default trimming of the first 10 and last 5 points); None with too few points."""
    kept = points[skip_start : len(points) - skip_end] if len(points) > skip_start + skip_end + 2 else []
    if len(kept) < 3:
        return None
    slopes = [
        (kept[k + 1].smoothed - kept[k - 1].smoothed) / (math.log10(kept[k + 1].lr) - math.log10(kept[k - 1].lr))
        for k in range(1, len(kept) - 1)
    ]
    steepest = min(range(len(slopes)), key=slopes.__getitem__)
    return kept[steepest + 1].lr
