"""Self-describing checkpoints (in nanoGPT's manner), saved atomically, loaded without pickle code."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch

from core.atomic import atomic_write

FORMAT = "mnist-tui-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """The file is not a usable mnist-tui checkpoint; the message says why."""


def save_checkpoint(path: str | os.PathLike, *, model, optimizer, config: dict, epoch: int, accuracy: float | None) -> Path:
    payload = {
        "format": FORMAT,  # lets load_checkpoint refuse other files with a clear message
        "version": VERSION,
        "model_name": config["model"],
        "state_dict": model.state_dict(),
        "optimizer_name": config["optimizer"],
        "optimizer_state": optimizer.state_dict(),
        "config": config,  # the RunConfig that produced these weights, as plain values
        "epoch": epoch,  # epochs trained in total
        "accuracy": accuracy,  # test accuracy after `epoch` (None if never evaluated)
        "saved_at": time.time(),
    }
    path = Path(path)
    with atomic_write(path) as handle:
        torch.save(payload, handle)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load with weights_only=True (no code runs from the file); refuse anything else clearly."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as bad:  # torch's unpickler raises many types (UnpicklingError, KeyError...) on foreign files
        first = str(bad).strip().splitlines()[0] if str(bad).strip() else type(bad).__name__
        raise CheckpointError(
            f"{path} is not a loadable mnist-tui checkpoint (refused to unpickle it safely: {first[:200]})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a torch file but not an mnist-tui checkpoint (no '{FORMAT}' marker)")
    if payload.get("version", 0) > VERSION:
        raise CheckpointError(f"{path} was written by a newer mnist-tui (format version {payload['version']})")
    return payload
