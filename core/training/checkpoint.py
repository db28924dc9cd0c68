"""Self-describing checkpoints (in nanoGPT's manner), saved atomically, loaded without pickle code."""

from __future__ import annotations

import io
import os
import pickle
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from core.runstore.atomic import atomic_write, write_failure
from core.config import MODELS
from core.events import MAX_EPOCH
from core.training.models import build_model

FORMAT = "mnist-tui-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """The file is not a usable mnist-tui checkpoint; the message says why."""


class SaveError(RuntimeError):
    """A run's file could not be written; the message names it, says why in words and what to do."""


def save_torch_file(path: str | os.PathLike, payload: Any) -> Path:
    """torch.save, atomically; a write the system refuses raises SaveError with its reason.

    torch.save into a file object reports a refused write as `[enforce fail at
    inline_container.cc] unexpected pos`, the errno lost. So the payload is serialised in memory
    first (a checkpoint is about 20 MB, predictions 30 KB: small beside the process) and written
    as bytes, whose failure is the OSError itself: quota, file size limit, read-only disk.
    """
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    try:
        with atomic_write(path) as handle:
            handle.write(buffer.getbuffer())
    except OSError as problem:
        raise SaveError(write_failure(path, problem, "choose another runs folder (--runs-dir)")) from None
    return path


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
    _check_space(path, payload, epoch)
    return save_torch_file(path, payload)


def _check_space(path: Path, payload: dict, epoch: int) -> None:
    """Refuse before writing when the disk cannot hold the file (torch's own error is cryptic)."""
    tensors = list(payload["state_dict"].values()) + [
        value for state in payload["optimizer_state"].get("state", {}).values() for value in state.values()
    ]
    needed = sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor)) + 1_000_000
    free = shutil.disk_usage(path.parent).free
    if free < needed:
        raise CheckpointError(
            f"not enough disk space for the checkpoint in {path.parent}: it needs about {needed / 2**20:.0f} MiB "
            f"and {free / 2**20:.0f} MiB are free. Free some space; the run's results up to epoch {epoch} are in its event log"
        )


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load with weights_only=True (no code runs from the file); refuse anything else clearly."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's own message would advise weights_only=False: never
        raise CheckpointError(
            f"{path} is not a loadable mnist-tui checkpoint: it holds pickled Python objects, not just "
            "weights, and mnist-tui loads only tensors and plain values (no code runs from a file)"
        ) from None
    except Exception as bad:  # not a zip, truncated, another format: torch raises many types
        raise CheckpointError(
            f"{path} is not a loadable mnist-tui checkpoint: torch cannot read it ({type(bad).__name__}; "
            "truncated, or not a torch file)"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a torch file but not an mnist-tui checkpoint (no '{FORMAT}' marker)")
    version = payload.get("version", 0)
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(f"{path} was written by a newer mnist-tui (format version {version!r})")
    _check_payload(path, payload)
    return payload


def _check_payload(path: Path, payload: dict) -> None:
    """Every field a resume reads, of the right type and in range, or a message naming it."""
    problems = []
    for key, kind in (("model_name", str), ("state_dict", dict), ("config", dict), ("optimizer_name", str), ("optimizer_state", dict)):
        if not isinstance(payload.get(key), kind):
            problems.append(f"'{key}' is missing or not a {kind.__name__}")
    if isinstance(payload.get("model_name"), str) and payload["model_name"] not in MODELS:
        problems.append(f"'model_name' must be one of {', '.join(MODELS)}, got {_shown(payload['model_name'])}")
    epoch = payload.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= MAX_EPOCH:
        problems.append(f"'epoch' must be a whole number from 0 to {MAX_EPOCH}, got {_shown(epoch)}")
    accuracy = payload.get("accuracy")
    if accuracy is not None and (isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not 0 <= accuracy <= 1):
        problems.append(f"'accuracy' must be a fraction from 0 to 1, got {_shown(accuracy)}")
    if problems:
        raise CheckpointError(f"{path} is a damaged mnist-tui checkpoint: {'; '.join(problems)}")


def _shown(value: Any, limit: int = 40) -> str:
    """A value from a file, as one short line of a message (a key may hold a newline)."""
    return " ".join(str(value).split())[:limit]


def _some(names: list[str], limit: int = 3) -> str:
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(_shown(name, 60) for name in names[:limit]) + more


def _shape(value: Any) -> str:
    if not isinstance(value, torch.Tensor):
        return f"not a tensor but a {type(value).__name__}"
    return str(list(value.shape))


def check_weights_fit(path: str | os.PathLike, state_dict: dict, model: torch.nn.Module, model_name: str) -> None:
    """Refuse, in one line, weights that do not fit the network (load_state_dict's own error takes 7)."""
    expected = model.state_dict()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    misshapen = [
        f"{_shown(key, 60)} is {_shape(value)}, not {_shape(expected[key])}"
        for key, value in state_dict.items()
        if key in expected and (not isinstance(value, torch.Tensor) or value.shape != expected[key].shape)
    ]
    if not (missing or unexpected or misshapen):
        return
    owner = _network_that_fits(state_dict)
    if owner is not None:  # mislabelled: say whose they are rather than list every difference
        problems = [f"they are the {owner}'s"]
    else:
        problems = [f"it holds {len(state_dict)} weight tensors and the {model_name} has {len(expected)}"] if missing or unexpected else []
        problems += [f"missing {_some(missing)}"] if missing else []
        problems += [f"unexpected {_some(unexpected)}"] if unexpected else []
        problems += [_some(misshapen)] if misshapen else []
    raise CheckpointError(
        f"{path} is damaged: its weights do not fit the {model_name} it names ({'; '.join(problems)}): "
        "resume from another checkpoint, or start the run afresh"
    )


def _network_that_fits(state_dict: dict) -> str | None:
    """The network whose weights these are, when one fits them exactly (a mislabelled file)."""
    for name in MODELS:
        expected = build_model(name).state_dict()
        if expected.keys() == state_dict.keys() and all(
            isinstance(state_dict[key], torch.Tensor) and state_dict[key].shape == tensor.shape for key, tensor in expected.items()
        ):
            return name
    return None


def load_optimizer_state(path: str | os.PathLike, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Load a saved optimizer state, or refuse in one line (torch's own: a KeyError, or a shape error mid-training)."""
    problem = _optimizer_state_problem(optimizer, state)
    if problem is None:
        try:
            optimizer.load_state_dict(state)
            return
        except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as bad:
            problem = _shown(f"{type(bad).__name__}: {bad}", 200)
    raise CheckpointError(
        f"{path} is damaged: its {type(optimizer).__name__} optimizer state does not fit ({problem}): "
        "resume from another checkpoint, or with another --optimizer to start that state afresh"
    )


def _optimizer_state_problem(optimizer: torch.optim.Optimizer, state: dict) -> str | None:
    """What does not fit in a saved optimizer state, or None: its groups, and each buffer's shape."""
    groups, per_param = state.get("param_groups"), state.get("state")
    if not isinstance(groups, list) or not all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups):
        return "'param_groups' is missing or not a list of groups with params"
    if not isinstance(per_param, dict):
        return "'state' is missing or not a dict"
    ours = optimizer.param_groups
    if [len(g["params"]) for g in groups] != [len(g["params"]) for g in ours]:
        return f"its groups hold {[len(g['params']) for g in groups]} parameters, this network's {[len(g['params']) for g in ours]}"
    params = dict(zip((i for g in groups for i in g["params"]), (p for g in ours for p in g["params"])))
    for index, buffers in per_param.items():
        if index not in params or not isinstance(buffers, dict):
            return f"state {_shown(index)} belongs to no parameter"
        for name, value in buffers.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != params[index].shape:
                return f"{_shown(name)} of parameter {_shown(index)} is {_shape(value)}, not {_shape(params[index])}"
    return None
