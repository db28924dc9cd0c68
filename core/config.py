"""The run configuration: one typed, frozen dataclass and the parser that fills it from text.

Forms and CLI flags both hand strings to `parse_field` / `parse_config`, so a value is
accepted or refused with the same message wherever the user typed it. Nothing here imports
torch: the dashboard validates as the user types, before torch has loaded.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

MODELS = ("cnn", "mlp")
DATASETS = ("mnist", "fashion-mnist", "kmnist")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "step", "cosine", "onecycle")  # see core.training.schedules
TRAIN_SET_SIZE = 60_000  # every supported dataset has 60,000 training images
TEST_SET_SIZE = 10_000  # ... and 10,000 test images
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda|cuda:\d+)$")


class ConfigError(ValueError):
    """A value the user typed is not acceptable; `field` names the form field / CLI flag."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RunConfig:
    model: str = "cnn"  # "cnn" is the seed's network exactly; "mlp" a fully-connected net on 784 pixels
    dataset: str = "mnist"  # "mnist", "fashion-mnist" or "kmnist" (same 28x28 format, 10 classes)
    lr: float = 0.001  # learning rate; the seed also compares 0.01 and 0.0001
    batch_size: int = 64  # training batch size; the seed compares 32, 64 and 128
    epochs: int = 5  # passes over the training set
    momentum: float = 0.9  # SGD momentum (the seed's 0.9); ignored by adam
    optimizer: str = "sgd"  # "sgd" (the seed's) or "adam"
    weight_decay: float = 0.0  # L2 penalty passed to the optimizer
    seed: int = 1  # seeds weights and shuffling: the same seed gives the same run on a CPU
    device: str = "auto"  # "auto" picks cuda, then mps, then cpu; or "cpu", "cuda", "cuda:N", "mps"
    log_every: int = 100  # batches between loss reports (the seed's 100)
    train_size: int | None = None  # use only the first N training images (None: all 60,000)
    test_size: int | None = None  # evaluate on the first N test images (None: all 10,000)
    name: str = ""  # free label for the run; the run id and table show it
    resume: str | None = None  # checkpoint to start from (weights, and optimizer state if it matches)
    schedule: str = "constant"  # learning-rate schedule: constant (the seed), step, cosine, onecycle
    sweep: str = ""  # id of the sweep this run belongs to ("" for a single run)
    tensorboard: bool = False  # also write loss/accuracy scalars and the graph for TensorBoard
    compile: bool = False  # train through torch.compile (CUDA: CUDA graphs); off until a GPU measurement says on

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunConfig":
        """Rebuild a config from `to_dict` output; unknown keys (newer versions) are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: ("" if v is None else str(v)) for k, v in data.items() if k in known}
        return parse_config(values)

    @property
    def label(self) -> str:
        """Short legend label, e.g. `cnn lr=0.01 bs=64` (the run's name when it has one)."""
        return self.name or f"{self.model} lr={self.lr:g} bs={self.batch_size}"

    def with_values(self, **changes: Any) -> "RunConfig":
        return replace(self, **changes)


def _number(field: str, text: str, kind: type) -> float | int:
    text = text.strip().replace("_", "")
    if not text:
        raise ConfigError(field, "is required")
    try:
        value = kind(text)
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise ConfigError(field, f"must be {noun}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise ConfigError(field, f"must be a finite number, got {text!r}")
    return value


def _at_least(field: str, value: float, low: float, *, inclusive: bool = True) -> None:
    if value < low or (not inclusive and value == low):
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        raise ConfigError(field, f"must be {bound}, got {value:g}")


def _choice(field: str, text: str, allowed: tuple[str, ...]) -> str:
    value = text.strip().lower()
    if value not in allowed:
        raise ConfigError(field, f"must be one of {', '.join(allowed)}; got {text!r}")
    return value


def _optional_size(field: str, text: str, limit: int) -> int | None:
    if text.strip() in ("", "all", "none"):
        return None
    value = int(_number(field, text, int))
    if not 1 <= value <= limit:
        raise ConfigError(field, f"must be between 1 and {limit:,} (or blank for all), got {value}")
    return value


def parse_field(field: str, text: str) -> Any:
    """Parse one field from text; raises ConfigError naming the field. No cross-field checks."""
    if field == "model":
        return _choice(field, text, MODELS)
    if field == "dataset":
        return _choice(field, text, DATASETS)
    if field == "optimizer":
        return _choice(field, text, OPTIMIZERS)
    if field == "lr":
        value = _number(field, text, float)
        _at_least(field, value, 0.0, inclusive=False)
        if value > 10:
            raise ConfigError(field, f"must be <= 10, got {value:g}")
        return value
    if field == "momentum":
        value = _number(field, text, float)
        if not 0 <= value < 1:
            raise ConfigError(field, f"must be in [0, 1), got {value:g}")
        return value
    if field == "weight_decay":
        value = _number(field, text, float)
        _at_least(field, value, 0.0)
        return value
    if field == "batch_size":
        value = int(_number(field, text, int))
        if not 1 <= value <= TRAIN_SET_SIZE:
            raise ConfigError(field, f"must be between 1 and {TRAIN_SET_SIZE:,}, got {value}")
        return value
    if field in ("epochs", "log_every"):
        value = int(_number(field, text, int))
        _at_least(field, value, 1)
        if field == "epochs" and value > 1000:
            raise ConfigError(field, f"must be <= 1000, got {value}")
        return value
    if field == "seed":
        value = int(_number(field, text, int))
        if not 0 <= value < 2**63:
            raise ConfigError(field, f"must be between 0 and 2**63-1, got {value}")
        return value
    if field == "device":
        value = text.strip().lower()
        if not _DEVICE_RE.match(value):
            raise ConfigError(field, f"must be auto, cpu, cuda, cuda:N or mps; got {text!r}")
        return value
    if field == "train_size":
        return _optional_size(field, text, TRAIN_SET_SIZE)
    if field == "test_size":
        return _optional_size(field, text, TEST_SET_SIZE)
    if field == "name":
        value = text.strip()
        if len(value) > 60 or any(not c.isprintable() for c in value):
            raise ConfigError(field, "must be at most 60 printable characters")
        return value
    if field == "resume":
        return text.strip() or None
    if field in ("tensorboard", "compile"):
        value = text.strip().lower()
        if value not in ("on", "off", "true", "false", "yes", "no", "1", "0", ""):
            raise ConfigError(field, f"must be on or off, got {text!r}")
        return value in ("on", "true", "yes", "1")
    if field == "schedule":
        return _choice(field, text, SCHEDULES)
    if field == "sweep":
        value = text.strip()
        if len(value) > 80 or any(not (c.isalnum() or c in "-_.") for c in value):
            raise ConfigError(field, "must be at most 80 letters, digits, '-', '_' or '.'")
        return value
    raise ConfigError(field, "is not a configuration field")


FIELD_NAMES = tuple(f.name for f in fields(RunConfig))


def parse_config(values: Mapping[str, str], base: RunConfig | None = None) -> RunConfig:
    """Build a RunConfig from text values over `base` (defaults); checks fields and their mix."""
    base = base or RunConfig()
    parsed = {name: parse_field(name, text) for name, text in values.items()}
    config = replace(base, **parsed)
    check_config(config)
    return config


def check_resume_path(path: str | None) -> None:
    """A checkpoint to resume from must be a file that exists (before a run is even recorded)."""
    if not path:
        return
    target = Path(path).expanduser()
    if not target.exists():
        raise ConfigError("resume", f"{path} does not exist")
    if not target.is_file():
        raise ConfigError("resume", f"{path} is not a file (give the checkpoint.pt inside a run folder)")


def check_config(config: RunConfig) -> None:
    """Cross-field checks: what no single field can know alone."""
    train_n = config.train_size or TRAIN_SET_SIZE
    if config.batch_size > train_n:
        raise ConfigError(
            "batch_size", f"must be at most the training set size ({train_n:,}), got {config.batch_size}"
        )
