"""What a run predicted, kept beside it: every test image's predicted label and confidence per
epoch (30 KB an epoch), so digits, confusion matrices and per-class accuracy need no retraining."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from core.training.checkpoint import save_torch_file
from core.comparison.run_filter import name_key  # names are compared as the dashboard's filter compares them
from core.runstore.safe_read import read_bytes

PREDICTIONS_GLOB = "predictions-epoch-*.pt"
MAX_PREDICTIONS_BYTES = 16 << 20  # 10,000 test images take about 30 KB


@dataclass(frozen=True)
class Predictions:
    epoch: int
    labels: torch.Tensor  # uint8, the true classes of the test images, in the files' order
    predicted: torch.Tensor  # uint8, the class the network chose
    confidence: torch.Tensor  # float16, its softmax probability

    @property
    def accuracy(self) -> float:
        return int((self.predicted == self.labels).sum()) / len(self.labels)  # as the trainer computes it

    def wrong(self) -> list[int]:
        return (self.predicted != self.labels).nonzero().flatten().tolist()


def predictions_path(folder: Path, epoch: int) -> Path:
    return Path(folder) / f"predictions-epoch-{epoch}.pt"


def save_predictions(folder: Path, epoch: int, labels: torch.Tensor, logits_argmax: torch.Tensor, confidence: torch.Tensor) -> Path:
    path = predictions_path(folder, epoch)
    payload = {
        "epoch": epoch,
        "labels": labels.to("cpu", torch.uint8),
        "predicted": logits_argmax.to("cpu", torch.uint8),
        "confidence": confidence.to("cpu", torch.float16),
    }
    return save_torch_file(path, payload)


def load_predictions(folder: Path) -> dict[int, Predictions]:
    """Every stored epoch's predictions; unreadable files are skipped (weights_only: no code runs;
    only regular files of at most MAX_PREDICTIONS_BYTES, so a FIFO or a huge file cannot hang it)."""
    found: dict[int, Predictions] = {}
    try:
        paths = list(Path(folder).glob(PREDICTIONS_GLOB))
    except OSError:
        return {}
    for path in paths:
        match = re.search(r"epoch-(\d+)\.pt$", path.name)
        try:
            data = torch.load(io.BytesIO(read_bytes(path, MAX_PREDICTIONS_BYTES)), map_location="cpu", weights_only=True)
            epoch = int(match.group(1)) if match else int(data["epoch"])
            found[epoch] = Predictions(epoch, data["labels"], data["predicted"], data["confidence"])
        except Exception:
            continue
    return dict(sorted(found.items()))


def confusion_matrix(predictions: Predictions, classes: int = 10) -> list[list[int]]:
    """counts[true][predicted]."""
    index = predictions.labels.long() * classes + predictions.predicted.long()
    counts = torch.bincount(index, minlength=classes * classes).reshape(classes, classes)
    return counts.tolist()


def per_class_accuracy(matrix: list[list[int]]) -> list[float | None]:
    return [row[i] / sum(row) if sum(row) else None for i, row in enumerate(matrix)]


def load_test_images(dataset: str, data_dir, limit: int | None) -> torch.Tensor:
    """The test images a run was evaluated on (uint8, N x 28 x 28, the files' order)."""
    from core.training.data import load_split, resolve_data_dir

    split = load_split(dataset, resolve_data_dir(data_dir), False, torch.device("cpu"), limit)
    return split.images.squeeze(1).mul(255).round().to(torch.uint8)


def find_run(store, name: str):
    """A stored run by id, unique id prefix, folder path, or any part of its name (see name_key);
    raises LookupError saying what matched."""
    from core.config import RunConfig
    from core.runstore.safe_read import read_text
    from core.runstore.store import CONFIG_FILE, MAX_CONFIG_BYTES, read_run

    path = Path(name)
    if path.is_dir() and (path / "config.json").exists():
        return read_run(path)
    ids = store.run_ids()
    if name in ids:
        return store.load(name)
    wanted = name_key(name)

    def label(run_id: str) -> str:
        try:
            return RunConfig.from_dict(json.loads(read_text(store.root / run_id / CONFIG_FILE, MAX_CONFIG_BYTES))).label
        except Exception:  # an unreadable run is found by its id only
            return ""

    labels = {run_id: label(run_id) for run_id in ids}
    matches = [run_id for run_id in ids if wanted in name_key(run_id) or wanted in name_key(labels[run_id])]
    exact = [run_id for run_id in matches if name_key(labels[run_id]) == wanted]
    if len(matches) == 1 or len(exact) == 1:
        return store.load(matches[0] if len(matches) == 1 else exact[0])
    if not matches:
        raise LookupError(f"no run matches {name!r} (by id or any part of its name) in {store.root} (mnist-tui runs lists them)")
    listed = ", ".join(f"{run_id} ({labels[run_id]})" for run_id in matches[:5])
    raise LookupError(f"{name!r} matches {len(matches)} runs: {listed}{' ...' if len(matches) > 5 else ''}")
