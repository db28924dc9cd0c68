"""Whether a device choice fits the machine the runners see, without importing torch here.

The runner lists its devices in its ready line (core.training.devices.available_devices); the
CLI checks `--device` and `--devices` against that list, in the words core.training.devices
uses when a run resolves its device, so a bad choice is refused before any run is queued.
"""

from __future__ import annotations

from core.config import ConfigError


def check_device(spec: str, available: list[str]) -> None:
    """Raise ConfigError("device", ...) when `spec` ("auto", "cpu", "cuda", "cuda:1", "mps") is not among `available` specs."""
    gpus = [s for s in available if s.startswith("cuda")]
    if spec.startswith("cuda"):
        if not gpus:
            raise ConfigError("device", f"{spec} was asked for but this machine has no CUDA GPU; use cpu or auto")
        if ":" in spec and spec not in available:
            raise ConfigError("device", f"{spec} does not exist: this machine has cuda:0..cuda:{len(gpus) - 1}")
    elif spec == "mps" and "mps" not in available:
        raise ConfigError("device", "mps was asked for but is not available here; use cpu or auto")
